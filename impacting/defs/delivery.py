"""Delivery: flow metrics, ageing work, bottlenecks and epic forecasts, per team and project too,
the impacting funnel, and a report.

One step computes every delivery table and the funnel at one `as_of` (so they agree with each
other), writes them, then writes the HTML report and shows its charts in the Dagster UI. Any
subset can be selected (e.g. `impacting run --select delivery_report`): everything is computed,
only the selected tables and the report (if selected) are written.
"""

from dataclasses import replace
from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from impacting.defs.errors import failures
from impacting.defs.metadata import (
    definition_metadata,
    image_markdown,
    markdown_table,
    problems_metadata,
    table_key,
    table_metadata,
)
from impacting.defs.resources import (
    WAREHOUSE_POOL,
    DeliveryResource,
    IssueSourceResource,
    SiteResource,
    WarehouseResource,
)
from impacting.delivery.build import build_delivery, default_as_of
from impacting.delivery.funnel import build_funnel, new_first_decisions, read_inputs, weekly_funnel
from impacting.delivery.funnel_charts import funnel_summary, stages_chart, weekly_chart
from impacting.delivery.report import ReportData, build_charts, flow_figures, headline, write_report
from impacting.people.paths import DELIVERY, INDEX
from impacting.people.site import SiteFolder
from impacting.settings import var
from impacting.warehouse.store import read_table, replace_rows, upsert_rows
from impacting.warehouse.tables import (
    DELIVERY_AGEING_WIP,
    DELIVERY_BOTTLENECKS,
    DELIVERY_FORECASTS,
    DELIVERY_ISSUE_TIMES,
    DELIVERY_STATUS_TIME,
    DELIVERY_TABLES,
    DELIVERY_TEAM_BOTTLENECKS,
    DELIVERY_TEAM_SUMMARY,
    DELIVERY_TEAM_WEEKLY_FLOW,
    DELIVERY_WEEKLY_FLOW,
    FIRST_TEAM_DECISIONS,
    IMPACTING_FUNNEL,
    IMPACTING_FUNNEL_WEEKLY,
    PROJECTS,
    RAW_STATUSES,
    STATUS_CHANGES,
)

GROUP = "delivery"
REPORT_KEY = dg.AssetKey("delivery_report")
UPSTREAM = [dg.AssetKey("projects"), dg.AssetKey("status_changes"), table_key(RAW_STATUSES)]

PREVIEWS = {
    DELIVERY_ISSUE_TIMES.name: ["key", "status", "created_at", "done_at", "lead_time_days",
                                "cycle_time_days"],
    DELIVERY_STATUS_TIME.name: ["key", "status", "visits", "days", "is_current"],
    DELIVERY_AGEING_WIP.name: ["key", "issue_type", "status", "age_days", "p85_days", "band"],
    DELIVERY_BOTTLENECKS.name: ["issue_type", "rank_by_total", "status", "total_days", "median_days",
                                "stuck_count"],
    DELIVERY_FORECASTS.name: ["parent_key", "remaining", "p50_date", "p85_date", "p95_date", "note"],
    DELIVERY_TEAM_WEEKLY_FLOW.name: ["team", "project", "week", "done", "in_progress"],
    DELIVERY_TEAM_SUMMARY.name: ["team", "project", "issues", "done_in_window", "cycle_p85_days",
                                 "work_in_progress", "ageing_over_p85", "bottleneck_status"],
    DELIVERY_TEAM_BOTTLENECKS.name: ["team", "issue_type", "rank_by_total", "status", "total_days",
                                     "stuck_count"],
    IMPACTING_FUNNEL.name: ["request_key", "stage", "triaged_by", "days_to_triage", "teams_asked",
                            "teams_known", "reading_hours_saved"],
    IMPACTING_FUNNEL_WEEKLY.name: ["week", "created", "triaged", "median_days_to_triage",
                                   "reading_hours_saved", "awaiting_triage"],
}
FUNNEL_UPSTREAM = [dg.AssetKey("projects"), dg.AssetKey("documents"), dg.AssetKey("team_feedback"),
                   dg.AssetKey("team_predictions")]

SPECS = [
    dg.AssetSpec(declared.name, group_name=GROUP, deps=UPSTREAM, kinds={"duckdb"},
                 description=declared.description, metadata=definition_metadata(declared))
    for declared in DELIVERY_TABLES
] + [
    dg.AssetSpec(table_key(FIRST_TEAM_DECISIONS), group_name=GROUP, deps=[dg.AssetKey("team_predictions")],
                 kinds={"duckdb"}, description=FIRST_TEAM_DECISIONS.description,
                 metadata=definition_metadata(FIRST_TEAM_DECISIONS)),
    dg.AssetSpec(IMPACTING_FUNNEL.name, group_name=GROUP, kinds={"duckdb"},
                 deps=[*FUNNEL_UPSTREAM, DELIVERY_ISSUE_TIMES.name, table_key(FIRST_TEAM_DECISIONS)],
                 description=IMPACTING_FUNNEL.description, metadata=definition_metadata(IMPACTING_FUNNEL)),
    dg.AssetSpec(IMPACTING_FUNNEL_WEEKLY.name, group_name=GROUP, kinds={"duckdb"},
                 deps=[IMPACTING_FUNNEL.name], description=IMPACTING_FUNNEL_WEEKLY.description,
                 metadata=definition_metadata(IMPACTING_FUNNEL_WEEKLY)),
] + [
    dg.AssetSpec(
        REPORT_KEY, group_name=GROUP, kinds={"html"},
        deps=[d.name for d in (*DELIVERY_TABLES, IMPACTING_FUNNEL, IMPACTING_FUNNEL_WEEKLY)],
        description=f"The delivery report leaders open (`delivery.html` in the site, "
        f"{var('site.site_dir')}): a self-contained HTML page with the headline (done this week, "
        "WIP, ageing items, the biggest bottleneck), cumulative flow, throughput and WIP, cycle "
        "times, ageing WIP, bottlenecks and epic forecasts, the impacting funnel, each team's "
        "delivery (a reader picks the team), and what each figure means. The same charts are shown "
        "here as images after each run.",
    ),
]


