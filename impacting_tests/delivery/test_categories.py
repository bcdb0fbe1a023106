"""Where a status's category comes from: configuration, Jira's status list, the issues, a fallback."""

import pytest

from impacting.delivery.categories import (
    ORIGIN_CONFIGURATION,
    ORIGIN_FALLBACK,
    ORIGIN_ISSUES,
    ORIGIN_JIRA,
    parse_category,
    resolve_categories,
)


def test_each_layer_overrides_the_ones_below():
    resolved = resolve_categories(
        ["Review", "Parked", "In Progress", "Ready", "Mystery"],
        overrides={"parked": "new"},
        jira_statuses=[("Review", "indeterminate"), ("Parked", "done"), ("In Progress", "new")],
        current_statuses=[("In Progress", "indeterminate"), ("Parked", "indeterminate")],
    )
    assert {s: (resolved.category(s), resolved.origin(s)) for s in
            ["Review", "Parked", "In Progress", "Ready", "Mystery"]} == {
        "Review": ("indeterminate", ORIGIN_JIRA),
        "Parked": ("new", ORIGIN_CONFIGURATION),
        "In Progress": ("new", ORIGIN_JIRA),  # Jira's list beats the issues' own
        "Ready": ("new", ORIGIN_FALLBACK),     # a usual Jira name
        "Mystery": ("indeterminate", ORIGIN_FALLBACK),
    }
    assert [p for p in resolved.problems if "Mystery" in p]
    assert not [p for p in resolved.problems if "Ready" in p]


def test_names_match_whatever_their_case_and_spacing():
    resolved = resolve_categories(["in  review"], overrides={"In Review": "done"})
    assert resolved.category("IN REVIEW") == "done"
    assert resolved.name("in review") == "in  review".strip()


def test_conflicting_categories_take_the_majority_and_say_so():
    resolved = resolve_categories(
        ["Review"], current_statuses=[("Review", "done"), ("Review", "indeterminate"), ("Review", "done")])
    assert (resolved.category("Review"), resolved.origin("Review")) == ("done", ORIGIN_ISSUES)
    assert any("several categories" in p for p in resolved.problems)


@pytest.mark.parametrize("text, key", [("done", "done"), ("To Do", "new"), ("in progress", "indeterminate"),
                                       ("InProgress", "indeterminate"), ("indeterminate", "indeterminate"),
                                       ("to-do", "new"), ("finished", None)])
def test_category_names_in_configuration(text, key):
    assert parse_category(text) == key
