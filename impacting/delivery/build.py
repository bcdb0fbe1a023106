"""Every delivery table from `projects`, `status_changes` and Jira's status list, at one `as_of`:
the department's six, with each issue's project and teams, and the same figures per team."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from impacting.delivery.categories import StatusCategories, normalise, resolve_categories
from impacting.delivery.flow import (
    IssueRecord,
    Transition,
    ageing_wip,
    bottlenecks,
    issue_times,
    replay_all,
    status_time,
    weekly_flow,
)
from impacting.delivery.forecast import rollup
from impacting.delivery.teams import (
    ownership,
    team_bottlenecks,
    team_flows,
    team_summary,
    team_weekly_flow,
    teams_only,
    with_ownership,
)
from impacting.settings import DeliverySettings, var
from impacting.warehouse.tables import (
    DELIVERY_AGEING_WIP,
    DELIVERY_BOTTLENECKS,
    DELIVERY_FORECASTS,
    DELIVERY_ISSUE_TIMES,
    DELIVERY_STATUS_TIME,
    DELIVERY_TEAM_BOTTLENECKS,
    DELIVERY_TEAM_SUMMARY,
    DELIVERY_TEAM_WEEKLY_FLOW,
    DELIVERY_WEEKLY_FLOW,
    Table,
)


@dataclass(frozen=True)
class DeliveryTables:
    """The tables, the `as_of` they were measured at, the status map and the data problems."""

    as_of: datetime
    issue_times: pd.DataFrame
    status_time: pd.DataFrame
    weekly_flow: pd.DataFrame
    ageing_wip: pd.DataFrame
    bottlenecks: pd.DataFrame
    forecasts: pd.DataFrame
    categories: StatusCategories
    problems: tuple[str, ...]
    team_weekly_flow: pd.DataFrame
    team_summary: pd.DataFrame
    team_bottlenecks: pd.DataFrame

    @property
    def frames(self) -> dict[Table, pd.DataFrame]:
        """Each declared delivery table with its rows, in `DELIVERY_TABLES` order."""
        return {
            DELIVERY_ISSUE_TIMES: self.issue_times, DELIVERY_STATUS_TIME: self.status_time,
            DELIVERY_WEEKLY_FLOW: self.weekly_flow, DELIVERY_AGEING_WIP: self.ageing_wip,
            DELIVERY_BOTTLENECKS: self.bottlenecks, DELIVERY_FORECASTS: self.forecasts,
            DELIVERY_TEAM_WEEKLY_FLOW: self.team_weekly_flow, DELIVERY_TEAM_SUMMARY: self.team_summary,
            DELIVERY_TEAM_BOTTLENECKS: self.team_bottlenecks,
        }


def utc(value) -> datetime | None:
    """A pandas/DuckDB timestamp (any zone) or None/NaT → aware UTC datetime or None."""
    stamp = pd.Timestamp(value)  # None, NaN and NaT all become NaT
    if pd.isna(stamp):
        return None
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def records(projects: pd.DataFrame) -> tuple[list[IssueRecord], list[str]]:
    """`projects` rows → IssueRecords; a row without a creation date is skipped and reported."""
    out, problems = [], []
    for row in projects.to_dict("records"):
        created = utc(row.get("created_at"))
        if created is None:
            problems.append(f"{row.get('key')}: no created date, so it has no flow metrics; "
                            "check the issue's `created` field")
            continue
        out.append(IssueRecord(
            key=row["key"], created_at=created, status=_text(row.get("status")),
            summary=_text(row.get("summary")), issue_type=_text(row.get("issue_type")),
            parent_key=_text(row.get("parent_key")), resolved_at=utc(row.get("resolved_at")),
        ))
    return out, problems


def transitions(changes: pd.DataFrame) -> dict[str, list[Transition]]:
    out: dict[str, list[Transition]] = defaultdict(list)
    for row in changes.to_dict("records"):
        out[row["project_key"]].append(Transition(
            utc(row.get("changed_at")), _text(row.get("from_status")), _text(row.get("to_status"))))
    return out


def default_as_of(source_kind: str, projects: pd.DataFrame, changes: pd.DataFrame,
                  now: datetime) -> datetime:
    """The "now" of a report: the run's time for a live Jira; for an export folder, the newest
    timestamp it holds (an export knows nothing after it was taken), never later than `now`."""
    if source_kind != "export":
        return now
    stamps = []
    for frame, columns in ((projects, ("created_at", "updated_at", "resolved_at")),
                           (changes, ("changed_at",))):
        for column in columns:
            if column in frame and frame[column].notna().any():
                stamps.append(utc(frame[column].max()))
    return min([max(stamps), now]) if stamps else now


def build_delivery(projects: pd.DataFrame, changes: pd.DataFrame, jira_statuses: pd.DataFrame,
                   config: DeliverySettings, as_of: datetime) -> DeliveryTables:
    """Every delivery table, measured at `as_of` (aware; any zone, compared in UTC)."""
    as_of = as_of.astimezone(UTC)
    issues, problems = records(projects)
    changes_by_key = transitions(changes)
    seen = [issue.status for issue in issues if issue.status]
    for items in changes_by_key.values():
        for change in items:
            seen.extend(s for s in (change.from_status, change.to_status) if s)
    categories = resolve_categories(
        seen,
        overrides=config.status_categories,
        jira_statuses=_pairs(jira_statuses, "name", "category"),
        current_statuses=_pairs(projects, "status", "status_category"),
    )
    problems.extend(categories.problems)
    flows, found = replay_all(issues, changes_by_key, categories, as_of)
    problems.extend(found)

    active = frozenset(normalise(s) for s in config.active_statuses)
    visited = {normalise(segment.status) for flow in flows for segment in flow.segments}
    if flows and not active & visited:
        problems.append(
            f"none of the active statuses ({', '.join(config.active_statuses)}) occurs in any "
            f"issue's history, so flow efficiency is 0; set {var('delivery.active_statuses')} to "
            f"the statuses where work is done (seen: {', '.join(sorted(visited))})"
        )
    owners = ownership(projects)
    groups = team_flows(flows, owners)
    ageing = ageing_wip(flows, as_of)
    weeks = config.bottleneck_weeks
    return DeliveryTables(
        as_of=as_of,
        issue_times=with_ownership(issue_times(flows, active, as_of), owners, inherited=True),
        status_time=with_ownership(status_time(flows, categories, active, as_of), owners),
        weekly_flow=weekly_flow(flows, as_of),
        ageing_wip=with_ownership(ageing, owners),
        bottlenecks=bottlenecks(flows, categories, active, as_of, weeks),
        forecasts=with_ownership(rollup(flows, as_of, config.forecast_weeks, config.forecast_trials,
                                        config.forecast_seed), owners, key="parent_key"),
        categories=categories,
        problems=tuple(problems),
        team_weekly_flow=team_weekly_flow(groups, as_of),
        team_summary=team_summary(groups, ageing, categories, active, as_of, weeks),
        team_bottlenecks=team_bottlenecks(teams_only(groups), categories, active, as_of, weeks),
    )


def _pairs(frame: pd.DataFrame, name: str, category: str) -> list[tuple[str, str]]:
    if frame is None or not len(frame) or name not in frame or category not in frame:
        return []
    return [(str(n), str(c)) for n, c in zip(frame[name], frame[category], strict=True)
            if _text(n) and _text(c)]
