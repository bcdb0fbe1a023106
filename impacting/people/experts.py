"""The people who really delivered similar past work, ranked by how much of it they did.

A past project's work is the project itself and the delivery work under it: its stories,
tasks and sub-tasks (`projects.parent_key`, followed down any depth). Each item counts for its
assignee: a finished one fully, an unfinished one half. A person's score for a request is,
over the request's similar past projects, the similarity times their share of that project's
work. So the person who did most of the most similar project comes first, and someone who only
worked on the tasks under a similar project is found too (the project's own assignee is often
just whoever owns the epic).

People with no activity for longer than `inactive_days` (no assigned work created or resolved,
no status change made) before the newest update in the warehouse are left out: they have
probably moved on. The warehouse's newest update, not the wall clock, is "now", so an export
taken months ago ranks the way it would have then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from impacting.warehouse.store import missing_as_none
from impacting.warehouse.tables import PROJECTS, SIMILAR_PROJECTS, STATUS_CHANGES

DONE = "done"
UNFINISHED_WEIGHT = 0.5


@dataclass(frozen=True)
class WorkItem:
    key: str
    assignee: str | None
    assignee_id: str | None
    done: bool

    @property
    def weight(self) -> float:
        return 1.0 if self.done else UNFINISHED_WEIGHT

    @property
    def person(self) -> str | None:
        return self.assignee_id or self.assignee


@dataclass(frozen=True)
class Contribution:
    """What one person did on one similar past project."""

    project_key: str
    title: str | None
    similarity: float
    items: int             # items of the project's work assigned to them
    total: int             # items of the project's work assigned to anyone
    share: float           # their weighted share of that work (0..1)
    own_project: bool      # they were the project's own assignee

    def describe(self) -> str:
        title = f" {self.title!r}" if self.title else ""
        if self.own_project and self.items == 1:
            did = "was the assignee of"
        elif self.own_project:
            did = f"was the assignee of, and did {self.items} of {self.total} items of,"
        else:
            did = f"did {self.items} of {self.total} delivery items under"
        return f"{did} {self.project_key}{title} (similarity {self.similarity:.2f})"


@dataclass(frozen=True)
class Expert:
    name: str
    person_id: str | None
    score: float
    contributions: tuple[Contribution, ...]
    last_active: datetime | None

    @property
    def reason(self) -> str:
        shown = "; ".join(c.describe() for c in self.contributions[:3])
        more = len(self.contributions) - 3
        return f"{self.name} {shown}" + (f"; and {more} more similar project(s)" if more > 0 else "")


@dataclass(frozen=True)
class Workforce:
    """Every past project's delivery work, and when each person was last active."""

    work: Mapping[str, Sequence[WorkItem]]        # project key -> the project and its descendants
    names: Mapping[str, str]                      # person (id or name) -> display name
    last_active: Mapping[str, datetime]           # person -> last activity
    as_of: datetime | None                        # the warehouse's newest update

    def active(self, person: str, inactive_days: float) -> bool:
        if self.as_of is None:
            return True
        seen = self.last_active.get(person)
        return seen is not None and seen >= self.as_of - timedelta(days=inactive_days)


def rank_experts(similar: Iterable[tuple[str, float, str | None]], workforce: Workforce,
                 inactive_days: float, limit: int) -> list[Expert]:
    """The people who delivered the similar past projects `(key, similarity, title)` of one
    request, best first, at most `limit`, active ones only."""
    scores: dict[str, float] = defaultdict(float)
    done: dict[str, list[Contribution]] = defaultdict(list)
    for key, similarity, title in similar:
        items = [i for i in workforce.work.get(key, ()) if i.person]
        total = sum(i.weight for i in items)
        if not total:
            continue
        for person in dict.fromkeys(i.person for i in items):
            mine = [i for i in items if i.person == person]
            share = sum(i.weight for i in mine) / total
            done[person].append(Contribution(key, title, float(similarity), len(mine), len(items),
                                             share, any(i.key == key for i in mine)))
            scores[person] += float(similarity) * share
    ranked = []
    for person, score in scores.items():
        if not workforce.active(person, inactive_days):
            continue
        contributions = tuple(sorted(done[person], key=lambda c: -c.similarity * c.share))
        ranked.append(Expert(workforce.names.get(person, person),
                             person if person != workforce.names.get(person, person) else None,
                             score, contributions, workforce.last_active.get(person)))
    ranked.sort(key=lambda e: (-e.score, -sum(c.items for c in e.contributions), e.name))
    return ranked[:limit]


