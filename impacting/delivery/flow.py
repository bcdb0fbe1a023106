"""Flow metrics from status histories: times, time in status, throughput, WIP, ageing, bottlenecks.

Every issue's changelog is replayed into a timeline of status *segments* (status, start, end),
all in UTC, up to `as_of` (the injectable "now"). Every metric is read off those timelines:

- **lead time**: created → done; **cycle time**: started → done. *Started* is the first entry
  into an in-progress-category status (creation, if the issue was created in one). *Done* is the
  start of the issue's final stretch in done-category statuses (it is still done at `as_of`), so
  reopened work keeps its first start and its final done, and moving from one done status to
  another (Resolved → Closed) does not move it. An issue without status changes that is done
  uses `resolutiondate`.
- **time in status**: per issue and status, the sum of every visit, up to `as_of` for the current.
- **throughput**: issues whose done falls in an ISO week (UTC); **WIP**: issues in an
  in-progress-category status at the week's end (just before Monday 00:00 UTC, or `as_of` for
  the current week).
- **ageing WIP**: days since started for open in-progress issues, against the nearest-rank
  50th/85th/95th percentile cycle times of finished issues of the same type.
- **flow efficiency**: time in active statuses within the cycle, over the cycle time.
- **bottlenecks**: per issue type, statuses ranked by the total and the median time that issues
  finished in the last N weeks spent there before they were done, and the open issues of that
  type that have been there longer than the 85th percentile of those.

Durations are kept as exact `timedelta`s and turned into days once, at the end, so a value
computed by hand (e.g. 73 hours = 73/24 days) compares exactly.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from impacting.delivery.categories import DONE, IN_PROGRESS, NEW, StatusCategories, normalise
from impacting.warehouse.tables import (
    DELIVERY_AGEING_WIP,
    DELIVERY_BOTTLENECKS,
    DELIVERY_ISSUE_TIMES,
    DELIVERY_STATUS_TIME,
    DELIVERY_WEEKLY_FLOW,
)

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
PERCENTILES = (50, 85, 95)


@dataclass(frozen=True)
class IssueRecord:
    """What flow metrics need from a `projects` row."""

    key: str
    created_at: datetime
    status: str | None
    summary: str | None = None
    issue_type: str | None = None
    parent_key: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """One status change from a `status_changes` row."""

    changed_at: datetime | None
    from_status: str | None
    to_status: str | None


@dataclass(frozen=True)
class Segment:
    """A stretch of time an issue spent in one status; `end` is None while it is still there."""

    status: str
    category: str
    start: datetime
    end: datetime | None

    def length(self, as_of: datetime) -> timedelta:
        return (self.end or as_of) - self.start


@dataclass(frozen=True)
class IssueFlow:
    """One issue's history replayed up to `as_of`, with its start and done."""

    issue: IssueRecord
    segments: tuple[Segment, ...]
    started_at: datetime | None
    done_at: datetime | None
    done_from: str | None        # "changelog" or "resolutiondate"
    done_index: int | None       # first segment of the final done stretch
    status_changes: int
    reopened: int

    @property
    def status(self) -> str:
        return self.segments[-1].status

    @property
    def category(self) -> str:
        return self.segments[-1].category

    @property
    def lead_time(self) -> timedelta | None:
        return self.done_at - self.issue.created_at if self.done_at else None

    @property
    def cycle_time(self) -> timedelta | None:
        if self.done_at is None or self.started_at is None:
            return None
        return self.done_at - self.started_at

    def before_done(self) -> tuple[Segment, ...]:
        """The segments before the final done stretch (all of them while not done)."""
        return self.segments if self.done_index is None else self.segments[: self.done_index]