@dg.multi_asset(pool=WAREHOUSE_POOL, specs=SPECS, name="delivery", description=__doc__, can_subset=True)
def delivery(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
             issue_source: IssueSourceResource, delivery: DeliveryResource, site: SiteResource):
    settings = delivery.settings()
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    with warehouse.open().connect() as con:
        projects = read_table(con, PROJECTS)
        # Changes at the same instant are replayed in Jira's history order.
        changes = read_table(con, STATUS_CHANGES,
                             "ORDER BY project_key, changed_at, try_cast(history_id AS BIGINT), history_id")
        statuses = read_table(con, RAW_STATUSES)
        as_of = settings.as_of or default_as_of(issue_source.settings().kind, projects, changes,
                                                datetime.now(UTC))
        tables = build_delivery(projects, changes, statuses, settings, as_of)
        for problem in tables.problems:
            context.log.warning(problem)
        # The model's first decisions are remembered before the funnel reads them.
        inputs = read_inputs(con)
        first = new_first_decisions(inputs.predictions, inputs.decisions)
        if table_key(FIRST_TEAM_DECISIONS).to_user_string() in selected:
            upsert_rows(con, FIRST_TEAM_DECISIONS, first)
        decisions = pd.concat([d for d in (inputs.decisions, first) if len(d)], ignore_index=True) \
            if len(first) else inputs.decisions
        funnel = build_funnel(replace(inputs, decisions=decisions), tables.issue_times, settings,
                              tables.as_of)
        funnel_weekly = weekly_funnel(funnel)
        frames = {**tables.frames, IMPACTING_FUNNEL: funnel, IMPACTING_FUNNEL_WEEKLY: funnel_weekly}
        metadata = {}
        for declared, frame in frames.items():
            if declared.name in selected:
                replace_rows(con, declared, frame)
                metadata[declared.name] = table_metadata(con, declared, PREVIEWS.get(declared.name, ()))

    data = ReportData(tables, settings, source=issue_source.describe(),
                      urls=dict(zip(projects["key"], projects["url"], strict=True)), home=INDEX,
                      funnel=funnel, funnel_weekly=funnel_weekly)
    top = headline(data)
    bottleneck = f"{top.bottleneck['status']} ({top.bottleneck['issue_type']})" if top.bottleneck else "none"
    weekly = tables.weekly_flow
    stages, weekly_view = stages_chart(funnel), weekly_chart(funnel_weekly)
    extra = {
        DELIVERY_ISSUE_TIMES.name: {
            "as_of": dg.MetadataValue.timestamp(tables.as_of),
            **flow_figures(tables),
            **problems_metadata(list(tables.problems)),
        },
        DELIVERY_WEEKLY_FLOW.name: {"recent_weeks": dg.MetadataValue.md(markdown_table(weekly.tail(8)[
            ["week", "created", "started", "done", "to_do", "in_progress", "done_total"]]) if len(weekly)
            else "none")},
        DELIVERY_AGEING_WIP.name: {"over_p85": top.over_p85},
        DELIVERY_BOTTLENECKS.name: {"biggest_bottleneck": bottleneck},
        IMPACTING_FUNNEL.name: {
            **{name: value for name, value in funnel_summary(funnel).items() if value is not None},
            "chart_funnel": dg.MetadataValue.md(image_markdown(stages.title, stages.png())),
        },
        IMPACTING_FUNNEL_WEEKLY.name: {
            "chart_weekly": dg.MetadataValue.md(image_markdown(weekly_view.title, weekly_view.png())),
        },
    }
    if table_key(FIRST_TEAM_DECISIONS).to_user_string() in selected:
        yield dg.MaterializeResult(asset_key=table_key(FIRST_TEAM_DECISIONS),
                                   metadata={"requests_first_triaged": len(first)})
    for declared in (*DELIVERY_TABLES, IMPACTING_FUNNEL, IMPACTING_FUNNEL_WEEKLY):
        if declared.name in selected:
            yield dg.MaterializeResult(asset_key=declared.name,
                                       metadata=metadata[declared.name] | extra.get(declared.name, {}))
    if REPORT_KEY.to_user_string() not in selected:
        return
    charts = build_charts(data)
    with failures():
        path = write_report(data, SiteFolder(site.settings().site_dir).page(DELIVERY), charts)
    yield dg.MaterializeResult(asset_key=REPORT_KEY, metadata={
        "path": dg.MetadataValue.path(str(path)),
        "size_bytes": path.stat().st_size,
        "as_of": dg.MetadataValue.timestamp(tables.as_of),
        "week": top.week,
        "done_this_week": top.done_this_week,
        "work_in_progress": top.wip,
        "ageing_over_p85": top.over_p85,
        "biggest_bottleneck": bottleneck,
    } | {f"chart_{chart.key}": dg.MetadataValue.md(image_markdown(chart.title, chart.png()))
         for chart in charts})


ASSETS = [delivery]
