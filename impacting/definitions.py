"""The one Dagster `Definitions`: every asset, check, job, schedule and resource."""

from __future__ import annotations

import dagster as dg

from impacting.defs import checks, delivery, ingest, language, operations, people, themes, triage
from impacting.defs.publish import build_publish_asset
from impacting.defs.resources import resources_from_settings
from impacting.defs.schedules import NIGHTLY_JOB, nightly_schedule
from impacting.settings import Settings

STAGE_ASSETS = [*ingest.ASSETS, *language.ASSETS, *triage.ASSETS, *themes.ASSETS, *people.ASSETS,
                *delivery.ASSETS, *operations.ASSETS]


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    return dg.Definitions(
        assets=[*STAGE_ASSETS, build_publish_asset(STAGE_ASSETS, settings.schedule.freshness_hours)],
        asset_checks=[*checks.CHECKS, *checks.unique_key_checks(STAGE_ASSETS)],
        jobs=[NIGHTLY_JOB],
        schedules=[nightly_schedule(settings)],
        sensors=operations.SENSORS,
        resources=resources_from_settings(settings),
        # One process: stages share the working DuckDB (one writer at a time) and loaded models.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