def replay(issue: IssueRecord, transitions: Sequence[Transition], categories: StatusCategories,
           as_of: datetime) -> tuple[IssueFlow | None, list[str]]:
    """The issue's timeline up to `as_of` (None if created later), and problems found on the way.

    Changes after `as_of` are ignored, so the view is the issue as it stood then. A change dated
    before the previous one (or before creation) is counted at that earlier time and reported.
    """
    problems: list[str] = []
    if issue.created_at > as_of:
        return None, problems
    dated = [t for t in transitions if t.to_status]
    undated = [t for t in dated if t.changed_at is None]
    if undated:
        problems.append(f"{issue.key}: {len(undated)} status change(s) without a date were ignored")
    ordered = sorted((t for t in dated if t.changed_at is not None), key=lambda t: t.changed_at)
    initial = (ordered[0].from_status if ordered else None) or issue.status or "Unknown"
    replayed = [t for t in ordered if t.changed_at <= as_of]
    if ordered and len(replayed) == len(ordered) and issue.status \
            and normalise(ordered[-1].to_status) != normalise(issue.status):
        problems.append(
            f"{issue.key}: the changelog ends in {ordered[-1].to_status!r} but the issue is in "
            f"{issue.status!r}; its history is incomplete (re-sync the issue); the changelog is used"
        )

    segments: list[Segment] = []
    status, start = initial, issue.created_at
    for change in replayed:
        at = change.changed_at
        if at < start:
            problems.append(
                f"{issue.key}: status change to {change.to_status!r} at {at.isoformat()} is earlier "
                f"than {start.isoformat()}; counted at {start.isoformat()}"
            )
            at = start
        segments.append(Segment(categories.name(status), categories.category(status), start, at))
        status, start = change.to_status, at
    segments.append(Segment(categories.name(status), categories.category(status), start, None))

    started_at = next((s.start for s in segments if s.category == IN_PROGRESS), None)
    reopened = sum(1 for a, b in zip(segments, segments[1:], strict=False)
                   if a.category == DONE and b.category != DONE)
    done_at = done_from = done_index = None
    if segments[-1].category == DONE:
        done_index = len(segments) - 1
        while done_index > 0 and segments[done_index - 1].category == DONE:
            done_index -= 1
        if done_index > 0:
            done_at, done_from = segments[done_index].start, "changelog"
        elif issue.resolved_at is not None and issue.created_at <= issue.resolved_at <= as_of:
            done_at, done_from = issue.resolved_at, "resolutiondate"
        else:
            problems.append(
                f"{issue.key}: done, but no status change into done and no usable resolutiondate; "
                "it has no lead time and is left out of throughput"
            )
    return IssueFlow(issue, tuple(segments), started_at, done_at, done_from, done_index,
                     len(replayed), reopened), problems


def replay_all(issues: Iterable[IssueRecord], transitions: Mapping[str, Sequence[Transition]],
               categories: StatusCategories, as_of: datetime) -> tuple[list[IssueFlow], list[str]]:
    flows, problems = [], []
    for issue in issues:
        flow, found = replay(issue, transitions.get(issue.key, ()), categories, as_of)
        problems.extend(found)
        if flow is not None:
            flows.append(flow)
    return flows, problems


# --- small exact helpers --------------------------------------------------------------------

def days(value: timedelta | None) -> float | None:
    """A duration as fractional days (one exact division, so 73 h is exactly 73/24)."""
    return None if value is None else value / DAY


def nearest_rank(values: Sequence, percentile: int):
    """The smallest value with at least `percentile`% of `values` at or below it (None if empty).

    "85th percentile cycle time = 12 days" then reads "85% of issues finished within 12 days",
    and the result is always one of the observed values.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-percentile * len(ordered) // 100)  # ceil(p * n / 100) in integers
    return ordered[max(rank, 1) - 1]


def week_start(moment: datetime) -> date:
    """The Monday (UTC) of the ISO week holding `moment`."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _time_in(segments: Iterable[Segment], as_of: datetime) -> dict[str, timedelta]:
    totals: dict[str, timedelta] = defaultdict(timedelta)
    for segment in segments:
        totals[segment.status] += segment.length(as_of)
    return totals


def active_time(flow: IssueFlow, active: frozenset[str], as_of: datetime) -> timedelta | None:
    """Time in active statuses between started and done (None without a cycle time)."""
    if flow.cycle_time is None:
        return None
    total = timedelta()
    for segment in flow.segments:
        if normalise(segment.status) not in active:
            continue
        start = max(segment.start, flow.started_at)
        end = min(segment.end or as_of, flow.done_at)
        if end > start:
            total += end - start
    return total


# --- the tables -----------------------------------------------------------------------------


def issue_times(flows: Sequence[IssueFlow], active: frozenset[str], as_of: datetime) -> pd.DataFrame:
    """`delivery_issue_times`: one row per issue."""
    rows = []
    for flow in flows:
        cycle = flow.cycle_time
        active_span = active_time(flow, active, as_of)
        rows.append({
            "key": flow.issue.key,
            "summary": flow.issue.summary,
            "issue_type": flow.issue.issue_type,
            "parent_key": flow.issue.parent_key,
            "status": flow.status,
            "status_category": flow.category,
            "created_at": flow.issue.created_at,
            "started_at": flow.started_at,
            "done_at": flow.done_at,
            "lead_time_days": days(flow.lead_time),
            "cycle_time_days": days(cycle),
            "active_days": days(active_span),
            "flow_efficiency": active_span / cycle if cycle else None,
            "reopened_count": flow.reopened,
            "status_changes": flow.status_changes,
            "done_from": flow.done_from,
            "as_of": as_of,
        })
    return _frame(rows, ["created_at", "started_at", "done_at", "as_of"], DELIVERY_ISSUE_TIMES.column_names)


