"""The people who delivered similar work: the project's and its delivery work's assignees,
ranked by how much of it they did, without people who have moved on."""

from datetime import UTC, datetime

import pandas as pd

from impacting.people.experts import rank_experts, workforce_from

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def issue(key, assignee=None, parent=None, done=True, created="2024-01-10", resolved="2024-03-01",
          person_id=None):
    return {"key": key, "parent_key": parent, "assignee": assignee,
            "assignee_id": person_id or (assignee.lower().replace(" ", ".") if assignee else None),
            "status_category": "done" if done else "indeterminate",
            "created_at": pd.Timestamp(created, tz="UTC"),
            "resolved_at": pd.Timestamp(resolved, tz="UTC") if done and resolved else None,
            "updated_at": pd.Timestamp("2024-06-01", tz="UTC")}


ROWS = pd.DataFrame([
    # EPIC-1: owned by Olga, the work done by Dev (3 stories) and Sam (a sub-task under a story).
    issue("EPIC-1", "Olga Owner"),
    issue("S-1", "Dev Doer", "EPIC-1"), issue("S-2", "Dev Doer", "EPIC-1"),
    issue("S-3", "Dev Doer", "EPIC-1", done=False),
    issue("T-1", "Sam Subtask", "S-1"),
    # EPIC-2: Olga alone; EPIC-3: someone who left years ago.
    issue("EPIC-2", "Olga Owner"),
    issue("EPIC-3", "Gone Person", created="2019-01-01", resolved="2019-02-01"),
])


def test_the_people_who_did_the_work_under_a_similar_project_come_first():
    workforce = workforce_from(ROWS, {})
    experts = rank_experts([("EPIC-1", 0.8, "Volume health"), ("EPIC-2", 0.1, "Snapshots")],
                           workforce, inactive_days=365, limit=5)
    assert [e.name for e in experts] == ["Dev Doer", "Olga Owner", "Sam Subtask"]
    dev, olga, sam = experts
    assert dev.person_id == "dev.doer"
    # EPIC-1's work: 5 items, weights 1+1+1+0.5(unfinished)+1 = 4.5; Dev did 2.5 of it.
    assert round(dev.score, 4) == round(0.8 * 2.5 / 4.5, 4)
    assert dev.reason == "Dev Doer did 3 of 5 delivery items under EPIC-1 'Volume health' (similarity 0.80)"
    # Sam only worked on a sub-task under a story under the similar project: found all the same.
    assert sam.reason == \
        "Sam Subtask did 1 of 5 delivery items under EPIC-1 'Volume health' (similarity 0.80)"
    # Olga owned both epics but did none of EPIC-1's delivery work: behind Dev.
    assert [c.project_key for c in olga.contributions] == ["EPIC-1", "EPIC-2"]
    assert olga.reason == ("Olga Owner was the assignee of EPIC-1 'Volume health' (similarity 0.80); "
                           "was the assignee of EPIC-2 'Snapshots' (similarity 0.10)")


def test_people_inactive_for_longer_than_the_period_are_left_out():
    workforce = workforce_from(ROWS, {})
    similar = [("EPIC-3", 0.9, "Old work")]
    assert rank_experts(similar, workforce, inactive_days=365, limit=5) == []
    assert [e.name for e in rank_experts(similar, workforce, inactive_days=3650, limit=5)] == ["Gone Person"]
    # A status change they made recently counts as activity.
    active = workforce_from(ROWS, {"Gone Person": pd.Timestamp("2024-05-01", tz="UTC")})
    assert [e.name for e in rank_experts(similar, active, inactive_days=365, limit=5)] == ["Gone Person"]


def test_at_most_the_limit_and_nobody_for_projects_without_assignees():
    workforce = workforce_from(ROWS, {})
    assert len(rank_experts([("EPIC-1", 0.8, None)], workforce, 365, limit=1)) == 1
    empty = workforce_from(pd.DataFrame([issue("EPIC-9")]), {})
    assert rank_experts([("EPIC-9", 0.9, None)], empty, 365, 5) == []


def test_a_parent_loop_in_bad_data_does_not_hang():
    looped = pd.DataFrame([issue("A-1", "Ann", "A-2"), issue("A-2", "Bob", "A-1")])
    experts = rank_experts([("A-1", 0.5, None)], workforce_from(looped, {}), 365, 5)
    assert sorted(e.name for e in experts) == ["Ann", "Bob"]
