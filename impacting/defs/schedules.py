"""The nightly job over the whole pipeline and its schedule."""

import dagster as dg

from impacting.settings import Settings

NIGHTLY_JOB = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="The whole pipeline: ingest, every stage, then publish the analysts' file.",
)


def nightly_schedule(settings: Settings) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="nightly_schedule",
        job=NIGHTLY_JOB,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Runs `nightly` at '{settings.schedule_cron}' ({settings.schedule_timezone}); "
        "set IMPACTING_SCHEDULE_CRON / IMPACTING_SCHEDULE_TIMEZONE to change it. Fires only "
        "while the Dagster daemon runs.",
    )
