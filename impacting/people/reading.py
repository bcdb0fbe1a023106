"""What a team should read of a request: the passages behind its score, and the sections they
are in.

The team model exposes each passage's support for a team
(:func:`~impacting.triage.teams.passage_support`: its log-odds under the embedding model, whose
document score is the mean of its passages'). A passage *drives* the score when its support is
above the request's mean: it pulls the average up. Per section (a document's heading path down
to the deepest heading, or the description), the excess support of its passages is summed; the
sections holding the most of it are the ones to read, until they hold `COVER` of the request's
excess or `MAX_SECTIONS` are chosen. A 25,000-word document then becomes "read Design Details ›
Volume Topology and Proposal". Template sentences never count: every document has them.

The quoted passages are the ones the team's reason quotes
(:func:`~impacting.triage.predict.supporting_passages`), so the brief and the reason agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from impacting.language.chunking import Chunk
from impacting.triage.predict import supporting_passages
from impacting.triage.teams import TeamModel, passage_support

# Sections holding this share of the request's excess support are enough to read...
COVER = 0.5
# ...and never more than this many: a lead reads two or three sections, not ten.
MAX_SECTIONS = 3
QUOTES = 2
QUOTE_CHARS = 300
OPENING = "(before the first heading)"
DESCRIPTION = "description"   # how the Jira description is named among a request's documents


@dataclass(frozen=True)
class Quote:
    """A sentence of the request that pushes its score for a team up."""

    text: str
    document: str     # the file name, or "description"
    section: str      # the heading path, "A › B", or "" when it has none


@dataclass(frozen=True)
class SectionToRead:
    document: str
    section: str      # the heading path, "A › B"
    words: int        # its prose words


@dataclass(frozen=True)
class TeamEvidence:
    """The quotes and the sections to read for one team of one request."""

    quotes: tuple[Quote, ...]
    sections: tuple[SectionToRead, ...]
    request_words: int      # prose words of the whole request

    @property
    def section_words(self) -> int:
        return sum(s.words for s in self.sections)

    @property
    def share(self) -> float:
        """Share of the request's prose words the sections to read hold (0..1)."""
        return self.section_words / self.request_words if self.request_words else 0.0


def section_labels(passages: Sequence[Chunk], documents: Mapping[str, str] | None = None) -> list[str]:
    """Each passage's section as a reader finds it: its heading path below the document's title
    (a single top heading holding the whole document, as a design document's title does).
    Text before a document's first heading is `OPENING`, but the description (named
    `DESCRIPTION` in `documents`) needs no label."""
    description = {i for i, name in (documents or {}).items() if name == DESCRIPTION}
    roots: dict[str, set[str]] = {}
    for chunk in passages:
        roots.setdefault(chunk.document_id, set()).add(chunk.section[0] if chunk.section else "")
    labels = []
    for chunk in passages:
        path = chunk.section
        one_title = len(roots[chunk.document_id]) == 1 and len(path) > 1
        shown = path[1:] if one_title else path
        labels.append(" › ".join(shown) if shown else "" if chunk.document_id in description
                      else OPENING)
    return labels


def team_evidence(passages: Sequence[Chunk], support: np.ndarray,
                  documents: Mapping[str, str], template: frozenset[str] = frozenset(),
                  labels: Sequence[str] | None = None) -> TeamEvidence:
    """The quotes and sections to read for one team, from its per-passage `support` (aligned
    with `passages`). `documents` names each document id as a reader knows it (its file name);
    `labels`: :func:`section_labels` of `passages`, when already computed for another team."""
    labels = section_labels(passages, documents) if labels is None else labels
    words = np.array([c.words for c in passages], dtype=np.float64)
    total_words = int(words.sum())
    support = np.asarray(support, dtype=np.float64)
    if not len(passages) or len(support) != len(passages):
        return TeamEvidence((), (), total_words)

    def document(chunk: Chunk) -> str:
        return documents.get(chunk.document_id, chunk.document_id)

    quotes = tuple(Quote(_clip(passages[k].text), document(passages[k]), labels[k])
                   for k in supporting_passages(passages, support, template, QUOTES))
    counted = np.array([c.sha256 not in template for c in passages])
    if not counted.any():
        return TeamEvidence(quotes, (), total_words)
    excess = np.where(counted, np.maximum(support - support[counted].mean(), 0.0), 0.0)
    sections: dict[tuple[str, str], list[int]] = {}
    for k, chunk in enumerate(passages):
        sections.setdefault((chunk.document_id, labels[k]), []).append(k)
    mass = {key: float(excess[members].sum()) for key, members in sections.items()}
    total = sum(mass.values())
    if total <= 0:
        return TeamEvidence(quotes, (), total_words)
    ranked = sorted(sections, key=lambda key: (-mass[key], words[sections[key]].sum()))
    chosen: list[tuple[str, str]] = []
    held = 0.0
    for key in ranked:
        if held >= COVER * total or len(chosen) >= MAX_SECTIONS or mass[key] <= 0:
            break
        chosen.append(key)
        held += mass[key]
    order = list(sections)  # document order
    picked = tuple(
        SectionToRead(document(passages[sections[key][0]]), key[1], int(words[sections[key]].sum()))
        for key in sorted(chosen, key=order.index))
    return TeamEvidence(quotes, picked, total_words)


def teams_evidence(model: TeamModel, passages: Sequence[Chunk], vectors: np.ndarray,
                   teams: Iterable[str], documents: Mapping[str, str],
                   template: frozenset[str] = frozenset()) -> dict[str, TeamEvidence]:
    """:func:`team_evidence` for each of `teams` the model knows (a team only a person named has
    no support to show), from one request's passages and their vectors."""
    labels = section_labels(passages, documents)
    template = model.template | template
    return {team: team_evidence(passages, passage_support(model, vectors, team), documents,
                                template, labels)
            for team in dict.fromkeys(teams) if team in model.teams}


def _clip(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1].rstrip() + "…"
