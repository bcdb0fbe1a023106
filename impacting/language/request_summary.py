"""One summary of a whole request: its description and its documents read as one text.

A request often arrives as a short Jira description plus one or more attached design documents.
A reader wants one executive summary of the request, not one per file, and the design document
is where the substance is. So the parts are read in this order: the main design document (the
one with the most prose; the first attached on a tie), then the description, then the other
documents in attach order. The extractive method (or the abstractive one, when configured) then
runs once over that sequence, with each part as a main section: its position bonus favours the
main document's opening, and section balance lets a long enough summary draw on every part. With
a single part the result is exactly that part's own summary.

Nothing here embeds text that the pipeline has not embedded already: the passages and their
vectors come from the triage corpus (or, on demand, from the embedding cache).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np

from impacting.language.analysis import EXECUTIVE, STANDARD, LanguageConfig, summarise_chunks
from impacting.language.chunking import Chunk
from impacting.language.summarise import Degree, Summary


@dataclass(frozen=True)
class Part:
    """One part of a request: its description or one document, as prose passages and vectors."""

    part_id: str                 # a document id, or `<key>/description`
    passages: tuple[Chunk, ...]
    vectors: np.ndarray          # one row per passage

    @property
    def words(self) -> int:
        return sum(c.words for c in self.passages)


@dataclass(frozen=True)
class RequestSummaries:
    """The request's executive and standard summaries, and what they were read from."""

    summaries: dict[str, Summary]        # EXECUTIVE and STANDARD; chunk indexes unused
    parts: tuple[str, ...]               # part ids in reading order
    sentences: dict[str, tuple[str, ...]]  # per kind: `<part id>:<chunk index>`, reading order
    words: int                           # prose words of all parts


def split_parts(passages: Sequence[Chunk], vectors: np.ndarray) -> list[Part]:
    """A request's passages (description first, then its documents, as triage reads them)
    grouped into parts by the document they come from, in their order."""
    order: dict[str, list[int]] = {}
    for position, chunk in enumerate(passages):
        order.setdefault(chunk.document_id, []).append(position)
    vectors = np.asarray(vectors, dtype=np.float32)
    return [Part(part_id, tuple(passages[i] for i in positions), vectors[positions])
            for part_id, positions in order.items()]


def reading_order(parts: Sequence[Part], description_id: str | None = None) -> list[Part]:
    """The main design document first (most prose words; the earlier part on a tie), then the
    description, then the other documents in their order. Parts without prose are left out."""
    parts = [p for p in parts if p.passages]
    documents = [p for p in parts if p.part_id != description_id]
    if not documents:
        return parts
    main = max(documents, key=lambda p: (p.words, -documents.index(p)))
    description = [p for p in parts if p.part_id == description_id]
    return [main, *description, *(p for p in documents if p is not main)]


def summarise_request(parts: Sequence[Part], config: LanguageConfig, skip: Collection[str] = (),
                      title_vector: np.ndarray | None = None,
                      standard: Degree | None = None) -> RequestSummaries:
    """The executive and standard summaries of `parts` (already in reading order), in one pass
    each over all of them. `skip`: template sentences (SHA-256) never to choose; `standard`: the
    standard summary's length when not the configured one (e.g. `impacting triage --words`)."""
    combined: list[Chunk] = []
    origin: list[str] = []
    for part in parts:
        for chunk in part.passages:
            # Renumbered so chosen positions map back, and placed under their part so that each
            # part is one main section of the whole when there are several.
            section = (part.part_id, *chunk.section) if len(parts) > 1 else chunk.section
            combined.append(replace(chunk, index=len(combined), section=section))
            origin.append(f"{part.part_id}:{chunk.index}")
    vectors = np.vstack([p.vectors for p in parts]) if parts else np.zeros((0, 1), np.float32)
    degrees = {EXECUTIVE: config.executive, STANDARD: standard or config.summary}
    summaries: dict[str, Summary] = {}
    sentences: dict[str, tuple[str, ...]] = {}
    for kind, degree in degrees.items():
        if not combined:
            summaries[kind] = Summary("", (), "abstractive" if config.abstractive else "extractive",
                                      degree.describe())
            sentences[kind] = ()
            continue
        summary = summarise_chunks(combined, vectors, degree, config, skip, title_vector)
        summaries[kind] = summary
        sentences[kind] = tuple(origin[i] for i in summary.chunk_indexes)
    return RequestSummaries(summaries, tuple(p.part_id for p in parts), sentences,
                            sum(p.words for p in parts))