def status_time(flows: Sequence[IssueFlow], categories: StatusCategories, active: frozenset[str],
                as_of: datetime) -> pd.DataFrame:
    """`delivery_status_time`: one row per issue and status it has been in."""
    rows = []
    for flow in flows:
        per_status: dict[str, dict] = {}
        for index, segment in enumerate(flow.segments):
            current = index == len(flow.segments) - 1
            row = per_status.setdefault(segment.status, {
                "key": flow.issue.key,
                "status": segment.status,
                "status_category": segment.category,
                "category_source": categories.origin(segment.status),
                "is_active": normalise(segment.status) in active,
                "visits": 0,
                "duration": timedelta(),
                "first_entered_at": segment.start,
                "last_left_at": None,
                "is_current": False,
                "as_of": as_of,
            })
            row["visits"] += 1
            row["duration"] += segment.length(as_of)
            row["last_left_at"] = segment.end
            row["is_current"] = current
        for row in per_status.values():
            row["days"] = days(row.pop("duration"))
            rows.append(row)
    return _frame(rows, ["first_entered_at", "last_left_at", "as_of"], DELIVERY_STATUS_TIME.column_names)


def weekly_flow(flows: Sequence[IssueFlow], as_of: datetime) -> pd.DataFrame:
    """`delivery_weekly_flow`: per ISO week, arrivals, starts, throughput and the end-of-week
    count of issues in each category (what a cumulative flow diagram stacks)."""
    if not flows:
        return _frame([], [], DELIVERY_WEEKLY_FLOW.column_names)
    first = week_start(min(f.issue.created_at for f in flows))
    last = week_start(as_of)
    starts = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    ends = [min(_utc(day + timedelta(days=7)), as_of) for day in starts]
    # The state is read just before each Monday 00:00 (a change at midnight belongs to the new
    # week) but just after `as_of` for the current week, so a change at `as_of` itself counts.
    instants = ends[:-1] + [as_of + timedelta(microseconds=1)] if ends[-1] == as_of else ends

    position = {day: index for index, day in enumerate(starts)}

    def week_of(moment: datetime | None) -> int | None:
        return None if moment is None else position[week_start(moment)]

    counts = {name: [0] * len(starts) for name in ("created", "started", "done")}
    levels = {category: [0] * (len(starts) + 1) for category in (NEW, IN_PROGRESS, DONE)}
    for flow in flows:
        for name, moment in (("created", flow.issue.created_at), ("started", flow.started_at),
                             ("done", flow.done_at)):
            index = week_of(moment)
            if index is not None:
                counts[name][index] += 1
        # A segment is the issue's state at every instant t with start < t <= end.
        for segment in flow.segments:
            lo = bisect.bisect_right(instants, segment.start)
            hi = len(instants) if segment.end is None else bisect.bisect_right(instants, segment.end)
            if lo < hi:
                levels[segment.category][lo] += 1
                levels[segment.category][hi] -= 1
    running = {category: 0 for category in levels}
    rows = []
    for index, (day, end) in enumerate(zip(starts, ends, strict=True)):
        for category in running:
            running[category] += levels[category][index]
        rows.append({
            "week": iso_week(day),
            "week_start": day,
            "week_end_at": end,
            "is_partial": end < _utc(day + timedelta(days=7)),
            "created": counts["created"][index],
            "started": counts["started"][index],
            "done": counts["done"][index],
            "to_do": running[NEW],
            "in_progress": running[IN_PROGRESS],
            "done_total": running[DONE],
        })
    return _frame(rows, ["week_end_at"], DELIVERY_WEEKLY_FLOW.column_names)


def cycle_percentiles(flows: Sequence[IssueFlow]) -> dict[str | None, tuple[int, dict[int, timedelta]]]:
    """Per issue type: how many finished issues have a cycle time, and its p50/p85/p95."""
    by_type: dict[str | None, list[timedelta]] = defaultdict(list)
    for flow in flows:
        if flow.cycle_time is not None:
            by_type[flow.issue.issue_type].append(flow.cycle_time)
    return {kind: (len(values), {p: nearest_rank(values, p) for p in PERCENTILES})
            for kind, values in by_type.items()}


def band(age: timedelta, percentiles: Mapping[int, timedelta] | None) -> str:
    if not percentiles:
        return "no history"
    if age > percentiles[95]:
        return "over p95"
    if age > percentiles[85]:
        return "p85-p95"
    if age > percentiles[50]:
        return "p50-p85"
    return "within p50"


