"""Operations: what a run left out (`rejects`), gathered from every step that reports problems."""

from datetime import UTC, datetime

import dagster as dg

from impacting.defs.metadata import definition_metadata, markdown_table, table_key, table_metadata, table_spec
from impacting.defs.resources import WAREHOUSE_POOL, PeopleResource, TriageResource, WarehouseResource
from impacting.errors import ActionableError
from impacting.operations.failures import RunFailure, announce, record_failure
from impacting.operations.rejects import Reject, merge_rejects
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import REJECTS, RUN_FAILURES

GROUP = "operations"
# Every step that reports problems (metadata `rejects`: a JSON list of "item: reason").
REPORTING = [dg.AssetKey(["raw", "jira_issues"]), dg.AssetKey("projects"), dg.AssetKey("documents"),
             dg.AssetKey("chunks"), dg.AssetKey("summaries"), dg.AssetKey("keywords"),
             dg.AssetKey("team_feedback"), dg.AssetKey("delivery_issue_times"),
             dg.AssetKey("request_summaries"), dg.AssetKey("briefs")]


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="rejects",
    group_name=GROUP,
    deps=REPORTING,
    kinds={"duckdb"},
    description="Everything this run (and earlier ones) left out, and why, from every step: one "
    "place to look for documents that could not be read, issues that could not be parsed and "
    "the like. The good items flow on regardless.",
    metadata=definition_metadata(REJECTS),
)
def rejects(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    reported: dict[str, list[Reject]] = {}
    for key in REPORTING:
        event = context.instance.get_latest_materialization_event(key)
        if event is None or event.run_id != context.run_id:
            continue  # not run this time: its rejects stay as they were
        problems = event.asset_materialization.metadata.get("rejects")
        stage = key.to_user_string()
        reported[stage] = [Reject.from_problem(stage, p) for p in (problems.value if problems else [])]
    with warehouse.open().connect() as con:
        table = merge_rejects(read_table(con, REJECTS), reported, datetime.now(UTC))
        replace_rows(con, REJECTS, table)
        metadata = table_metadata(con, REJECTS)
        active = con.execute(f"SELECT stage, item, reason FROM {REJECTS.qualified} WHERE active "
                             "ORDER BY stage, item LIMIT 50").df()
    count = int(table["active"].sum()) if len(table) else 0
    if count:
        context.log.warning(f"{count} item(s) left out; see the rejects table")
    return dg.MaterializeResult(metadata=metadata | {
        "active_rejects": count,
        "stages_reporting": dg.MetadataValue.md(", ".join(sorted(reported)) or "none this run"),
        "left_out": dg.MetadataValue.md(markdown_table(active, width=200) if len(active) else "nothing"),
    })




RUN_FAILURES_SPEC = table_spec(RUN_FAILURES, group_name=GROUP, kinds={"duckdb"},
                               description="Runs that failed, recorded by the run-failure sensor "
                               "(it runs with the Dagster daemon) rather than by a run.")


@dg.run_failure_sensor(name="record_run_failures", monitor_all_code_locations=False,
                       default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Records every failed run in `run_failures` and posts it to the "
                       "fallback alert route when one is configured.")
def record_run_failures(context: dg.RunFailureSensorContext, warehouse: WarehouseResource,
                        triage: TriageResource, people: PeopleResource) -> None:
    steps = tuple(dict.fromkeys(event.step_key for event in context.get_step_failure_events()
                                if event.step_key))
    failure = RunFailure(context.dagster_run.run_id, context.dagster_run.job_name,
                         datetime.now(UTC), steps, context.failure_event.message or "")
    with warehouse.open().connect() as con:
        record_failure(con, failure)
    context.instance.report_runless_asset_event(dg.AssetMaterialization(
        table_key(RUN_FAILURES), metadata={"run_id": failure.run_id, "steps": ", ".join(steps)}))
    try:
        routing = people.routing(triage.settings().alert_webhook_url)
    except ActionableError as error:
        context.log.warning(f"the failure of run {failure.run_id} was not posted: {error}")
        return
    for problem in announce(failure, routing):
        context.log.warning(f"the failure of run {failure.run_id} could not be posted: {problem}")


SENSORS = [record_run_failures]

ASSETS = [rejects, RUN_FAILURES_SPEC]
