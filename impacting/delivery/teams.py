"""Delivery by team and Jira project: whose work each issue is, and each team's flow.

An issue's teams are its team field (`projects.teams`, the configured field); a story or task
without one inherits its nearest ancestor's (its parent's, else the parent's parent, ...), since
work on a request belongs to the teams the request names. An issue with no team anywhere up the
line counts for `(no team)`, so nothing drops out of the totals. An issue with two teams counts
for both: a team's figures are complete, and summing over teams counts shared work twice.

Per team the same functions as the department's figures run on the team's issues alone
(`delivery.flow`): the weekly flow per team and project, the bottlenecks per team and issue type,
and a summary per team (over all its projects and per project): throughput in the window,
cycle-time percentiles, work in progress, ageing and the biggest bottleneck.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from impacting.delivery.categories import IN_PROGRESS, StatusCategories
from impacting.delivery.flow import (
    PERCENTILES,
    WEEK,
    IssueFlow,
    biggest_bottleneck,
    bottlenecks,
    days,
    nearest_rank,
    weekly_flow,
)
from impacting.warehouse.tables import (
    DELIVERY_TEAM_BOTTLENECKS,
    DELIVERY_TEAM_SUMMARY,
    DELIVERY_TEAM_WEEKLY_FLOW,
    NO_TEAM,
)


@dataclass(frozen=True)
class Ownership:
    """An issue's Jira project and teams, and the ancestor they were inherited from (if any)."""

    project: str | None
    teams: tuple[str, ...]
    inherited_from: str | None = None

    @property
    def counted_for(self) -> tuple[str, ...]:
        """The teams it counts for in per-team figures."""
        return self.teams or (NO_TEAM,)


def ownership(projects: pd.DataFrame) -> dict[str, Ownership]:
    """Every issue's project and teams, a team-less issue taking its nearest ancestor's."""
    own = {row["key"]: (row.get("project"), tuple(row.get("teams") if row.get("teams") is not None else ()),
                        row.get("parent_key") if isinstance(row.get("parent_key"), str) else None)
           for row in projects.to_dict("records")}
    out = {}
    for key, (project, teams, parent) in own.items():
        inherited_from, seen = None, {key}
        while not teams and parent and parent in own and parent not in seen:  # a loop ends it
            seen.add(parent)
            _, teams, grandparent = own[parent]
            inherited_from = parent if teams else None
            parent = grandparent
        out[key] = Ownership(project if isinstance(project, str) else None, tuple(teams), inherited_from)
    return out


def with_ownership(frame: pd.DataFrame, owners: Mapping[str, Ownership], key: str = "key",
                   inherited: bool = False) -> pd.DataFrame:
    """`frame` with the `project` and `teams` (and `teams_inherited_from`) of its `key` column."""
    missing = Ownership(None, ())
    found = [owners.get(k, missing) for k in frame[key]] if len(frame) else []
    extra = {"project": [o.project for o in found], "teams": [list(o.teams) for o in found]}
    if inherited:
        extra["teams_inherited_from"] = [o.inherited_from for o in found]
    return frame.assign(**extra) if len(frame) else frame.assign(**{c: [] for c in extra})


def team_flows(flows: Sequence[IssueFlow], owners: Mapping[str, Ownership]
               ) -> dict[tuple[str, str | None], list[IssueFlow]]:
    """The flows per (team, project)."""
    out: dict[tuple[str, str | None], list[IssueFlow]] = defaultdict(list)
    for flow in flows:
        owner = owners.get(flow.issue.key, Ownership(None, ()))
        for team in owner.counted_for:
            out[(team, owner.project)].append(flow)
    return dict(out)


def team_weekly_flow(groups: Mapping[tuple[str, str | None], list[IssueFlow]], as_of: datetime
                     ) -> pd.DataFrame:
    """`delivery_team_weekly_flow`: the weekly flow of each team's issues in each project."""
    parts = [weekly_flow(items, as_of).assign(team=team, project=project)
             for (team, project), items in sorted(groups.items(), key=_order)]
    return _concat(parts, DELIVERY_TEAM_WEEKLY_FLOW.column_names)


def team_bottlenecks(by_team: Mapping[str, list[IssueFlow]], categories: StatusCategories,
                     active: frozenset[str], as_of: datetime, weeks: int) -> pd.DataFrame:
    """`delivery_team_bottlenecks`: the bottlenecks of each team's issues (all its projects)."""
    parts = [bottlenecks(items, categories, active, as_of, weeks).assign(team=team)
             for team, items in sorted(by_team.items())]
    return _concat(parts, DELIVERY_TEAM_BOTTLENECKS.column_names)


def team_summary(groups: Mapping[tuple[str, str | None], list[IssueFlow]], ageing: pd.DataFrame,
                 categories: StatusCategories, active: frozenset[str], as_of: datetime,
                 weeks: int) -> pd.DataFrame:
    """`delivery_team_summary`: per team over all its projects (`project` null), then per project."""
    by_team: dict[str, list[IssueFlow]] = defaultdict(list)
    for (team, _project), items in groups.items():
        by_team[team].extend(items)
    over = set(ageing.loc[ageing["over_p85"].eq(True), "key"]) if len(ageing) else set()
    scopes = [((team, None), items) for team, items in sorted(by_team.items())]
    scopes += sorted(groups.items(), key=_order)
    rows = []
    for (team, project), items in scopes:
        window_start = as_of - weeks * WEEK
        cycles = [f.cycle_time for f in items if f.cycle_time is not None]
        wip = [f for f in items if f.category == IN_PROGRESS and f.started_at is not None]
        oldest = min(wip, key=lambda f: (f.started_at, f.issue.key)) if wip else None
        neck = biggest_bottleneck(bottlenecks(items, categories, active, as_of, weeks))
        done = sum(1 for f in items if f.done_at is not None and window_start < f.done_at <= as_of)
        rows.append({
            "team": team, "project": project, "issues": len(items), "done_in_window": done,
            "throughput_per_week": done / weeks,
            **{f"cycle_p{p}_days": days(nearest_rank(cycles, p)) for p in PERCENTILES},
            "work_in_progress": len(wip),
            "ageing_over_p85": sum(1 for f in wip if f.issue.key in over),
            "oldest_wip_key": oldest.issue.key if oldest else None,
            "oldest_wip_days": days(as_of - oldest.started_at) if oldest else None,
            "bottleneck_status": neck["status"] if neck else None,
            "bottleneck_days": neck["total_days"] if neck else None,
            "window_weeks": weeks, "as_of": as_of,
        })
    frame = pd.DataFrame(rows, columns=list(DELIVERY_TEAM_SUMMARY.column_names))
    frame["as_of"] = pd.to_datetime(frame["as_of"], utc=True)
    return frame


def teams_only(groups: Mapping[tuple[str, str | None], list[IssueFlow]]) -> dict[str, list[IssueFlow]]:
    """The flows per team, over all its projects."""
    out: dict[str, list[IssueFlow]] = defaultdict(list)
    for (team, _project), items in sorted(groups.items(), key=_order):
        out[team].extend(items)
    return dict(out)


def _order(item) -> tuple[str, str]:
    (team, project), _ = item
    return team, project or ""


def _concat(parts: list[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(parts, ignore_index=True)[list(columns)]
