"""The impact brief: everything one page says about one request, as frozen data.

A :class:`Brief` is made once (nightly from the warehouse by `people.nightly`, on demand by
`people.on_demand`), stored as JSON in the `briefs` table, and rendered as Markdown and HTML
from that same data. :meth:`Brief.to_dict` is also what `impacting triage --format json` prints:
its keys `executive_summary`, `summary`, `keywords`, `teams` (each with `team`, `probability`,
`decision`, `reason`, `sections`), `similar` (each with `key`, `title`, `score`, `teams`,
`people`) and `model` are a promise to scripts that read it.

Every section of a brief either has content or says why it is empty (`why_empty`), so a reader
never wonders whether something failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from impacting.people.reading import Quote, SectionToRead
from impacting.triage.metrics import NOT_NOTIFIED, NOTIFY, UNSURE

# The brief's sections, in page order; `why_empty` is keyed by these.
EXECUTIVE_SUMMARY, KEYWORDS, TEAMS, UNSURE_TEAMS, OTHER_TEAMS = (
    "executive_summary", "keywords", "teams", "unsure", "other_teams")
SIMILAR, SUMMARY, DOCUMENTS, MODEL = "similar", "summary", "documents", "model"
SECTIONS = (EXECUTIVE_SUMMARY, KEYWORDS, TEAMS, UNSURE_TEAMS, OTHER_TEAMS, SIMILAR, SUMMARY,
            DOCUMENTS, MODEL)


@dataclass(frozen=True)
class TeamBrief:
    """One team's line: its probability, the decision, why, and what it should read."""

    team: str
    probability: float | None     # None: a team only a person named, unknown to the model
    decision: str                 # notify / unsure / not_notified
    threshold: float | None       # the team's notify threshold
    unsure_threshold: float | None
    reason: str                   # `team_predictions.reason`, one line
    decided_by: str = "model"     # or "feedback"
    similar: tuple[str, ...] = ()  # this request's similar past projects that involved the team
    quotes: tuple[Quote, ...] = ()
    sections: tuple[SectionToRead, ...] = ()
    section_share: float | None = None  # share of the request's prose the sections hold


@dataclass(frozen=True)
class SimilarBrief:
    """A similar past project: what it was, who delivered it, how it ended and how long it took."""

    key: str
    title: str
    score: float
    teams: tuple[str, ...]
    people: tuple[str, ...]
    url: str | None = None
    status: str | None = None
    resolution: str | None = None
    took: str | None = None        # e.g. "cycle time 120 days", or why there is none
    why: str | None = None         # the closest pair of sentences


@dataclass(frozen=True)
class DocumentNote:
    """A document of the request: read, or not and what to do about it."""

    name: str
    format: str | None
    words: int | None
    status: str                    # ok / skipped / failed
    problem: str | None = None     # what is wrong and how to fix it


@dataclass(frozen=True)
class ModelNote:
    version: str
    trained_at: str | None
    cv_notify_recall: float | None
    # Set when the history is too short for the recall target within the reading budget: the
    # model's own words (its metrics' `history.message`), shown above the teams.
    history_note: str | None = None


@dataclass(frozen=True)
class Brief:
    """One request's brief. Text fields hold text as it came from Jira and the documents:
    renderers escape it."""

    key: str
    title: str
    url: str | None
    status: str | None
    created: str | None            # ISO timestamp
    reporter: str | None
    executive_summary: str
    summary: str
    summary_degree: str
    read_from: tuple[str, ...]     # what the summaries read, main design document first
    words: int                     # prose words of the whole request
    keywords: tuple[str, ...]
    teams: tuple[TeamBrief, ...]   # every team, most likely first
    similar: tuple[SimilarBrief, ...]
    documents: tuple[DocumentNote, ...]
    model: ModelNote | None
    generated_at: str              # ISO timestamp, UTC
    why_empty: Mapping[str, str] = field(default_factory=dict)
    theme: str | None = None

    def with_decision(self, decision: str) -> tuple[TeamBrief, ...]:
        return tuple(t for t in self.teams if t.decision == decision)

    @property
    def notified(self) -> tuple[TeamBrief, ...]:
        return self.with_decision(NOTIFY)

    @property
    def unsure(self) -> tuple[TeamBrief, ...]:
        return self.with_decision(UNSURE)

    @property
    def others(self) -> tuple[TeamBrief, ...]:
        return self.with_decision(NOT_NOTIFIED)

    def to_dict(self) -> dict[str, Any]:
        """The brief as plain JSON-ready data (see the module docstring for the promised keys)."""
        data = asdict(self)
        data["why_empty"] = dict(self.why_empty)
        data["model"] = None if self.model is None else asdict(self.model)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Brief:
        """The brief :meth:`to_dict` made (unknown keys are ignored, so older rows still read)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["teams"] = tuple(_team(t) for t in data.get("teams") or ())
        values["similar"] = tuple(_build(SimilarBrief, s, teams=tuple, people=tuple)
                                  for s in data.get("similar") or ())
        values["documents"] = tuple(_build(DocumentNote, d) for d in data.get("documents") or ())
        values["model"] = _build(ModelNote, data["model"]) if data.get("model") else None
        values["keywords"] = tuple(data.get("keywords") or ())
        values["read_from"] = tuple(data.get("read_from") or ())
        values["why_empty"] = dict(data.get("why_empty") or {})
        return cls(**values)


def _build(cls, data: Mapping[str, Any], **convert):
    known = {f.name for f in fields(cls)}
    return cls(**{k: convert[k](v) if k in convert and v is not None else v
                  for k, v in data.items() if k in known})


def _team(data: Mapping[str, Any]) -> TeamBrief:
    return _build(TeamBrief, data, similar=tuple,
                  quotes=lambda items: tuple(_build(Quote, q) for q in items),
                  sections=lambda items: tuple(_build(SectionToRead, s) for s in items))
