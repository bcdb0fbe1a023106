"""The impacting funnel drawn: requests reaching each stage, and the weekly flow into triage.

Static charts (:class:`~impacting.figures.StaticChart`): PNG in the Dagster UI, inline SVG in the
delivery report and in :func:`funnel_fragment`, the self-contained piece a web page embeds.
"""

from __future__ import annotations

import pandas as pd

from impacting.delivery.funnel import funnel_counts
from impacting.delivery.html_tables import days, escape, table
from impacting.figures import StaticChart, new_figure

STAGE_COLOUR = "#3a86ff"
TRIAGE_COLOUR = "#2a9d8f"
WAITING_COLOUR = "#e76f51"
RECENT_WEEKS = 52


def stages_chart(funnel: pd.DataFrame) -> StaticChart:
    counts = funnel_counts(funnel)

    def draw():
        fig, (ax,) = new_figure(1, 2.8)
        labels = [stage for stage, _, _ in counts][::-1]
        values = [n for _, n, _ in counts][::-1]
        ax.barh(labels, values, color=STAGE_COLOUR)
        top = max(values, default=0) or 1
        for y, (_, n, gap) in enumerate(counts[::-1]):
            note = f"{n}" + (f"  (median {gap:,.1f} d after the stage before)" if gap is not None else "")
            ax.text(n + top * 0.01, y, note, va="center", fontsize=8)
        ax.set_xlim(0, top * 1.6)
        ax.set_xlabel("requests that reached the stage", fontsize=8)
        ax.set_title("The impacting funnel", fontsize=10)
        return fig

    return StaticChart("funnel-stages", "The impacting funnel",
                       "Requests that reached each stage: created, triaged (first team decision), "
                       "teams confirmed (feedback or Jira's team field), work started (first delivery "
                       "item in progress), done; with the median days from the stage before.", draw)


def weekly_chart(weekly: pd.DataFrame, weeks: int = RECENT_WEEKS) -> StaticChart:
    recent = weekly.tail(weeks)

    def draw():
        fig, (ax,) = new_figure(1, 3.0)
        if len(recent):
            x = pd.to_datetime(recent["week_start"])
            ax.bar(x - pd.Timedelta(days=1.5), recent["created"], width=3, color=STAGE_COLOUR,
                   label="created")
            ax.bar(x + pd.Timedelta(days=1.5), recent["triaged"], width=3, color=TRIAGE_COLOUR,
                   label="triaged")
            twin = ax.twinx()
            twin.plot(x, recent["awaiting_triage"], color=WAITING_COLOUR, marker=".",
                      label="awaiting triage")
            twin.set_ylim(bottom=0)
            twin.set_ylabel("awaiting triage", fontsize=8)
            ax.legend(loc="upper left", fontsize=7)
            fig.autofmt_xdate()
        ax.set_ylabel("requests per week", fontsize=8)
        ax.set_title(f"Requests created and triaged per week, last {weeks} weeks", fontsize=10)
        return fig

    return StaticChart("funnel-weekly", "Into triage, week by week",
                       "Bars: requests created and requests first triaged in each ISO week. Line: "
                       "requests created but not yet triaged at the week's end.", draw)


def funnel_summary(funnel: pd.DataFrame) -> dict:
    """The headline figures: requests, median days to triage and to confirmation, share triaged
    by the model, teams asked per triaged request, and reading hours saved."""
    model = funnel[funnel["triaged_by"] == "model"] if len(funnel) else funnel
    return {
        "requests": len(funnel),
        "triaged": int(funnel["triaged_at"].notna().sum()) if len(funnel) else 0,
        "triaged_by_model": len(model),
        "median_days_to_triage": _median(funnel, "days_to_triage"),
        "median_days_to_confirm": _median(funnel, "days_to_confirm"),
        "teams_asked_per_request": float(model["teams_asked"].mean()) if len(model) else None,
        "teams_known": int(model["teams_known"].max()) if len(model) else None,
        "reading_hours_saved": float(pd.to_numeric(funnel["reading_hours_saved"]).sum())
        if len(funnel) else 0.0,
    }


def funnel_fragment(funnel: pd.DataFrame, weekly: pd.DataFrame) -> str:
    """The funnel as a self-contained HTML fragment (figures, stage table, reading saved): what
    a page's index shows. Everything in it is escaped; it needs no script or style sheet."""
    summary = funnel_summary(funnel)
    stages = pd.DataFrame([{"stage": s, "requests": n, "median": g} for s, n, g in funnel_counts(funnel)])
    asked = (f"{summary['teams_asked_per_request']:.1f} of {summary['teams_known']}"
             if summary["teams_asked_per_request"] is not None else "–")
    to_triage = escape(days(summary["median_days_to_triage"]))
    facts = (f"<p>{summary['triaged']} of {summary['requests']} requests triaged "
             f"({summary['triaged_by_model']} by the team model), median {to_triage} from creation. "
             f"Teams asked to read per request the model triaged: {escape(asked)}. "
             f"Reading saved: <b>{summary['reading_hours_saved']:,.1f} hours</b>.</p>")
    return ('<section class="impacting-funnel">'
            + stages_chart(funnel).html(table(stages, {"stage": "Stage", "requests": "Requests",
                                                       "median": "Median days from the stage before"},
                                              {"median": days}))
            + facts + weekly_chart(weekly).html() + "</section>")


def _median(frame: pd.DataFrame, column: str) -> float | None:
    values = frame[column].dropna() if len(frame) else pd.Series(dtype=float)
    return float(values.median()) if len(values) else None