def load_workforce(con: duckdb.DuckDBPyConnection) -> Workforce:
    """Every issue's place under its project, assignees and activity, from `projects` and
    `status_changes`."""
    rows = con.execute(f"SELECT key, parent_key, assignee, assignee_id, status_category, created_at, "
                       f"resolved_at, updated_at FROM {PROJECTS.qualified}").df()
    changes = con.execute(f"SELECT author, max(changed_at) FROM {STATUS_CHANGES.qualified} "
                          f"WHERE author IS NOT NULL GROUP BY author").fetchall()
    return workforce_from(rows, dict(changes))


def workforce_from(rows: pd.DataFrame, changes_by_author: Mapping[str, datetime]) -> Workforce:
    items, children = {}, defaultdict(list)
    names: dict[str, str] = {}
    last: dict[str, datetime] = {}
    for row in rows.itertuples(index=False):
        name, person_id = missing_as_none(row.assignee), missing_as_none(row.assignee_id)
        item = WorkItem(row.key, name, person_id, row.status_category == DONE)
        items[row.key] = item
        parent = missing_as_none(row.parent_key)
        if parent:
            children[parent].append(row.key)
        if item.person:
            names[item.person] = name or item.person
            for moment in (row.created_at, row.resolved_at):
                _later(last, item.person, moment)
    by_name = {name: person for person, name in names.items()}
    for author, moment in changes_by_author.items():
        _later(last, by_name.get(author, author), moment)
    work = {key: [items[k] for k in _descendants(key, children) if k in items] for key in items}
    newest = pd.to_datetime(rows["updated_at"], utc=True).max() if len(rows) else None
    as_of = None if newest is None or pd.isna(newest) else newest.to_pydatetime()
    return Workforce(work, names, last, as_of)


def _descendants(key: str, children: Mapping[str, list[str]]) -> list[str]:
    out, queue, seen = [], [key], {key}
    while queue:
        current = queue.pop(0)
        out.append(current)
        for child in children.get(current, ()):
            if child not in seen:  # a parent loop in bad data must not hang the run
                seen.add(child)
                queue.append(child)
    return out


def _later(last: dict[str, datetime], person: str, moment) -> None:
    if moment is None or pd.isna(moment):
        return
    moment = pd.Timestamp(moment)
    moment = (moment.tz_localize("UTC") if moment.tzinfo is None else moment).to_pydatetime()
    if person not in last or moment > last[person]:
        last[person] = moment


def experts_by_request(con: duckdb.DuckDBPyConnection, inactive_days: float,
                       limit: int) -> dict[str, list[Expert]]:
    """For every request with similar past projects (`similar_projects`), its ranked experts."""
    if limit <= 0:
        return {}
    similar = con.execute(f"SELECT request_key, similar_key, score, summary "
                          f"FROM {SIMILAR_PROJECTS.qualified} ORDER BY request_key, rank").fetchall()
    if not similar:
        return {}
    workforce = load_workforce(con)
    by_request: dict[str, list[tuple[str, float, str | None]]] = defaultdict(list)
    for request_key, key, score, title in similar:
        by_request[request_key].append((key, float(score), title))
    return {key: ranked for key, matches in by_request.items()
            if (ranked := rank_experts(matches, workforce, inactive_days, limit))}
