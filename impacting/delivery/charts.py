"""The report's six charts, each drawn twice from the same series: interactive (plotly, for the
HTML report) and as a PNG (matplotlib, for Dagster's metadata, which shows images but runs no
JavaScript). Both use the same colours, so the two read alike.

Each chart has a colour of its own (besides the shared category colours), which is also what the
headless-browser test looks for to tell that a chart was drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from impacting.delivery.categories import CATEGORY_LABELS, DONE, IN_PROGRESS, NEW
from impacting.delivery.flow import PERCENTILES, nearest_rank
from impacting.figures import new_figure as _figure
from impacting.figures import png as _png

CATEGORY_COLOURS = {NEW: "#9aa5b1", IN_PROGRESS: "#f0a202", DONE: "#2a9d8f"}
THROUGHPUT_COLOUR = "#3a86ff"
WIP_COLOUR = "#f0a202"
CYCLE_COLOUR = "#6a4c93"
WAITING_COLOUR = "#e76f51"
ACTIVE_COLOUR = "#8ab17d"
FORECAST_COLOUR = "#264653"
PERCENTILE_COLOURS = {50: "#6c757d", 85: "#d62828", 95: "#6a040f"}
PERCENTILE_DASH = {50: ("dot", ":"), 85: ("dash", "--"), 95: ("dashdot", "-.")}
# Where each percentile line's label goes, so labels of close lines do not overprint.
PERCENTILE_LABEL = {50: "bottom left", 85: "top left", 95: "top right"}
BAND_COLOURS = {"within p50": "#2a9d8f", "p50-p85": "#e9c46a", "p85-p95": "#f4a261",
                "over p95": "#9b2226", "no history": "#6c757d"}
THROUGHPUT_WEEKS = 52   # the throughput/WIP chart shows the last year
MAX_TYPES = 4           # per-type panels: the most common issue types


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    caption: str
    figure: go.Figure
    png: Callable[[], bytes]


def _layout(fig: go.Figure, height: int, **extra) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 60, "r": 30, "t": 40, "b": 40},
                      template="plotly_white", legend={"orientation": "h", "y": -0.15}, **extra)
    return fig


def _types(frame: pd.DataFrame, column: str = "issue_type") -> list[str]:
    if not len(frame):
        return []
    counts = frame[column].fillna("(no type)").value_counts()
    return sorted(counts.index[:MAX_TYPES], key=lambda t: (-counts[t], t))


def _of_type(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    return frame[frame["issue_type"].fillna("(no type)") == kind]


# --- 1. cumulative flow --------------------------------------------------------------------------

def cumulative_flow(weekly: pd.DataFrame) -> Chart:
    layers = [(DONE, "done_total"), (IN_PROGRESS, "in_progress"), (NEW, "to_do")]
    x = pd.to_datetime(weekly["week_start"]) if len(weekly) else []
    figure = go.Figure()
    for category, column in layers:
        figure.add_trace(go.Scatter(
            x=x, y=weekly[column] if len(weekly) else [], name=CATEGORY_LABELS[category],
            stackgroup="flow", mode="lines", line={"width": 0.5, "color": CATEGORY_COLOURS[category]},
            fillcolor=CATEGORY_COLOURS[category],
            hovertemplate="%{x|%G-W%V}: %{y} " + CATEGORY_LABELS[category] + "<extra></extra>"))
    _layout(figure, 420, yaxis_title="issues at the week's end")

    def png() -> bytes:
        fig, (ax,) = _figure()
        if len(weekly):
            ax.stackplot(x, *[weekly[c] for _, c in layers], labels=[CATEGORY_LABELS[k] for k, _ in layers],
                         colors=[CATEGORY_COLOURS[k] for k, _ in layers])
            ax.legend(loc="upper left", fontsize=8)
        ax.set_title("Cumulative flow (issues per category at each week's end)", fontsize=10)
        return _png(fig)

    return Chart("cumulative_flow", "Cumulative flow",
                 "Issues in each category at the end of every ISO week (UTC). A widening amber band "
                 "means work is started faster than it is finished; the green band's slope is the "
                 "delivery rate.", figure, png)


# --- 2. throughput and WIP -------------------------------------------------------------------------

def throughput_and_wip(weekly: pd.DataFrame) -> Chart:
    recent = weekly.tail(THROUGHPUT_WEEKS)
    x = pd.to_datetime(recent["week_start"]) if len(recent) else []
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Bar(x=x, y=recent["done"] if len(recent) else [], name="Done that week",
                            marker_color=THROUGHPUT_COLOUR,
                            hovertemplate="%{x|%G-W%V}: %{y} done<extra></extra>"), secondary_y=False)
    figure.add_trace(go.Scatter(x=x, y=recent["in_progress"] if len(recent) else [],
                                name="In progress at the week's end", mode="lines+markers",
                                line={"color": WIP_COLOUR, "width": 2},
                                hovertemplate="%{x|%G-W%V}: %{y} in progress<extra></extra>"),
                     secondary_y=True)
    _layout(figure, 400)
    figure.update_yaxes(title_text="done per week", secondary_y=False, rangemode="tozero")
    # Plotly syncs an overlaying axis's ticks to the first one by default (odd values like 21.9).
    figure.update_yaxes(title_text="work in progress", secondary_y=True, rangemode="tozero",
                        showgrid=False, tickmode="auto")

    def png() -> bytes:
        fig, (ax,) = _figure()
        if len(recent):
            ax.bar(x, recent["done"], width=5, color=THROUGHPUT_COLOUR, label="Done that week")
            twin = ax.twinx()
            twin.plot(x, recent["in_progress"], color=WIP_COLOUR, marker=".", label="In progress")
            twin.set_ylim(bottom=0)
            twin.set_ylabel("work in progress", fontsize=8)
        ax.set_ylabel("done per week", fontsize=8)
        ax.set_title(f"Throughput (bars) and WIP (line), last {THROUGHPUT_WEEKS} weeks", fontsize=10)
        return _png(fig)

    return Chart("throughput_wip", "Throughput and work in progress",
                 f"Bars: issues done in each ISO week. Line: issues in progress at the week's end. "
                 f"Last {THROUGHPUT_WEEKS} weeks; the current week is counted up to the report's time.",
                 figure, png)


# --- 3. cycle-time scatter ---------------------------------------------------------------------------

def cycle_time_scatter(times: pd.DataFrame) -> Chart:
    done = times[times["cycle_time_days"].notna()] if len(times) else times
    kinds = _types(done)
    figure = make_subplots(rows=max(len(kinds), 1), cols=1, subplot_titles=kinds or None,
                           vertical_spacing=0.12)
    # Each type's rows and percentile lines, computed once for both renderings.
    panels = []
    for kind in kinds:
        part = _of_type(done, kind)
        values = part["cycle_time_days"].tolist()
        panels.append((kind, part, {p: nearest_rank(values, p) for p in PERCENTILES}))
    for row, (kind, part, lines) in enumerate(panels, 1):
        figure.add_trace(go.Scatter(
            x=part["done_at"], y=part["cycle_time_days"], mode="markers", name=kind,
            marker={"color": CYCLE_COLOUR, "size": 8}, showlegend=False,
            customdata=part[["key", "summary"]].fillna(""),
            hovertemplate="%{customdata[0]} %{customdata[1]}<br>done %{x|%Y-%m-%d}: "
                          "%{y:.1f} days<extra></extra>"), row=row, col=1)
        for p, value in lines.items():
            figure.add_hline(y=value, line_dash=PERCENTILE_DASH[p][0], line_color=PERCENTILE_COLOURS[p],
                             annotation_text=f"p{p} {value:.1f} d", annotation_position=PERCENTILE_LABEL[p],
                             row=row, col=1)
        figure.update_yaxes(title_text="cycle time (days)", rangemode="tozero", row=row, col=1)
    _layout(figure, 300 * max(len(kinds), 1) + 60)

    def png() -> bytes:
        fig, axes = _figure(max(len(kinds), 1), 2.8)
        for ax, (kind, part, lines) in zip(axes, panels, strict=False):
            ax.scatter(pd.to_datetime(part["done_at"]), part["cycle_time_days"], s=18, color=CYCLE_COLOUR)
            for p, value in lines.items():
                ax.axhline(value, color=PERCENTILE_COLOURS[p], linestyle=PERCENTILE_DASH[p][1],
                           label=f"p{p} {value:.1f} d")
            ax.set_title(f"{kind}: cycle time of finished issues", fontsize=10)
            ax.set_ylabel("days", fontsize=8)
            ax.legend(fontsize=7, loc="upper left")
        return _png(fig)

    return Chart("cycle_time", "Cycle time of finished work",
                 "Each dot is an issue, placed at the day it was done, at the days from its start to "
                 "done. Lines: 50th, 85th and 95th percentiles per issue type (nearest rank), e.g. "
                 "85% of stories finished within the p85 line.", figure, png)


# --- 4. ageing WIP -----------------------------------------------------------------------------------

def ageing(ageing_wip: pd.DataFrame, status_order: list[str]) -> Chart:
    kinds = _types(ageing_wip)
    figure = make_subplots(rows=max(len(kinds), 1), cols=1, subplot_titles=kinds or None,
                           vertical_spacing=0.12)
    # Each type's rows, status columns and percentile lines, computed once for both renderings.
    panels = []
    for kind in kinds:
        part = _of_type(ageing_wip, kind)
        statuses = set(part["status"])
        order = [s for s in status_order if s in statuses] + sorted(statuses - set(status_order))
        first = part.iloc[0]
        lines = {p: first[f"p{p}_days"] for p in PERCENTILES if pd.notna(first[f"p{p}_days"])}
        panels.append((kind, part, order, lines))
    for row, (_, part, order, lines) in enumerate(panels, 1):
        for band, colour in BAND_COLOURS.items():
            points = part[part["band"] == band]
            if not len(points):
                continue
            figure.add_trace(go.Scatter(
                x=points["status"], y=points["age_days"], mode="markers", name=band,
                legendgroup=band, showlegend=row == 1,
                marker={"color": colour, "size": 10, "line": {"width": 0}},
                customdata=points[["key", "summary"]].fillna(""),
                hovertemplate="%{customdata[0]} %{customdata[1]}<br>%{x}: %{y:.1f} days since "
                              "started<extra></extra>"), row=row, col=1)
        for p, value in lines.items():
            figure.add_hline(y=value, line_dash=PERCENTILE_DASH[p][0],
                             line_color=PERCENTILE_COLOURS[p], annotation_text=f"p{p} {value:.1f} d",
                             annotation_position=PERCENTILE_LABEL[p], row=row, col=1)
        figure.update_xaxes(categoryorder="array", categoryarray=order, row=row, col=1)
        figure.update_yaxes(title_text="days since started", rangemode="tozero", row=row, col=1)
    _layout(figure, 300 * max(len(kinds), 1) + 60)

    def png() -> bytes:
        fig, axes = _figure(max(len(kinds), 1), 2.8)
        for ax, (kind, part, order, lines) in zip(axes, panels, strict=False):
            for band, colour in BAND_COLOURS.items():
                points = part[part["band"] == band]
                if len(points):
                    ax.scatter([order.index(s) for s in points["status"]], points["age_days"], s=30,
                               color=colour, label=band)
            for p, value in lines.items():
                ax.axhline(value, color=PERCENTILE_COLOURS[p], linestyle=PERCENTILE_DASH[p][1],
                           label=f"p{p} {value:.1f} d")
            ax.set_xticks(range(len(order)), order, fontsize=8)
            ax.set_title(f"{kind}: age of work in progress (days since started)", fontsize=10)
            ax.legend(fontsize=7, loc="upper left")
        return _png(fig)

    return Chart("ageing_wip", "Ageing work in progress",
                 "Each dot is an open issue in progress, in the column of its status, at the days "
                 "since it started. Lines: the cycle-time percentiles of finished issues of the same "
                 "type; dots above the p85 line are older than 85% of finished work took.",
                 figure, png)


# --- 5. bottlenecks --------------------------------------------------------------------------------

def bottleneck_bars(bottlenecks: pd.DataFrame) -> Chart:
    top = bottlenecks.sort_values("total_days", ascending=False).head(12).iloc[::-1] \
        if len(bottlenecks) else bottlenecks
    labels = [f"{r.status} ({r.issue_type})" for r in top.itertuples()] if len(top) else []
    colours = [ACTIVE_COLOUR if r.is_active else WAITING_COLOUR for r in top.itertuples()] \
        if len(top) else []
    figure = go.Figure(go.Bar(
        x=top["total_days"] if len(top) else [], y=labels, orientation="h", marker_color=colours,
        customdata=top[["median_days", "issues", "stuck_count"]] if len(top) else None,
        hovertemplate="%{y}: %{x:.1f} days in total, median %{customdata[0]:.1f} over "
                      "%{customdata[1]} issues; %{customdata[2]} stuck now<extra></extra>"))
    _layout(figure, 120 + 32 * max(len(labels), 1), xaxis_title="total days spent there")

    def png() -> bytes:
        fig, (ax,) = _figure(1, max(2.4, 0.8 + 0.3 * len(labels)))
        if len(top):
            ax.barh(labels, top["total_days"], color=colours)
        ax.set_xlabel("total days spent there by issues finished in the window", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title("Where finished work spent its time (green: active, red: waiting)", fontsize=10)
        return _png(fig)

    return Chart("bottlenecks", "Bottlenecks",
                 "Total time that issues finished in the window spent in each status before they "
                 "were done (green: active statuses, red: waiting). See the table for medians and the "
                 "issues stuck there now.", figure, png)


# --- 6. forecasts ----------------------------------------------------------------------------------

def forecast_ranges(forecasts: pd.DataFrame) -> Chart:
    dated = forecasts[forecasts["p85_date"].notna()] if len(forecasts) and "p85_date" in forecasts \
        else forecasts.iloc[0:0]
    dated = dated.sort_values("p85_date", ascending=False)
    labels = [f"{r.parent_key} ({r.remaining} left)" for r in dated.itertuples()]
    p50, p85 = pd.to_datetime(dated.get("p50_date")), pd.to_datetime(dated.get("p85_date"))
    p95 = pd.to_datetime(dated.get("p95_date"))
    figure = go.Figure()
    if len(dated):
        figure.add_trace(go.Bar(
            base=p50, x=(p95 - p50).dt.days.clip(lower=1) * 86_400_000, y=labels, orientation="h",
            marker_color=FORECAST_COLOUR, name="50%–95% of simulated futures",
            customdata=dated[["p50_date", "p85_date", "p95_date"]].astype(str),
            hovertemplate="%{y}: 50% by %{customdata[0]}, 85% by %{customdata[1]}, 95% by "
                          "%{customdata[2]}<extra></extra>"))
        figure.add_trace(go.Scatter(x=p85, y=labels, mode="markers", name="85% date",
                                    marker={"color": PERCENTILE_COLOURS[85], "size": 12,
                                            "symbol": "diamond"}))
    _layout(figure, 120 + 36 * max(len(labels), 1), xaxis={"type": "date"})

    def png() -> bytes:
        fig, (ax,) = _figure(1, max(2.4, 0.8 + 0.32 * len(labels)))
        if len(dated):
            ax.barh(labels, (p95 - p50).dt.days.clip(lower=1), left=p50, color=FORECAST_COLOUR,
                    label="50%–95% of simulated futures")
            ax.scatter(p85, labels, color=PERCENTILE_COLOURS[85], marker="D", zorder=3, label="85% date")
            ax.legend(fontsize=7, loc="lower right")
            fig.autofmt_xdate()
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title("When each epic's remaining children should be done", fontsize=10)
        return _png(fig)

    return Chart("forecasts", "Epic forecasts",
                 "For each epic with work left: the bar runs from the date by which half of 10,000 "
                 "simulated futures finish to the date by which 95% do; the diamond is the 85% date, "
                 "a date to commit to.", figure, png)
