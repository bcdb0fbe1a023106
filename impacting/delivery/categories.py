"""Which status category (To Do, In Progress, Done) each status name belongs to.

A changelog names statuses, not their categories, so every flow metric depends on this map.
Each status gets its category from the first of these that knows it:

1. configuration (`delivery.status_categories`), so a team can correct Jira;
2. Jira's status list (`GET /rest/api/2/status`), which a live source stores in
   `raw.jira_statuses`;
3. the issues themselves: the category Jira sent with each issue's current status;
4. a fallback for a status nothing above knows (one that appears only in old changelogs):
   Jira's usual names (`Open`, `Backlog`, `Closed`, `Resolved`, ...) get the category Jira gives
   them; any other name counts as in progress, and is reported so someone can confirm it.

Status names are compared case- and space-insensitively ("In  progress" is "In Progress").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# The vocabulary is declared with the setting that uses it; re-exported for the delivery stage.
from impacting.settings import CATEGORY_LABELS as CATEGORY_LABELS
from impacting.settings import DONE as DONE
from impacting.settings import IN_PROGRESS as IN_PROGRESS
from impacting.settings import NEW as NEW
from impacting.settings import normalise_status as normalise
from impacting.settings import parse_category as parse_category
from impacting.settings import var

CATEGORIES = (NEW, IN_PROGRESS, DONE)

ORIGIN_CONFIGURATION = "configuration"
ORIGIN_JIRA = "jira status list"
ORIGIN_ISSUES = "issues' current status"
ORIGIN_FALLBACK = "fallback"

# Names Jira's default workflows use, with the category Jira ships them in.
FALLBACK_NAMES = {
    NEW: ("open", "to do", "todo", "backlog", "new", "selected for development", "reopened",
          "ready", "triage"),
    DONE: ("done", "closed", "resolved", "released", "complete", "completed", "cancelled",
           "canceled", "won't do", "wont do", "rejected", "declined", "duplicate"),
}


@dataclass(frozen=True)
class StatusCategories:
    """The resolved map: category and origin for every status name seen."""

    categories: Mapping[str, str]          # normalised name -> category key
    origins: Mapping[str, str]             # normalised name -> where the category came from
    display: Mapping[str, str]             # normalised name -> name as Jira spells it
    problems: tuple[str, ...] = field(default=())

    def category(self, status: str | None) -> str:
        if status is None:
            return IN_PROGRESS
        return self.categories.get(normalise(status)) or _fallback(normalise(status))

    def origin(self, status: str) -> str:
        return self.origins.get(normalise(status), ORIGIN_FALLBACK)

    def name(self, status: str) -> str:
        return self.display.get(normalise(status), status)


def _fallback(name: str) -> str:
    for category, names in FALLBACK_NAMES.items():
        if name in names:
            return category
    return IN_PROGRESS


def _majority(pairs: Iterable[tuple[str, str]], what: str,
              problems: list[str]) -> dict[str, str]:
    """name -> category; a name listed under several categories takes the most common one."""
    votes: dict[str, Counter] = defaultdict(Counter)
    for name, category in pairs:
        if name and category in CATEGORIES:
            votes[normalise(name)][category] += 1
    out = {}
    for name, counter in votes.items():
        # Ties go to the earliest category in workflow order, so the choice is stable.
        best = max(CATEGORIES, key=lambda c: (counter[c], -CATEGORIES.index(c)))
        if len(counter) > 1:
            problems.append(
                f"status {name!r} has several categories in {what} "
                f"({', '.join(f'{c}: {n}' for c, n in sorted(counter.items()))}); using {best!r}. "
                f"Set {var('delivery.status_categories')} to choose"
            )
        out[name] = best
    return out


def resolve_categories(statuses: Iterable[str], *, overrides: Mapping[str, str] | None = None,
                       jira_statuses: Iterable[tuple[str, str]] = (),
                       current_statuses: Iterable[tuple[str, str]] = ()) -> StatusCategories:
    """Category and origin for every name in `statuses`, by the precedence in the module doc.

    `jira_statuses` and `current_statuses` are (status name, category key) pairs, from
    `raw.jira_statuses` and from the issues' current statuses respectively.
    """
    problems: list[str] = []
    layers = [
        (ORIGIN_CONFIGURATION, {normalise(k): v for k, v in (overrides or {}).items()}),
        (ORIGIN_JIRA, _majority(jira_statuses, "Jira's status list", problems)),
        (ORIGIN_ISSUES, _majority(current_statuses, "the issues' current statuses", problems)),
    ]
    categories: dict[str, str] = {}
    origins: dict[str, str] = {}
    display: dict[str, str] = {}
    unknown: list[str] = []
    for status in statuses:
        if not status:
            continue
        name = normalise(status)
        display.setdefault(name, str(status).strip())
        if name in categories:
            continue
        for origin, mapping in layers:
            if name in mapping:
                categories[name], origins[name] = mapping[name], origin
                break
        else:
            categories[name], origins[name] = _fallback(name), ORIGIN_FALLBACK
            if not any(name in names for names in FALLBACK_NAMES.values()):
                unknown.append(display[name])
    for status in sorted(unknown):
        problems.append(
            f"status {status!r} has no known category (not in Jira's status list, no issue is in "
            "it now); counted as In Progress. To change that, add it to "
            f"{var('delivery.status_categories')}, e.g. '{status}=done'"
        )
    return StatusCategories(categories, origins, display, tuple(problems))
