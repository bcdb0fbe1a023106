"""Delivery seen by one team: the section a reader picks in the delivery report, and the same
piece for any page (:func:`team_fragment`: self-contained HTML, every value escaped, the chart an
inline SVG).

:func:`team_picker` puts one section per team behind a `<select>`; a few lines of inline script
show the chosen team's section. Without script every section shows, one after the other.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

from impacting.delivery.html_tables import days, escape, table
from impacting.figures import StaticChart, new_figure
from impacting.warehouse.tables import NO_TEAM

THROUGHPUT_COLOUR = "#3a86ff"
WIP_COLOUR = "#f0a202"
RECENT_WEEKS = 26
BOTTLENECK_ROWS = 8
AGEING_ROWS = 10


def team_names(summary: pd.DataFrame) -> list[str]:
    """The teams in `delivery_team_summary`, most issues first, `(no team)` last."""
    if not len(summary):
        return []
    overall = summary[summary["project"].isna()]
    ranked = sorted(zip(overall["team"], overall["issues"], strict=True),
                    key=lambda item: (item[0] == NO_TEAM, -int(item[1]), item[0]))
    return [team for team, _ in ranked]

def team_flow_chart(team: str, team_weekly: pd.DataFrame, weeks: int = RECENT_WEEKS) -> StaticChart:
    """The team's throughput (bars) and work in progress (line) per week, all its projects."""
    mine = team_weekly[team_weekly["team"] == team] if len(team_weekly) else team_weekly
    weekly = (mine.groupby("week_start", as_index=False)[["done", "in_progress"]].sum()
              .sort_values("week_start").tail(weeks)) if len(mine) else mine

    def draw():
        fig, (ax,) = new_figure(1, 2.6)
        if len(weekly):
            x = pd.to_datetime(weekly["week_start"])
            ax.bar(x, weekly["done"], width=5, color=THROUGHPUT_COLOUR, label="done that week")
            twin = ax.twinx()
            twin.plot(x, weekly["in_progress"], color=WIP_COLOUR, marker=".", label="in progress")
            twin.set_ylim(bottom=0)
            twin.set_ylabel("work in progress", fontsize=8)
            fig.autofmt_xdate()
        ax.set_ylabel("done per week", fontsize=8)
        ax.set_title(f"{team}: throughput (bars) and WIP (line), last {weeks} weeks", fontsize=10)
        return fig

    return StaticChart(f"team-flow-{team}", f"{team}: throughput and work in progress",
                       "Bars: the team's issues done in each ISO week. Line: its issues in progress at "
                       "the week's end. An issue shared with another team counts for both.", draw)


def team_fragment(team: str, summary: pd.DataFrame, team_weekly: pd.DataFrame,
                  team_bottlenecks: pd.DataFrame, ageing_wip: pd.DataFrame) -> str:
    """One team's delivery: its figures, throughput and WIP, bottlenecks and oldest work."""
    rows = summary[summary["team"] == team] if len(summary) else summary
    overall = rows[rows["project"].isna()]
    if not len(overall):
        return f"<section class='impacting-team'><p>No delivery issues for {escape(team)}.</p></section>"
    top = overall.iloc[0]
    cycle = (f"p50 {days(top['cycle_p50_days'])}, p85 {days(top['cycle_p85_days'])}, "
             f"p95 {days(top['cycle_p95_days'])}")
    neck = (f"{escape(top['bottleneck_status'])} ({days(top['bottleneck_days'])} in total)"
            if isinstance(top["bottleneck_status"], str) else "–")
    oldest = (f"{escape(top['oldest_wip_key'])} ({days(top['oldest_wip_days'])})"
              if isinstance(top["oldest_wip_key"], str) else "–")
    facts = (
        "<ul class='team-facts'>"
        f"<li><b>{int(top['done_in_window'])}</b> done in the last {int(top['window_weeks'])} weeks "
        f"({top['throughput_per_week']:.1f} a week), of {int(top['issues'])} issues</li>"
        f"<li>Cycle time: {escape(cycle)}</li>"
        f"<li>Work in progress: <b>{int(top['work_in_progress'])}</b>, of which "
        f"{int(top['ageing_over_p85'])} older than the p85 of their type; oldest {oldest}</li>"
        f"<li>Biggest bottleneck: {neck}</li></ul>")
    projects = rows[rows["project"].notna()]
    per_project = "" if not len(projects) else "<h4>By Jira project</h4>" + table(
        projects, {"project": "Project", "issues": "Issues", "done_in_window": "Done in window",
                   "cycle_p85_days": "Cycle p85", "work_in_progress": "WIP",
                   "ageing_over_p85": "Over p85", "bottleneck_status": "Bottleneck"},
        {"cycle_p85_days": days})
    necks = team_bottlenecks[team_bottlenecks["team"] == team] if len(team_bottlenecks) else team_bottlenecks
    necks = necks.sort_values("total_days", ascending=False).head(BOTTLENECK_ROWS) if len(necks) else necks
    mine = ageing_wip[[team in _teams_or_none(t) for t in ageing_wip["teams"]]] if len(ageing_wip) \
        else ageing_wip
    return (
        f"<section class='impacting-team' data-team='{html.escape(team, quote=True)}'>"
        f"<h3>{escape(team)}</h3>{facts}{team_flow_chart(team, team_weekly).html()}{per_project}"
        "<h4>Where its finished work spent its time</h4>"
        + table(necks, {"issue_type": "Type", "status": "Status", "issues": "Issues",
                        "total_days": "Total", "median_days": "Median", "stuck_count": "Stuck now",
                        "stuck_keys": "Stuck issues"}, {c: days for c in ("total_days", "median_days")})
        + "<h4>Its oldest work in progress</h4>"
        + table(mine.head(AGEING_ROWS), {"key": "Issue", "summary": "Summary", "issue_type": "Type",
                                         "status": "Status", "age_days": "Age", "p85_days": "p85 of type",
                                         "band": "Band"},
                {c: days for c in ("age_days", "p85_days")}, highlight="over_p85")
        + "</section>")


def _teams_or_none(teams) -> list[str]:
    listed = list(teams) if isinstance(teams, (list, tuple, np.ndarray)) else []
    return listed or [NO_TEAM]


PICKER_SCRIPT = """<script>
(function () {
  var pick = document.getElementById('team-pick');
  function show() {
    document.querySelectorAll('#teams .team-panel').forEach(function (panel) {
      panel.hidden = panel.getAttribute('data-team') !== pick.value;
    });
  }
  pick.addEventListener('change', show);
  show();
})();
</script>"""


def team_picker(sections: dict[str, str]) -> str:
    """A `<select>` of teams and one panel per team (`sections`: team → its fragment); the chosen
    team's panel shows. Team names are escaped wherever they appear."""
    if not sections:
        return "<p class='empty'>No delivery issues, so no team to pick.</p>"
    options = "".join(f"<option value='{html.escape(team, quote=True)}'>{escape(team)}</option>"
                      for team in sections)
    panels = "".join(f"<div class='team-panel' id='team-{_slug(team)}' "
                     f"data-team='{html.escape(team, quote=True)}'>{body}</div>"
                     for team, body in sections.items())
    return (f"<label for='team-pick'><b>Team</b></label> <select id='team-pick'>{options}</select>"
            f"{panels}{PICKER_SCRIPT}")


def _slug(team: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", team).strip("-") or "team"
