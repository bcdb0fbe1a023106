"""Flow metrics on awkward histories: each is handled and, where data is wrong, reported."""

from datetime import UTC, datetime, timedelta

from impacting.delivery.categories import resolve_categories
from impacting.delivery.flow import IssueRecord, Transition, replay, replay_all, weekly_flow

NOW = datetime(2024, 3, 20, 12, tzinfo=UTC)
CATEGORIES = resolve_categories(["To Do", "In Progress", "Done"], current_statuses=[
    ("To Do", "new"), ("In Progress", "indeterminate"), ("Done", "done")])


def day(n: int, hour: int = 9) -> datetime:
    return datetime(2024, 3, n, hour, tzinfo=UTC)


def test_a_change_at_the_very_moment_of_as_of_counts_in_the_current_week():
    issue = IssueRecord("A-1", day(18), "Done")
    flows, problems = replay_all([issue], {"A-1": [Transition(day(19), "To Do", "In Progress"),
                                                   Transition(NOW, "In Progress", "Done")]}, CATEGORIES, NOW)
    week = weekly_flow(flows, NOW).iloc[-1]
    assert (week.done, week.done_total, week.in_progress) == (1, 1, 0)
    assert flows[0].done_at == NOW and problems == []


def test_a_change_at_monday_midnight_belongs_to_the_new_week():
    issue = IssueRecord("A-2", day(13), "Done")
    flows, _ = replay_all([issue], {"A-2": [Transition(day(14), "To Do", "In Progress"),
                                            Transition(day(18, 0), "In Progress", "Done")]}, CATEGORIES, NOW)
    weeks = weekly_flow(flows, NOW)
    assert list(weeks["week"]) == ["2024-W11", "2024-W12"]
    assert list(weeks["in_progress"]) == [1, 0] and list(weeks["done"]) == [0, 1]


def test_changes_before_creation_are_counted_at_creation_and_reported():
    flow, problems = replay(IssueRecord("B-1", day(10), "In Progress"),
                            [Transition(day(9), "To Do", "In Progress")], CATEGORIES, NOW)
    assert flow.started_at == day(10)
    assert flow.segments[0].length(NOW) == timedelta(0)
    assert len(problems) == 1 and "B-1" in problems[0] and "earlier" in problems[0]


def test_a_changelog_that_ends_elsewhere_than_the_issue_is_reported():
    _, problems = replay(IssueRecord("C-1", day(10), "Done"),
                         [Transition(day(11), "To Do", "In Progress")], CATEGORIES, NOW)
    assert len(problems) == 1 and "incomplete" in problems[0] and "re-sync" in problems[0]


def test_done_without_any_date_has_no_lead_time_and_says_so():
    flow, problems = replay(IssueRecord("D-1", day(10), "Done"), [], CATEGORIES, NOW)
    assert flow.done_at is None and flow.lead_time is None
    assert len(problems) == 1 and "resolutiondate" in problems[0]


def test_as_of_in_the_past_shows_the_issue_as_it_stood_then():
    issue = IssueRecord("E-1", day(1), "Done", resolved_at=day(15))
    changes = [Transition(day(5), "To Do", "In Progress"), Transition(day(15), "In Progress", "Done")]
    flow, problems = replay(issue, changes, CATEGORIES, day(10))
    assert (flow.status, flow.done_at, flow.status_changes, problems) == ("In Progress", None, 1, [])
    assert flow.segments[-1].length(day(10)) == timedelta(days=5)
