"""The nightly job over the whole pipeline and its schedule."""

import dagster as dg

from impacting.settings import Settings, var

NIGHTLY_JOB = dg.define_asset_job(
    "nightly",
    # The embedding backfill (group `backfill`) is launched on its own, partition by partition.
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("backfill"),
    description="The whole pipeline: ingest, every stage, then publish the analysts' file.",
)


def nightly_schedule(settings: Settings) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="nightly_schedule",
        job=NIGHTLY_JOB,
        cron_schedule=settings.schedule.cron,
        execution_timezone=settings.schedule.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Runs `nightly` at '{settings.schedule.cron}' ({settings.schedule.timezone}); "
        f"set {var('schedule.cron')} / {var('schedule.timezone')} to change it. Fires only "
        "while the Dagster daemon runs.",
    )
