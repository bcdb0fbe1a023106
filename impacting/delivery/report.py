"""The delivery report: one self-contained HTML file a leader opens any morning.

Headline first (done this week, work in progress, ageing items over the 85th percentile, the
biggest bottleneck), then the charts, the tables behind them, and what every figure means.
plotly.js is embedded once, so the file opens offline and from an e-mail attachment alike.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from plotly.offline import get_plotlyjs

from impacting.delivery import charts
from impacting.delivery.build import DeliveryTables
from impacting.delivery.categories import CATEGORIES, CATEGORY_LABELS
from impacting.delivery.flow import biggest_bottleneck
from impacting.delivery.funnel_charts import funnel_fragment
from impacting.delivery.html_tables import date as _date
from impacting.delivery.html_tables import days as _days
from impacting.delivery.html_tables import escape as _e
from impacting.delivery.html_tables import table as _table
from impacting.delivery.team_views import team_fragment, team_names, team_picker
from impacting.errors import ActionableError
from impacting.people.html_page import web_url
from impacting.settings import DeliverySettings, var
from impacting.warehouse.tables import NO_TEAM

HEAD_ROWS = 25


@dataclass(frozen=True)
class ReportData:
    """The delivery tables (with their `as_of` and data problems) and how they were made;
    `urls` are the issues' Jira addresses (their keys link there), `home` the page the report
    links back to (the site's index)."""

    tables: DeliveryTables
    settings: DeliverySettings
    source: str = ""
    urls: Mapping[str, str] = field(default_factory=dict)
    home: str | None = None
    funnel: pd.DataFrame | None = None          # `impacting_funnel`, when measured with the tables
    funnel_weekly: pd.DataFrame | None = None   # `impacting_funnel_weekly`


@dataclass(frozen=True)
class Headline:
    week: str
    done_this_week: int
    done_last_week: int | None
    wip: int
    wip_four_weeks_ago: int | None
    over_p85: int
    oldest: list[dict]
    bottleneck: dict | None
    flow_efficiency: float | None
    finished_in_window: int


def headline(data: ReportData) -> Headline:
    """The four figures a leader reads first, and the ones that explain them."""
    weekly = data.tables.weekly_flow
    last = weekly.iloc[-1] if len(weekly) else None
    previous = weekly.iloc[-2] if len(weekly) > 1 else None
    month_ago = weekly.iloc[-5] if len(weekly) > 4 else None
    ageing = data.tables.ageing_wip
    over = ageing[ageing["over_p85"].eq(True)] if len(ageing) else ageing
    oldest = over.assign(_ratio=over["age_days"] / over["p85_days"]).sort_values(
        "_ratio", ascending=False).head(5).to_dict("records") if len(over) else []

    window_start = pd.Timestamp(data.tables.as_of) - pd.Timedelta(weeks=data.settings.bottleneck_weeks)
    times = data.tables.issue_times
    recent = times[(times["done_at"] > window_start) & times["cycle_time_days"].notna()] \
        if len(times) else times
    cycle = recent["cycle_time_days"].sum() if len(recent) else 0
    efficiency = recent["active_days"].sum() / cycle if cycle else None
    return Headline(
        week=str(last["week"]) if last is not None else "",
        done_this_week=int(last["done"]) if last is not None else 0,
        done_last_week=int(previous["done"]) if previous is not None else None,
        wip=int(last["in_progress"]) if last is not None else 0,
        wip_four_weeks_ago=int(month_ago["in_progress"]) if month_ago is not None else None,
        over_p85=len(over),
        oldest=oldest,
        bottleneck=biggest_bottleneck(data.tables.bottlenecks),
        flow_efficiency=efficiency,
        finished_in_window=len(recent),
    )


def status_order(status_time: pd.DataFrame) -> list[str]:
    """Statuses in workflow order: by category, then by when issues typically first enter them."""
    if not len(status_time):
        return []
    frame = status_time.assign(_step=status_time.groupby("key")["first_entered_at"].rank(method="first"))
    typical = frame.groupby(["status", "status_category"], as_index=False)["_step"].mean()
    typical["_category"] = typical["status_category"].map({c: i for i, c in enumerate(CATEGORIES)})
    return typical.sort_values(["_category", "_step", "status"])["status"].tolist()


def build_charts(data: ReportData) -> list[charts.Chart]:
    tables = data.tables
    return [
        charts.cumulative_flow(tables.weekly_flow),
        charts.throughput_and_wip(tables.weekly_flow),
        charts.cycle_time_scatter(tables.issue_times),
        charts.ageing(tables.ageing_wip, status_order(tables.status_time)),
        charts.bottleneck_bars(tables.bottlenecks),
        charts.forecast_ranges(tables.forecasts),
    ]


class ReportNotWritten(ActionableError, OSError):
    """The report's folder cannot be written; the message says which setting moves it."""


def write_report(data: ReportData, path: Path, chart_list: list[charts.Chart] | None = None) -> Path:
    """Write the HTML report to `path` atomically (readers never see half a file)."""
    text = render_html(data, chart_list or build_charts(data))
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        raise ReportNotWritten(
            f"could not write the delivery report to {path} ({error.strerror or error}); make the "
            f"folder writable or set {var('site.site_dir')} to a writable folder") from error
    finally:
        partial.unlink(missing_ok=True)
    return path


def flow_figures(tables) -> dict:
    """The figures the issue-times table is summed up by: done issues and median cycle time."""
    times = tables.issue_times
    cycle = times["cycle_time_days"].dropna() if len(times) else pd.Series(dtype=float)
    return {"done_issues": int(times["done_at"].notna().sum()) if len(times) else 0,
            "median_cycle_time_days": float(cycle.median()) if len(cycle) else None}


# --- HTML -------------------------------------------------------------------------------------------

def _issue(urls: Mapping[str, str]):
    """A formatter: an issue key (or a list of them) linked to Jira where its address is known."""
    def one(key) -> str:
        url = web_url(urls.get(str(key)))
        return f'<a href="{_e(url)}">{_e(key)}</a>' if url else _e(key)

    def linked(value) -> str:
        if isinstance(value, (list, tuple, np.ndarray)):
            return ", ".join(one(k) for k in value)
        return "–" if value is None or pd.isna(value) else one(value)
    return linked


def _tiles(data: ReportData, top: Headline) -> str:
    settings = data.settings

    def tile(title: str, figure: str, note: str) -> str:
        return f"<div class='tile'><h3>{_e(title)}</h3><p class='figure'>{figure}</p><p>{note}</p></div>"

    last = f"last week {top.done_last_week}" if top.done_last_week is not None else "no earlier week"
    month = f"4 weeks ago {top.wip_four_weeks_ago}" if top.wip_four_weeks_ago is not None else ""
    issue = _issue(data.urls)
    oldest = "".join(
        f"<li><b>{issue(r['key'])}</b> {_e(r['summary'])} ({_e(r['issue_type'])}, {_e(r['status'])}): "
        f"{_days(r['age_days'])} vs p85 {_days(r['p85_days'])}</li>" for r in top.oldest)
    neck = top.bottleneck
    if neck:
        stuck = issue(list(neck["stuck_keys"][:5])) if len(neck["stuck_keys"]) else "none"
        bottleneck = tile(
            "Biggest bottleneck", _e(neck["status"]),
            f"{_e(neck['issue_type'])} issues finished in the last {settings.bottleneck_weeks} weeks "
            f"spent {_days(neck['total_days'])} there in total (median {_days(neck['median_days'])}, "
            f"{int(neck['issues'])} issues). Stuck there now, beyond its p85: "
            f"{int(neck['stuck_count'])} ({stuck}).")
    else:
        bottleneck = tile("Biggest bottleneck", "–",
                          f"No issue finished in the last {settings.bottleneck_weeks} weeks.")
    return (
        "<div class='tiles'>"
        + tile(f"Done this week ({top.week})", str(top.done_this_week),
               f"{_e(last)}. Counted up to the report's time.")
        + tile("Work in progress", str(top.wip), f"Issues in an in-progress status now. {_e(month)}")
        + tile("Ageing beyond the 85th percentile", str(top.over_p85),
               "In-progress issues already older than 85% of finished work of their type took."
               + (f"<ul>{oldest}</ul>" if oldest else ""))
        + bottleneck
        + "</div>"
    )


def _definitions(data: ReportData) -> str:
    settings = data.settings
    categories = (data.tables.status_time[["status", "status_category", "category_source", "is_active"]]
                  .drop_duplicates("status") if len(data.tables.status_time) else pd.DataFrame())
    if len(categories):
        order = {c: i for i, c in enumerate(CATEGORIES)}
        categories = categories.assign(
            _order=categories["status_category"].map(order),
            status_category=categories["status_category"].map(CATEGORY_LABELS),
            is_active=categories["is_active"].map({True: "yes", False: ""}),
        ).sort_values(["_order", "status"])
    terms = [
        ("As of", f"{data.tables.as_of:%Y-%m-%d %H:%M} UTC: the moment every age and time in status is "
         "measured to: the run's time for a live Jira, the newest timestamp in an export folder, "
         f"or {var('delivery.as_of')}. Every timestamp is compared in UTC, whatever offset Jira sent."),
        ("Status category", "Jira's To Do / In Progress / Done grouping of statuses, taken from "
         f"configuration ({var('delivery.status_categories')}), then Jira's status list, then the "
         "category Jira sent with the issues' current statuses, then a fallback (Jira's usual names; "
         "any other name counts as In Progress). The table below says which applied."),
        ("Started", "The first time an issue entered an In Progress status (its creation, if it was "
         "created in one)."),
        ("Done", "The start of the issue's final stretch in Done statuses: reopened work counts "
         "from its final done, and a move from one Done status to another (Resolved → Closed) does "
         "not change it. An issue without status changes uses its resolution date."),
        ("Lead time", "Created → done. Empty while not done."),
        ("Cycle time", "Started → done; reopened work keeps its first start and its final done. "
         "Empty if the issue never entered an In Progress status or is not done."),
        ("Time in status", "Per issue and status, the total of every visit; the current status "
         "counts up to the report's time (table delivery_status_time)."),
        ("Throughput", "Issues done in an ISO week (Monday–Sunday, UTC)."),
        ("Work in progress (WIP)", "Issues in an In Progress status at a week's end (just before "
         "Monday 00:00 UTC), or now for the current week."),
        ("Cumulative flow", "Per week's end, how many issues were in each category."),
        ("Percentiles", "Nearest rank: the p85 is the smallest observed value that at least 85% of "
         "values do not exceed, so 'p85 cycle time 12 d' reads '85% finished within 12 days'. The "
         "median is the p50. Cycle-time percentiles are per issue type: an epic and a story are "
         "not alike."),
        ("Ageing WIP", "For each open issue in progress, the days since it started, against the "
         "p50/p85/p95 cycle times of finished issues of its type."),
        ("Flow efficiency", "Time in active statuses ("
         + _e(", ".join(settings.active_statuses)) + f"; {var('delivery.active_statuses')}) within "
         "the cycle, over the cycle time. The headline figure sums both over issues finished in the "
         f"last {settings.bottleneck_weeks} weeks."),
        ("Bottlenecks", f"Per issue type, the statuses where issues finished in the last "
         f"{settings.bottleneck_weeks} weeks ({var('delivery.bottleneck_weeks')}) spent their time "
         "before they were done, ranked by total and by median time; 'stuck' are open issues of "
         "that type whose time in that status exceeds its p85. The headline names the waiting "
         "status (in progress, not active) with the most total time."),
        ("Teams", f"An issue's teams are its team field ({var('source.team_field')}), or its nearest "
         "ancestor's when it has none (a story takes its epic's, an epic its request's); an issue "
         f"with no team anywhere counts for {NO_TEAM}. Shared work counts for each of its teams. Per "
         "team, the same definitions apply to the team's issues alone."),
        ("Impacting funnel", "Per request: created → triaged (its first team decision: the team "
         "model's, or a person's if the teams were confirmed first) → teams confirmed (feedback or "
         "the team field filled in) → work started (its first delivery item in progress) → done. "
         "Teams asked: notify and unsure at the first decision, against every team the model knew."),
        ("Reading hours saved", f"For each request the model triaged: every known team not asked "
         f"× its readers ({settings.readers_per_team:g} per team; {var('delivery.readers_per_team')}, "
         f"{var('delivery.team_readers')}) × the request's words ÷ "
         f"{settings.reading_words_per_minute:g} words a minute "
         f"({var('delivery.reading_words_per_minute')})."),
        ("Epic forecast", f"Per epic or parent: its children by category, and a Monte Carlo "
         f"forecast: {settings.forecast_trials:,} trials each replay the future week by week, "
         f"drawing a week's throughput at random from the epic's own children done per 7-day period "
         f"in the last {settings.forecast_weeks} weeks (only weeks since its first child was "
         f"created), until no child is left. The 50/85/95% dates: that share of trials finished by "
         f"then. Seed {settings.forecast_seed} (mixed with the epic key), so runs repeat."),
    ]
    listing = "".join(f"<dt>{_e(term)}</dt><dd>{text if '<' in text else _e(text)}</dd>"
                      for term, text in terms)
    table = _table(categories, {"status": "Status", "status_category": "Category",
                                "category_source": "Category from", "is_active": "Active"})
    return f"<dl>{listing}</dl><h3>Statuses</h3>{table}"


def _funnel_section(data: ReportData) -> str:
    if data.funnel is None:
        return ""
    weekly = data.funnel_weekly if data.funnel_weekly is not None else pd.DataFrame()
    return ("<section id='funnel'><h2>The impacting funnel</h2><p class='caption'>How fast "
            "requests reach the right teams, and the reading triage spares (table impacting_funnel, "
            f"weekly: impacting_funnel_weekly).</p>{funnel_fragment(data.funnel, weekly)}</section>")


def _team_sections(data: ReportData) -> str:
    tables = data.tables
    return team_picker({team: team_fragment(team, tables.team_summary, tables.team_weekly_flow,
                                            tables.team_bottlenecks, tables.ageing_wip)
                        for team in team_names(tables.team_summary)})


STYLE = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1180px;
padding:16px 24px;color:#1f2933;background:#fff}
h1{margin:0 0 4px;font-size:26px}h2{margin:28px 0 6px;font-size:20px;border-bottom:1px solid #e4e7eb}
.meta{color:#52606d;margin:0 0 12px}.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:12px}
.tile{border:1px solid #d9e2ec;border-radius:8px;padding:10px 14px;background:#f8fafc}
.tile h3{margin:0;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#52606d}
.tile .figure{font-size:32px;font-weight:700;margin:4px 0}.tile p{margin:4px 0;font-size:13px}
.tile ul{margin:4px 0 0 16px;padding:0;font-size:12px}.caption{color:#52606d;font-size:14px;margin:2px 0 4px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border-bottom:1px solid #e4e7eb;
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f4f8}tr.alert td{background:#fdecea}
dt{font-weight:700;margin-top:8px}dd{margin:2px 0 0 16px}.empty{color:#7b8794}
.key{color:#52606d;font-size:14px}
#team-pick{font-size:15px;padding:2px 6px;margin:6px 0}.team-facts{font-size:14px}
.impacting-figure svg{max-width:100%;height:auto}
"""


def render_html(data: ReportData, chart_list: list[charts.Chart]) -> str:
    """The whole report as one HTML string (plotly.js inlined, no network needed to open it)."""
    top = headline(data)
    tables, settings = data.tables, data.settings
    efficiency = f"{top.flow_efficiency:.0%}" if top.flow_efficiency is not None else "–"
    key_line = (f"Flow efficiency of the {top.finished_in_window} issues finished in the last "
                f"{settings.bottleneck_weeks} weeks: <b>{efficiency}</b> of their cycle time was spent "
                f"in active statuses.")
    issue = _issue(data.urls)
    figures = "".join(
        f'<section id="{chart.key}"><h2>{_e(chart.title)}</h2><p class="caption">{_e(chart.caption)}</p>'
        + chart.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{chart.key}",
                               config={"displaylogo": False, "responsive": True})
        + "</section>" for chart in chart_list)

    bottlenecks = _table(
        tables.bottlenecks, {"issue_type": "Type", "rank_by_total": "Rank (total)", "status": "Status",
                           "status_category": "Category", "issues": "Finished issues",
                           "total_days": "Total", "median_days": "Median", "p85_days": "p85",
                           "rank_by_median": "Rank (median)", "stuck_count": "Stuck now",
                           "stuck_keys": "Stuck issues"},
        {"stuck_keys": issue} | {c: _days for c in ("total_days", "median_days", "p85_days")})
    ageing = _table(
        tables.ageing_wip.head(HEAD_ROWS),
        {"key": "Issue", "summary": "Summary", "issue_type": "Type", "status": "Status",
         "age_days": "Age", "days_in_current_status": "In this status", "p85_days": "p85 of type",
         "band": "Band"},
        {"key": issue} | {c: _days for c in ("age_days", "days_in_current_status", "p85_days")},
        highlight="over_p85")
    more = len(tables.ageing_wip) - HEAD_ROWS
    forecasts = _table(
        tables.forecasts, {"parent_key": "Epic", "summary": "Summary", "status": "Status",
                         "children": "Children", "children_done": "Done",
                         "children_in_progress": "In progress", "children_to_do": "To do",
                         "p50_date": "50%", "p85_date": "85%", "p95_date": "95%", "note": "Note"},
        {"parent_key": issue} | {c: _date for c in ("p50_date", "p85_date", "p95_date")})
    problems = "".join(f"<li>{_e(p)}</li>" for p in tables.problems[:20])
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Delivery report, {tables.as_of:%Y-%m-%d}</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
{f'<p class="meta"><a href="{_e(data.home)}">← Requests awaiting triage</a></p>' if data.home else ""}
<h1>Delivery report</h1>
<p class="meta">As of <b>{tables.as_of:%A %d %B %Y, %H:%M} UTC</b> · {len(tables.issue_times)} issues ·
source {_e(data.source)} · definitions at the end</p>
<section id="headline"><h2>Headline</h2>{_tiles(data, top)}<p class="key">{key_line}</p></section>
{figures}
{_funnel_section(data)}
<section id="teams"><h2>Delivery by team</h2><p class="caption">Pick a team: its throughput, cycle
times, work in progress, bottlenecks and oldest work (tables delivery_team_summary,
delivery_team_weekly_flow, delivery_team_bottlenecks).</p>{_team_sections(data)}</section>
<section id="tables"><h2>Bottlenecks by issue type</h2>{bottlenecks}
<h2>Oldest work in progress</h2><p class="caption">Oldest first; highlighted: older than the p85 cycle
time of finished work of the same type.{f' {more} more in delivery_ageing_wip.' if more > 0 else ''}</p>
{ageing}
<h2>Epics: progress and forecast</h2>{forecasts}</section>
<section id="definitions"><h2>What the figures mean</h2>{_definitions(data)}
{f"<h3>Data notes</h3><ul>{problems}</ul>" if problems else ""}</section>
<p class="meta">Generated {generated} by impacting. Tables: delivery_issue_times,
delivery_status_time, delivery_weekly_flow, delivery_ageing_wip, delivery_bottlenecks,
delivery_forecasts, delivery_team_summary, delivery_team_weekly_flow, delivery_team_bottlenecks,
impacting_funnel, impacting_funnel_weekly.</p>
</body></html>
"""
