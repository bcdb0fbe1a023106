"""The people stage in Dagster: the only steps that talk to people (digests, Jira comments)."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from impacting.defs.errors import failures
from impacting.defs.metadata import (
    bullet_list,
    definition_metadata,
    markdown_table,
    table_key,
    table_metadata,
    table_spec,
)
from impacting.defs.resources import (
    WAREHOUSE_POOL,
    IssueSourceResource,
    PeopleResource,
    TriageResource,
    WarehouseResource,
)
from impacting.people.channels import Sender
from impacting.people.jira_comments import comment_on_requests
from impacting.people.messages import deliver, known_recipients
from impacting.settings import var
from impacting.sources.http_retry import RetryPolicy
from impacting.warehouse.tables import ALERT_DELIVERIES, JIRA_COMMENTS, MESSAGES

GROUP = "people"

MESSAGE_SPECS = [
    table_spec(ALERT_DELIVERIES, group_name=GROUP, deps=["alerts"], kinds={"duckdb"}),
    table_spec(MESSAGES, group_name=GROUP, deps=["alerts"], kinds={"duckdb"}),
]


@dg.multi_asset(
    pool=WAREHOUSE_POOL,
    specs=MESSAGE_SPECS, name="send_digests",
    description=f"Sends each recipient one digest per run (per channel) listing all its new "
    f"requests, routed by the routing file ({var('people.routing_file')}; without it, everything to "
    f"{var('triage.alert_webhook_url')}), and records where every alert stands. The only step "
    "that sends messages; a failing channel is recorded and retried next run, never fails the run.")
def send_digests(context: dg.AssetExecutionContext, warehouse: WarehouseResource, people: PeopleResource,
                 triage: TriageResource):
    settings = people.settings()
    with failures():
        routing = people.routing(triage.settings().alert_webhook_url)
    sender = Sender(routing, timeout=settings.timeout_seconds,
                    policy=RetryPolicy(max_retries=settings.retries, base_delay=settings.retry_base_seconds,
                                       max_delay=max(30.0, settings.retry_base_seconds),
                                       max_wait=settings.max_wait_seconds),
                    warn=context.log.warning)
    with warehouse.open().connect() as con:
        try:
            run = deliver(con, routing, sender.send, datetime.now(UTC),
                          max_attempts=settings.max_attempts,
                          feedback_dir=str(triage.settings().feedback_dir), log=context.log.warning)
        finally:
            sender.close()
        teams, persons = known_recipients(con)
        states = con.execute(f"SELECT state, count(*) FROM {ALERT_DELIVERIES.qualified} GROUP BY 1"
                             ).fetchall()
        deliveries = table_metadata(con, ALERT_DELIVERIES, ["request_key", "recipient_kind", "recipient",
                                                            "channel", "state", "attempts", "error"])
        messages = table_metadata(con, MESSAGES)
    unknown = routing.unknown_recipients(teams, persons)
    unset = [f"{routing.source}: environment variable {name} is not set; messages needing it fail"
             for name in routing.unset_variables()]
    for line in [*unknown, *unset, *routing.warnings]:
        context.log.warning(line)
    for line in run.gave_up:
        context.log.error(f"gave up after {settings.max_attempts} runs: {line}")
    by_state = dict(states)
    shown = ("route", "channel", "destination", "state", "alerts", "error")
    this_run = pd.DataFrame([{k: m[k] for k in shown} | {"requests": len(m["requests"])}
                             for m in run.messages])
    yield dg.MaterializeResult(asset_key=table_key(ALERT_DELIVERIES), metadata=deliveries | {
        "routing": routing.source,
        "alerts_sent": run.alerts_sent,
        "alerts_failed": run.alerts_failed,
        "alerts_suppressed_backlog": run.newly_suppressed,
        "alerts_without_route": run.waiting_without_route,
        "gave_up_this_run": dg.MetadataValue.md(bullet_list(run.gave_up)),
        "states": dg.MetadataValue.md(markdown_table(pd.DataFrame(
            {"state": list(by_state), "rows": list(by_state.values())}))),
        "unknown_recipients": dg.MetadataValue.md(bullet_list(unknown)),
        "routing_warnings": dg.MetadataValue.md(bullet_list([*unset, *routing.warnings])),
    })
    yield dg.MaterializeResult(asset_key=table_key(MESSAGES), metadata=messages | {
        "messages_sent": run.sent,
        "messages_failed": run.failed,
        "this_run": dg.MetadataValue.md(markdown_table(this_run, width=120) if len(this_run)
                                        else "nothing to send"),
    })


@dg.asset(
    pool=WAREHOUSE_POOL,
    key=table_key(JIRA_COMMENTS),
    group_name=GROUP,
    deps=["alerts", "team_predictions"],
    kinds={"duckdb"},
    description=f"With {var('people.jira_comment')}=true and a live Jira: one comment on each "
    "triaged request naming its decided teams and linking its brief, never twice (an earlier "
    "comment of ours is looked for first). Off by default.",
    metadata=definition_metadata(JIRA_COMMENTS),
)
def jira_comments(context: dg.AssetExecutionContext, warehouse: WarehouseResource, people: PeopleResource,
                  triage: TriageResource, issue_source: IssueSourceResource) -> dg.MaterializeResult:
    settings = people.settings()
    with warehouse.open().connect() as con:
        if not settings.jira_comment:
            return dg.MaterializeResult(metadata=table_metadata(con, JIRA_COMMENTS) | {
                "enabled": False})
        source = issue_source.settings()
        if source.kind != "jira":
            context.log.warning(f"{var('people.jira_comment')} is on but the source is an export "
                                "folder: there is no Jira to comment on")
            return dg.MaterializeResult(metadata=table_metadata(con, JIRA_COMMENTS) | {
                "enabled": True, "commented": 0})
        with failures():
            routing = people.routing(triage.settings().alert_webhook_url)
            run = comment_on_requests(con, issue_source.open(log=context.log), routing,
                                      datetime.now(UTC), max_attempts=settings.max_attempts)
        metadata = table_metadata(con, JIRA_COMMENTS, ["request_key", "state", "teams", "error"])
    for problem in run.problems:
        context.log.warning(problem)
    return dg.MaterializeResult(metadata=metadata | {
        "enabled": True, "posted": run.posted, "found_already": run.found, "failed": run.failed,
        "problems": dg.MetadataValue.md(bullet_list(run.problems)),
    })


ASSETS = [send_digests, jira_comments]