def ageing_wip(flows: Sequence[IssueFlow], as_of: datetime) -> pd.DataFrame:
    """`delivery_ageing_wip`: open in-progress issues, their age and their percentile band."""
    history = cycle_percentiles(flows)
    rows = []
    for flow in flows:
        if flow.category != IN_PROGRESS or flow.started_at is None:
            continue
        age = as_of - flow.started_at
        count, percentiles = history.get(flow.issue.issue_type, (0, None))
        rows.append({
            "key": flow.issue.key,
            "summary": flow.issue.summary,
            "issue_type": flow.issue.issue_type,
            "parent_key": flow.issue.parent_key,
            "status": flow.status,
            "started_at": flow.started_at,
            "age_days": days(age),
            "days_in_current_status": days(flow.segments[-1].length(as_of)),
            "p50_days": days(percentiles[50]) if percentiles else None,
            "p85_days": days(percentiles[85]) if percentiles else None,
            "p95_days": days(percentiles[95]) if percentiles else None,
            "history_count": count,
            "band": band(age, percentiles),
            "over_p85": (age > percentiles[85]) if percentiles else None,
            "as_of": as_of,
        })
    frame = _frame(rows, ["started_at", "as_of"], DELIVERY_AGEING_WIP.column_names)
    return frame.sort_values("age_days", ascending=False, ignore_index=True) if len(frame) else frame


def bottlenecks(flows: Sequence[IssueFlow], categories: StatusCategories, active: frozenset[str],
                as_of: datetime, weeks: int) -> pd.DataFrame:
    """`delivery_bottlenecks`: per issue type, statuses ranked by the time that issues finished in
    the window spent there before they were done; open issues of that type stuck there longer
    than the 85th percentile. Types are kept apart because an epic and a story are not alike."""
    window_start = as_of - weeks * WEEK
    spent: dict[tuple[str | None, str], list[timedelta]] = defaultdict(list)
    for flow in flows:
        if flow.done_at is not None and window_start < flow.done_at <= as_of:
            for status, total in _time_in(flow.before_done(), as_of).items():
                spent[(flow.issue.issue_type, status)].append(total)
    open_time = [(flow.issue.issue_type, normalise(flow.status), flow.issue.key,
                  _time_in(flow.segments, as_of)[flow.status])
                 for flow in flows if flow.category != DONE]

    rows = []
    for (kind, status), values in spent.items():
        p85 = nearest_rank(values, 85)
        stuck = sorted(((there, key) for other_kind, now_in, key, there in open_time
                        if other_kind == kind and now_in == normalise(status) and there > p85),
                       key=lambda item: (-item[0], item[1]))
        rows.append({
            "issue_type": kind,
            "status": status,
            "status_category": categories.category(status),
            "is_active": normalise(status) in active,
            "issues": len(values),
            "_total": sum(values, timedelta()),
            "_median": nearest_rank(values, 50),
            "p85_days": days(p85),
            "stuck_count": len(stuck),
            "stuck_keys": [key for _, key in stuck],
            "window_weeks": weeks,
            "window_start": window_start,
            "as_of": as_of,
        })
    ordered = []
    for kind in sorted({row["issue_type"] or "" for row in rows}):
        group = [row for row in rows if (row["issue_type"] or "") == kind]
        by_total = sorted(group, key=lambda r: (-r["_total"], r["status"]))
        for rank, row in enumerate(by_total, 1):
            row["rank_by_total"] = rank
        # Ties on the median go to the status with more total time.
        by_median = sorted(group, key=lambda r: (-r["_median"], -r["_total"], r["status"]))
        for rank, row in enumerate(by_median, 1):
            row["rank_by_median"] = rank
        ordered.extend(by_total)
    for row in ordered:
        row["total_days"] = days(row.pop("_total"))
        row["median_days"] = days(row.pop("_median"))
    return _frame(ordered, ["window_start", "as_of"], DELIVERY_BOTTLENECKS.column_names)


def biggest_bottleneck(bottlenecks: pd.DataFrame) -> dict | None:
    """The in-progress status where recently finished work waited longest in total.

    Waiting statuses (in progress but not active: review, blocked, QA) come first, because time
    in an active status is work being done; if there are none, any in-progress status.
    """
    if not len(bottlenecks):
        return None
    started = bottlenecks[bottlenecks["status_category"] == IN_PROGRESS]
    waiting = started[~started["is_active"].astype(bool)]
    for candidates in (waiting, started):
        if len(candidates):
            return candidates.sort_values(["total_days", "status"], ascending=[False, True]).iloc[0].to_dict()
    return None


def _frame(rows: list[dict], timestamp_columns: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """Rows as a frame with exactly `columns` (also when there are no rows), timestamps in UTC."""
    frame = pd.DataFrame(rows, columns=list(columns))
    for column in timestamp_columns:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
