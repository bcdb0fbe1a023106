"""Every delivery metric on a hand-written fixture, against values computed by hand.

`fixtures/delivery_flow_issues.json` holds nine Jira payloads whose transitions were written
by hand (see the comments there and in `fixtures/README.md`). The expected values below were
worked out on paper from those timestamps, converted to UTC, with "now" = 2024-03-20 12:00 UTC
(given as 13:00 +01:00). Hours are written as fractions (73 h = 73 / 24 days) because
`flow.py` divides once, exactly, so the floats compare equal.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest

from impacting.delivery.build import build_delivery
from impacting.delivery.categories import ORIGIN_CONFIGURATION, ORIGIN_FALLBACK, ORIGIN_ISSUES, ORIGIN_JIRA
from impacting.settings import DeliverySettings
from impacting.sources.jira_fields import project_row, status_changes
from impacting_tests.conftest import FIXTURES

AS_OF = datetime(2024, 3, 20, 13, 0, tzinfo=timezone(timedelta(hours=1)))
CONFIG = DeliverySettings(active_statuses=("In Progress",), status_categories={"Blocked": "indeterminate"},
                        bottleneck_weeks=2, forecast_weeks=3, forecast_trials=10_000, forecast_seed=7)
JIRA_STATUSES = pd.DataFrame({"name": ["In Review", "To Do"], "category": ["indeterminate", "new"]})


def utc(*args) -> pd.Timestamp:
    return pd.Timestamp(datetime(*args, tzinfo=UTC))


def fixture_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    issues = json.loads((FIXTURES / "delivery_flow_issues.json").read_text(encoding="utf-8"))
    projects = pd.DataFrame([project_row(issue) for issue in issues])
    changes = pd.DataFrame([row for issue in issues for row in status_changes(issue)])
    return projects, changes


@pytest.fixture(scope="module")
def tables():
    projects, changes = fixture_frames()
    return build_delivery(projects, changes, JIRA_STATUSES, CONFIG, AS_OF)


def by_key(frame: pd.DataFrame, *columns: str) -> dict:
    return {row[0]: (row[1:] if len(row) > 2 else row[1])
            for row in frame[list(columns)].itertuples(index=False)}


def nullable(value):
    return None if value is None or (not isinstance(value, (list, str)) and pd.isna(value)) else value


def test_as_of_is_utc_and_an_issue_created_later_is_left_out(tables):
    assert tables.as_of == datetime(2024, 3, 20, 12, 0, tzinfo=UTC)
    assert sorted(tables.issue_times["key"]) == [f"FLOW-{n}" for n in range(1, 9)]
    for frame in (tables.status_time, tables.ageing_wip):
        assert "FLOW-9" not in set(frame["key"])


def test_status_categories_come_from_configuration_jira_issues_then_fallback(tables):
    categories = tables.categories
    expected = {
        "Blocked": ("indeterminate", ORIGIN_CONFIGURATION),
        "In Review": ("indeterminate", ORIGIN_JIRA),
        "To Do": ("new", ORIGIN_JIRA),
        "In Progress": ("indeterminate", ORIGIN_ISSUES),
        "Done": ("done", ORIGIN_ISSUES),
        "Closed": ("done", ORIGIN_ISSUES),
        "Backlog": ("new", ORIGIN_FALLBACK),
        "QA": ("indeterminate", ORIGIN_FALLBACK),
    }
    assert {s: (categories.category(s), categories.origin(s)) for s in expected} == expected
    # Only the status nothing knows is reported, with the setting that fixes it.
    assert len(tables.problems) == 1
    assert "'QA'" in tables.problems[0] and "IMPACTING_DELIVERY_STATUS_CATEGORIES" in tables.problems[0]


def test_lead_and_cycle_times(tables):
    times = tables.issue_times.set_index("key")
    expected = {
        # key: (started_at, done_at, lead days, cycle days, done_from)
        "FLOW-1": (utc(2024, 3, 4, 10), utc(2024, 3, 11, 12), 243 / 24, 170 / 24, "changelog"),
        "FLOW-2": (None, utc(2024, 3, 13, 8), 376 / 24, None, "resolutiondate"),
        "FLOW-3": (utc(2024, 3, 6, 9), None, None, None, None),
        "FLOW-4": (None, None, None, None, None),
        "FLOW-5": (utc(2024, 3, 12, 8), utc(2024, 3, 15, 8), 4.0, 3.0, "changelog"),
        "FLOW-6": (utc(2024, 3, 1, 9), None, None, None, None),
        "FLOW-7": (None, None, None, None, None),
        "FLOW-8": (utc(2024, 2, 5, 9), utc(2024, 2, 8, 21), 7.5, 3.5, "changelog"),
    }
    actual = {key: tuple(nullable(times.loc[key, c]) for c in
                         ("started_at", "done_at", "lead_time_days", "cycle_time_days", "done_from"))
              for key in expected}
    assert actual == expected
    assert times.loc["FLOW-2", "created_at"] == utc(2024, 2, 26, 16)  # -0800 converted
    assert times.loc["FLOW-5", "created_at"] == utc(2024, 3, 11, 8)


def test_flow_efficiency_reopened_and_status_change_counts(tables):
    times = tables.issue_times.set_index("key")
    finished = ("FLOW-1", "FLOW-2", "FLOW-5", "FLOW-8")
    assert {k: nullable(times.loc[k, "active_days"]) for k in finished} == {
        "FLOW-1": 50 / 24, "FLOW-2": None, "FLOW-5": 2.0, "FLOW-8": 2.0}
    assert {k: nullable(times.loc[k, "flow_efficiency"]) for k in finished} == {
        "FLOW-1": 5 / 17, "FLOW-2": None, "FLOW-5": 2 / 3, "FLOW-8": 4 / 7}
    assert by_key(tables.issue_times, "key", "reopened_count") == {
        "FLOW-1": 1, "FLOW-2": 0, "FLOW-3": 0, "FLOW-4": 0, "FLOW-5": 0, "FLOW-6": 0, "FLOW-7": 0,
        "FLOW-8": 0}
    assert by_key(tables.issue_times, "key", "status_changes") == {
        "FLOW-1": 6, "FLOW-2": 0, "FLOW-3": 3, "FLOW-4": 0, "FLOW-5": 4, "FLOW-6": 1, "FLOW-7": 0,
        "FLOW-8": 3}
    assert by_key(tables.issue_times, "key", "status", "status_category")["FLOW-5"] == ("Closed", "done")


def test_time_in_status_sums_repeated_visits_up_to_now(tables):
    rows = {(r.key, r.status): (r.days, r.visits, r.is_current)
            for r in tables.status_time.itertuples(index=False)}
    assert rows == {
        ("FLOW-1", "To Do"): (73 / 24, 1, False),
        ("FLOW-1", "In Progress"): (50 / 24, 2, False),
        ("FLOW-1", "In Review"): (4.0, 2, False),
        ("FLOW-1", "Done"): (10.0, 2, True),
        ("FLOW-2", "Closed"): (548 / 24, 1, True),
        ("FLOW-3", "To Do"): (1.0, 1, False),
        ("FLOW-3", "In Progress"): (243 / 24, 2, True),
        ("FLOW-3", "Blocked"): (4.0, 1, False),
        ("FLOW-4", "To Do"): (98 / 24, 1, True),
        ("FLOW-5", "To Do"): (1.0, 1, False),
        ("FLOW-5", "In Progress"): (2.0, 1, False),
        ("FLOW-5", "In Review"): (1.0, 1, False),
        ("FLOW-5", "Done"): (4.0, 1, False),
        ("FLOW-5", "Closed"): (28 / 24, 1, True),
        ("FLOW-6", "To Do"): (10.0, 1, False),
        ("FLOW-6", "In Progress"): (459 / 24, 1, True),
        ("FLOW-7", "To Do"): (123 / 24, 1, True),
        ("FLOW-8", "Backlog"): (4.0, 1, False),
        ("FLOW-8", "In Progress"): (2.0, 1, False),
        ("FLOW-8", "QA"): (1.5, 1, False),
        ("FLOW-8", "Done"): (975 / 24, 1, True),
    }
    first = tables.status_time.set_index(["key", "status"])
    assert first.loc[("FLOW-1", "In Review"), "first_entered_at"] == utc(2024, 3, 5, 10)  # +0530
    assert first.loc[("FLOW-1", "In Review"), "last_left_at"] == utc(2024, 3, 11, 12)
    assert pd.isna(first.loc[("FLOW-1", "Done"), "last_left_at"])
    assert first.loc[("FLOW-3", "Blocked"), "category_source"] == ORIGIN_CONFIGURATION
    assert first.loc[("FLOW-3", "In Progress"), "is_active"]
    assert not first.loc[("FLOW-3", "Blocked"), "is_active"]


def test_weekly_throughput_wip_and_cumulative_flow(tables):
    weeks = tables.weekly_flow
    columns = ["week", "created", "started", "done", "to_do", "in_progress", "done_total"]
    assert [tuple(row) for row in weeks[columns].itertuples(index=False)] == [
        ("2024-W05", 1, 0, 0, 1, 0, 0),
        ("2024-W06", 0, 1, 1, 0, 0, 1),
        ("2024-W07", 0, 0, 0, 0, 0, 1),
        ("2024-W08", 1, 0, 0, 1, 0, 1),
        ("2024-W09", 2, 1, 0, 1, 1, 2),
        ("2024-W10", 1, 2, 0, 0, 3, 2),
        ("2024-W11", 3, 1, 3, 2, 2, 4),
        ("2024-W12", 0, 0, 0, 2, 2, 4),
    ]
    assert list(weeks["week_start"])[:2] == [date(2024, 1, 29), date(2024, 2, 5)]
    assert list(weeks["is_partial"]) == [False] * 7 + [True]
    assert weeks["week_end_at"].iloc[-2] == utc(2024, 3, 18)
    assert weeks["week_end_at"].iloc[-1] == utc(2024, 3, 20, 12)


def test_ageing_wip_against_cycle_time_percentiles_of_the_same_type(tables):
    ageing = tables.ageing_wip
    assert list(ageing["key"]) == ["FLOW-6", "FLOW-3"]  # oldest first
    story = ageing.set_index("key").loc["FLOW-3"]
    # Story cycle times 3.0, 3.5 and 170/24 days; nearest rank: p50 = 2nd, p85 = p95 = 3rd.
    assert (story.age_days, story.days_in_current_status) == (339 / 24, 195 / 24)
    assert (story.p50_days, story.p85_days, story.p95_days, story.history_count) == (
        3.5, 170 / 24, 170 / 24, 3)
    assert (story.band, story.over_p85, story.started_at) == ("over p95", True, utc(2024, 3, 6, 9))
    epic = ageing.set_index("key").loc["FLOW-6"]
    assert (epic.age_days, epic.days_in_current_status, epic.history_count) == (459 / 24, 459 / 24, 0)
    assert (epic.band, nullable(epic.over_p85), nullable(epic.p85_days)) == ("no history", None, None)


def test_bottlenecks_rank_statuses_by_time_spent_by_recently_finished_issues(tables):
    frame = tables.bottlenecks
    # Finished in the 2 weeks to 20 March: FLOW-1, FLOW-2 (no time before done), FLOW-5, all
    # stories; FLOW-8 (February) is outside the window. The final done stretch is not counted.
    columns = ["issue_type", "status", "status_category", "issues", "total_days", "median_days",
               "p85_days", "rank_by_total", "rank_by_median", "stuck_count"]
    assert [tuple(row) for row in frame[columns].itertuples(index=False)] == [
        ("Story", "In Review", "indeterminate", 2, 5.0, 1.0, 4.0, 1, 2, 0),
        ("Story", "In Progress", "indeterminate", 2, 98 / 24, 2.0, 50 / 24, 2, 1, 1),
        ("Story", "To Do", "new", 2, 97 / 24, 1.0, 73 / 24, 3, 3, 1),
        ("Story", "Done", "done", 1, 1.0, 1.0, 1.0, 4, 4, 0),
    ]
    # Open stories there longer than the p85: FLOW-3 (243 h > 50 h), FLOW-4 (98 h > 73 h). The
    # epics FLOW-6 and FLOW-7 are not compared with stories.
    stuck = {row.status: list(row.stuck_keys) for row in frame.itertuples(index=False)}
    assert stuck == {"In Review": [], "In Progress": ["FLOW-3"], "To Do": ["FLOW-4"], "Done": []}
    assert set(frame["window_start"]) == {utc(2024, 3, 6, 12)}


def test_epic_rollup_and_forecast(tables):
    forecasts = tables.forecasts.set_index("parent_key")
    epic = forecasts.loc["FLOW-6"]
    assert (epic.children, epic.children_done, epic.children_in_progress, epic.children_to_do,
            epic.remaining) == (3, 2, 1, 0, 1)
    assert (epic.summary, epic.status) == ("Epic in progress", "In Progress")
    # Children done per 7-day period ending at now: FLOW-1 on 11 March, FLOW-5 on 15 March.
    assert list(epic.weekly_throughput) == [0, 1, 1]
    # One item left, each week finishes it with probability 2/3: P(1 week) = 0.667 >= 0.5,
    # P(<= 2) = 0.889 >= 0.85 > 0.667, P(<= 3) = 0.963 >= 0.95 > 0.889.
    assert (epic.p50_weeks, epic.p85_weeks, epic.p95_weeks) == (1, 2, 3)
    assert (epic.p50_date, epic.p85_date, epic.p95_date) == (date(2024, 3, 27), date(2024, 4, 3),
                                                             date(2024, 4, 10))
    assert nullable(epic.note) is None
    idle = forecasts.loc["FLOW-7"]
    # Its only child was created on 16 March: one period of history, with nothing done.
    assert (idle.children, idle.children_to_do, idle.remaining) == (1, 1, 1)
    assert list(idle.weekly_throughput) == [0]
    assert nullable(idle.p85_date) is None and "no child finished" in idle.note
    assert (epic.trials, epic.seed) == (10_000, 7)
