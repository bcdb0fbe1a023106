"""The one Dagster `Definitions`: every asset, check, job, schedule and resource."""

from __future__ import annotations

import dagster as dg

from impacting.defs import checks, delivery, ingest, language, operations, people, themes, triage
from impacting.defs.distributed import build_backfill, executor_for
from impacting.defs.publish import build_publish_asset
from impacting.defs.resources import resources_from_settings
from impacting.defs.schedules import NIGHTLY_JOB, nightly_schedule
from impacting.settings import Settings

STAGE_ASSETS = [*ingest.ASSETS, *language.ASSETS, *triage.ASSETS, *themes.ASSETS, *people.ASSETS,
                *delivery.ASSETS, *operations.ASSETS]


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    backfill_assets, backfill_job = build_backfill(settings.distributed.embedding_partitions)
    return dg.Definitions(
        assets=[*STAGE_ASSETS, build_publish_asset(STAGE_ASSETS, settings.schedule.freshness_hours),
                *backfill_assets],
        asset_checks=[*checks.CHECKS, *checks.unique_key_checks(STAGE_ASSETS)],
        jobs=[NIGHTLY_JOB, backfill_job],
        schedules=[nightly_schedule(settings)],
        sensors=operations.SENSORS,
        resources=resources_from_settings(settings),
        # One process by default; on any executor the steps that open the working DuckDB are in
        # one pool (one at a time), while the backfill's partitions spread across workers.
        executor=executor_for(settings.distributed),
    )


defs = build_definitions()
