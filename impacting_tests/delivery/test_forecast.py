"""The Monte Carlo forecast on cases whose answer can be worked out exactly."""

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from impacting.delivery.categories import DONE, IN_PROGRESS, NEW
from impacting.delivery.flow import IssueFlow, IssueRecord, Segment
from impacting.delivery.forecast import (
    MAX_WEEKS,
    forecast_weeks,
    parent_rng,
    rollup,
    simulate_weeks,
    weekly_throughput,
)

AS_OF = datetime(2024, 6, 5, 12, tzinfo=UTC)


def test_constant_throughput_gives_one_answer_for_every_trial():
    # Two items a week, ten to go: every future takes exactly five weeks.
    weeks = simulate_weeks(10, [2, 2, 2, 2], 10_000, np.random.default_rng(0))
    assert set(weeks.tolist()) == {5}
    assert forecast_weeks(10, [2, 2, 2, 2], 10_000, np.random.default_rng(0)) == {50: 5, 85: 5, 95: 5}
    assert forecast_weeks(9, [2] * 12, 10_000, np.random.default_rng(0)) == {50: 5, 85: 5, 95: 5}


def test_percentiles_follow_the_exact_distribution():
    # Four items, each week finishes all four with probability 3/4 (draws from [0, 4, 4, 4]):
    # P(W <= 1) = 0.75, P(W <= 2) = 0.9375, P(W <= 3) = 0.984375.
    weeks = simulate_weeks(4, [0, 4, 4, 4], 10_000, np.random.default_rng(3))
    assert abs(np.mean(weeks == 1) - 0.75) < 0.02
    assert abs(np.mean(weeks <= 2) - 0.9375) < 0.01
    assert forecast_weeks(4, [0, 4, 4, 4], 10_000, np.random.default_rng(3)) == {50: 1, 85: 2, 95: 3}


def test_nothing_finished_means_no_forecast_and_nothing_left_means_zero_weeks():
    assert forecast_weeks(3, [0, 0, 0], 1_000, np.random.default_rng(0)) == {50: None, 85: None, 95: None}
    assert set(simulate_weeks(3, [0, 0], 100, np.random.default_rng(0)).tolist()) == {MAX_WEEKS + 1}
    assert set(simulate_weeks(0, [1], 100, np.random.default_rng(0)).tolist()) == {0}


def test_seeded_runs_repeat_and_each_parent_has_its_own_stream():
    first = simulate_weeks(30, [0, 1, 3, 2], 10_000, parent_rng(7, "EPIC-1"))
    again = simulate_weeks(30, [0, 1, 3, 2], 10_000, parent_rng(7, "EPIC-1"))
    other = simulate_weeks(30, [0, 1, 3, 2], 10_000, parent_rng(7, "EPIC-2"))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_weekly_throughput_counts_seven_day_periods_ending_now():
    done = [AS_OF, AS_OF - timedelta(days=7), AS_OF - timedelta(days=7, seconds=1),
            AS_OF - timedelta(days=20), AS_OF - timedelta(days=21), AS_OF - timedelta(days=21, seconds=1),
            AS_OF + timedelta(seconds=1)]
    # Oldest first: (now-21d, now-14d] holds now-20d; (now-14d, now-7d] holds now-7d and
    # now-7d-1s; (now-7d, now] holds now. Exactly 21 days back, and the future, are outside.
    assert weekly_throughput(done, AS_OF, 3) == [1, 2, 1]


def _flow(key, category, parent=None, done_at=None):
    start = AS_OF - timedelta(days=60)
    status = {NEW: "To Do", IN_PROGRESS: "In Progress", DONE: "Done"}[category]
    return IssueFlow(IssueRecord(key, start, status, f"summary {key}", "Story", parent),
                     (Segment(status, category, start, None),), None, done_at, None, None, 0, 0)


def test_rollup_counts_children_and_forecasts_at_the_parent_pace():
    flows = [_flow("E-1", IN_PROGRESS)]
    # Two children done in each of the last four weeks, then ten left: exactly five weeks.
    for week in range(4):
        for n in range(2):
            flows.append(_flow(f"D-{week}{n}", DONE, "E-1", AS_OF - timedelta(days=7 * week + 1)))
    flows += [_flow(f"T-{n}", NEW, "E-1") for n in range(7)]
    flows += [_flow(f"P-{n}", IN_PROGRESS, "E-1") for n in range(3)]
    flows += [_flow("X-1", DONE, "E-2", AS_OF - timedelta(days=1))]  # a finished epic not in the data
    frame = rollup(flows, AS_OF, weeks=4, trials=10_000, seed=1).set_index("parent_key")
    epic = frame.loc["E-1"]
    assert (epic.children, epic.children_done, epic.children_in_progress, epic.children_to_do,
            epic.remaining) == (18, 8, 3, 7, 10)
    assert list(epic.weekly_throughput) == [2, 2, 2, 2]
    assert (epic.p50_weeks, epic.p85_weeks, epic.p95_weeks) == (5, 5, 5)
    assert epic.p85_date == date(2024, 7, 10)  # 5 June + 35 days
    assert epic.summary == "summary E-1"
    finished = frame.loc["E-2"]
    assert (finished.remaining, finished.note, finished.summary) == (0, "all children done", None)


@pytest.mark.parametrize("trials", [1, 7])
def test_small_trial_counts_still_give_percentiles(trials):
    assert forecast_weeks(2, [1], trials, np.random.default_rng(0)) == {50: 2, 85: 2, 95: 2}


def test_weeks_before_the_work_began_do_not_count_as_zero_pace():
    done = [AS_OF - timedelta(days=1), AS_OF - timedelta(days=8)]
    assert weekly_throughput(done, AS_OF, 4) == [0, 0, 1, 1]
    # The first child was created 10 days ago: only two periods end after that.
    assert weekly_throughput(done, AS_OF, 4, since=AS_OF - timedelta(days=10)) == [1, 1]
    assert weekly_throughput(done, AS_OF, 4, since=AS_OF - timedelta(days=14)) == [1, 1]
    assert weekly_throughput([], AS_OF, 4, since=AS_OF - timedelta(hours=1)) == [0]
