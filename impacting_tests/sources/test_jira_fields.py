from datetime import UTC, datetime

import pytest

from impacting.sources.jira_fields import (
    PayloadError,
    field_filled_at,
    names,
    parse_jira_time,
    project_row,
    status_changes,
)
from impacting_tests.conftest import raw_fixture_issues


def _by_key(key):
    return next(r for r in raw_fixture_issues() if r["key"] == key)


@pytest.mark.parametrize("text, expected", [
    ("2015-01-31T10:25:00.000+0000", datetime(2015, 1, 31, 10, 25, tzinfo=UTC)),
    ("2015-01-31T12:25:00.000+0200", datetime(2015, 1, 31, 10, 25, tzinfo=UTC)),
    ("2015-01-31T05:25:00.000-0500", datetime(2015, 1, 31, 10, 25, tzinfo=UTC)),
    ("2015-01-31T10:25:00Z", datetime(2015, 1, 31, 10, 25, tzinfo=UTC)),
    ("2015-01-31", datetime(2015, 1, 31, tzinfo=UTC)),
    (None, None),
])
def test_jira_timestamps_become_utc(text, expected):
    assert parse_jira_time(text) == expected


def test_project_row_from_a_real_payload():
    raw = _by_key("AC-19")
    row = project_row(raw, base_url="https://jira.appcelerator.org")
    assert row["key"] == "AC-19" and row["project"] == "AC"
    assert row["summary"] == "Make the Android NDK warning/error on first setup less alarming"
    assert row["status"] == "Resolved" and row["status_category"] == "done"
    assert row["resolution"] == "Fixed"
    assert row["teams"] == ["Appcelerator CLI"] == row["components"]
    assert row["labels"] == ["alpha2", "setup"]
    assert row["assignee"] == "Tony Lukasavage" and row["assignee_id"] == "tlukasavage"
    assert row["resolved_at"] == datetime(2015, 2, 3, 14, 39, 53, tzinfo=UTC)
    assert row["url"] == "https://jira.appcelerator.org/browse/AC-19"
    # wiki markup became plain text; the {code} block survives as a fenced block
    assert "{code}" not in row["description"] and "Unable to locate an Android NDK." in row["description"]


def test_links_keep_type_direction_and_relation():
    raw = next(r for r in raw_fixture_issues() if len(r["fields"]["issuelinks"]) >= 2)
    row = project_row(raw)
    assert len(row["links"]) == len(raw["fields"]["issuelinks"])
    first = raw["fields"]["issuelinks"][0]
    direction = "outward" if "outwardIssue" in first else "inward"
    assert row["links"][0] == {"key": first[f"{direction}Issue"]["key"], "type": first["type"]["name"],
                               "direction": direction, "relation": first["type"][direction]}


def test_team_field_can_be_labels_or_a_custom_field():
    raw = {"key": "P-1", "fields": {"labels": ["team-a"], "customfield_10100": [
        {"value": "Payments"}, {"value": "Identity"}], "customfield_10200": {"name": "Search"}}}
    assert project_row(raw, team_field="labels")["teams"] == ["team-a"]
    assert project_row(raw, team_field="customfield_10100")["teams"] == ["Payments", "Identity"]
    assert project_row(raw, team_field="customfield_10200")["teams"] == ["Search"]
    assert project_row(raw, team_field="customfield_missing")["teams"] == []
    assert names([" a ", {"name": "a"}, None, 3]) == ["a"]


def test_url_falls_back_to_the_payload_self_link():
    raw = {"key": "P-1", "self": "https://acme.atlassian.net/rest/api/3/issue/1", "fields": {}}
    assert project_row(raw)["url"] == "https://acme.atlassian.net/browse/P-1"
    assert project_row({"key": "P-1", "fields": {}})["url"] is None


def test_status_changes_oldest_first_with_utc_times():
    raw = {"key": "P-1", "fields": {}, "changelog": {"histories": [
        {"id": "2", "created": "2024-01-03T10:00:00.000+0100", "author": {"displayName": "Bo"},
         "items": [{"field": "status", "fromString": "In Progress", "toString": "Done"},
                   {"field": "assignee", "fromString": "x", "toString": "y"}]},
        {"id": "1", "created": "2024-01-02T09:00:00.000+0000",
         "items": [{"field": "status", "fromString": "To Do", "toString": "In Progress"}]},
    ]}}
    changes = status_changes(raw)
    assert [(c["from_status"], c["to_status"]) for c in changes] == [
        ("To Do", "In Progress"), ("In Progress", "Done")]
    assert changes[1]["changed_at"] == datetime(2024, 1, 3, 9, tzinfo=UTC)
    assert changes[1]["author"] == "Bo"


def test_not_an_issue_is_a_clear_error():
    with pytest.raises(PayloadError, match="'key' and 'fields'"):
        project_row({"summary": "no key"})


def _issue(field: str, value, *changes) -> dict:
    """An issue created 2024-01-01 whose `field` is `value` now, with `changes` as changelog
    entries (time, from, to) on that field."""
    histories = [{"id": str(i), "created": at, "items": [
        {"field": {"components": "Component"}.get(field, field),
         "fieldId": field if field != "labels" else None,  # Server leaves it out for labels
         "fromString": before, "toString": after}]} for i, (at, before, after) in enumerate(changes)]
    return {"key": "REQ-1", "fields": {"created": "2024-01-01T09:00:00.000+0000", field: value},
            "changelog": {"histories": histories}}


def test_when_the_team_field_was_first_filled_in_comes_from_the_changelog():
    created = datetime(2024, 1, 1, 9, tzinfo=UTC)
    assert field_filled_at(_issue("components", []), "components") is None
    assert field_filled_at(_issue("components", [{"name": "Storage"}]), "components") == created
    # Added on 3 January, a second one on the 5th: first filled on the 3rd.
    later = _issue("components", [{"name": "Storage"}, {"name": "Node"}],
                   ("2024-01-05T10:00:00.000+0000", None, "Node"),
                   ("2024-01-03T10:00:00.000+0000", None, "Storage"))
    assert field_filled_at(later, "components") == datetime(2024, 1, 3, 10, tzinfo=UTC)
    # Storage was there from the start; Node was added and another removed later.
    from_start = _issue("components", [{"name": "Storage"}, {"name": "Node"}],
                        ("2024-01-05T10:00:00.000+0000", "Network", None),
                        ("2024-01-04T10:00:00.000+0000", None, "Node"))
    assert field_filled_at(from_start, "components") == created
    labels = _issue("labels", ["team-a"], ("2024-02-01T00:00:00.000+0000", "", "team-a"))
    assert field_filled_at(labels, "labels") == datetime(2024, 2, 1, tzinfo=UTC)
    custom = _issue("customfield_10100", [{"value": "Team A"}],
                    ("2024-01-02T00:00:00.000+0000", None, "Team B"),
                    ("2024-01-06T00:00:00.000+0000", "Team B", "Team A"))
    assert field_filled_at(custom, "customfield_10100") == datetime(2024, 1, 2, tzinfo=UTC)
    assert project_row(later)["teams_set_at"] == datetime(2024, 1, 3, 10, tzinfo=UTC)
