"""Extractive summaries at any length, from the document's own sentence vectors.

A sentence's relevance is its closeness to the whole document (the unit-length mean of all its
sentence vectors), plus its closeness to the title, plus a small bonus for coming early. The
summary is built greedily, best gain first, where the gain is

- the sentence's relevance, less its similarity to the closest sentence already chosen
  (maximal marginal relevance), and
- section balance (after Lin & Bilmes' square-root diversity reward): within a main section
  the summary already draws on, relevance counts with diminishing returns, so a summary long
  enough to give each main section a sentence covers them rather than only the introduction.

Near-duplicates of a chosen sentence, fragments, lead-ins to lists ("The goals are:") and
template sentences found across the corpus are never chosen, and the chosen sentences are
returned in document order. Nothing here embeds text: vectors come from the shared embedding
cache, so a summary of any length costs no model run. The weights were chosen by
cross-validation on the KEP development corpus (`benchmarks/tune_summary.py`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from impacting.errors import ActionableError
from impacting.language.chunking import Chunk
from impacting.language.vectors import document_vector


class DegreeError(ActionableError, ValueError):
    """A summary length that makes no sense; the message says what is accepted."""


@dataclass(frozen=True)
class Degree:
    """How long a summary should be: a share of the document's prose words, or a word budget."""

    ratio: float | None = None
    words: int | None = None

    def __post_init__(self):
        if (self.ratio is None) == (self.words is None):
            raise DegreeError("give a summary length as exactly one of a ratio (e.g. 0.1) or "
                              "a number of words (e.g. 200)")
        if self.ratio is not None and not 0 < self.ratio <= 1:
            raise DegreeError(f"summary ratio {self.ratio} is not between 0 and 1, e.g. 0.1 for "
                              "a tenth of the document")
        if self.words is not None and self.words < 1:
            raise DegreeError(f"summary length {self.words} words is not a positive number")

    def budget(self, document_words: int) -> int:
        """The word budget for a document of `document_words` prose words (at least 1)."""
        if self.words is not None:
            return self.words
        return max(1, round(self.ratio * document_words))

    def describe(self) -> str:
        return f"{self.words} words" if self.words is not None else f"ratio {self.ratio:g}"


@dataclass(frozen=True)
class SummaryParams:
    """The knobs of the extractive method; defaults chosen by cross-validation (docs/benchmarks.md)."""

    title_weight: float = 1.5        # relevance from closeness to the title, beside the centroid
    position_weight: float = 1.5     # relevance bonus for coming early in the document
    section_weight: float = 0.5      # 0: ignore sections; 1: strongly spread over main sections
                                     # (in full once the budget has room for a sentence per section)
    redundancy_weight: float = 0.15  # penalty for closeness to a sentence already chosen
    length_exponent: float = 0.0     # gain is divided by words**this (0: length-neutral)
    duplicate_similarity: float = 0.9  # a sentence this close to a chosen one is never chosen
    min_words: int = 8               # shorter sentences ("Yes.", "See below.") are never chosen


DEFAULT_PARAMS = SummaryParams()


@dataclass(frozen=True)
class Summary:
    """A summary: its text and the prose sentences it came from (chunk indexes, document order)."""

    text: str
    chunk_indexes: tuple[int, ...]
    method: str
    degree: str

    @property
    def words(self) -> int:
        return len(self.text.split())


def extractive_summary(chunks: Sequence[Chunk], vectors: np.ndarray, degree: Degree, *,
                       params: SummaryParams = DEFAULT_PARAMS, skip: Collection[str] = (),
                       title_vector: np.ndarray | None = None) -> Summary:
    """The document's summary at `degree`, chosen from `chunks` (prose, aligned with `vectors`).

    `skip` holds SHA-256 hashes of sentences never to choose (template boilerplate found across
    the corpus); `title_vector`, when given, is the embedded title, which what matters tends to
    resemble. The summary fills its budget with whole sentences; the last one may run past it by
    less than its own length, and a budget shorter than every sentence still gets one.
    """
    order = select_sentences(chunks, vectors, degree.budget(sum(c.words for c in chunks)),
                             params=params, skip=skip, title_vector=title_vector)
    chosen = [chunks[i] for i in order]
    return Summary(" ".join(c.text for c in chosen), tuple(c.index for c in chosen),
                   "extractive", degree.describe())


def relevance(vectors: np.ndarray, title_vector: np.ndarray | None = None,
              params: SummaryParams = DEFAULT_PARAMS) -> np.ndarray:
    """How much each sentence says what the document is about (higher is better, ≥ 0).

    Closeness to the document's centroid (the mean of all its sentence vectors), plus closeness
    to the title, plus a small bonus for coming early.
    """
    n = len(vectors)
    score = vectors @ document_vector(vectors)
    if title_vector is not None and np.any(title_vector):
        score = score + params.title_weight * (vectors @ np.asarray(title_vector, np.float32))
    position = np.arange(n, dtype=np.float32) / max(n, 1)
    score = score + params.position_weight * (1.0 - position) ** 2
    return np.clip(score, 1e-6, None)


def select_sentences(chunks: Sequence[Chunk], vectors: np.ndarray, budget: int, *,
                     params: SummaryParams = DEFAULT_PARAMS, skip: Collection[str] = (),
                     title_vector: np.ndarray | None = None) -> list[int]:
    """Positions in `chunks` of the chosen sentences, ascending (document order).

    Greedy: each step takes the sentence with the best relevance, less its redundancy with what
    is chosen, with section balance: a sentence's relevance counts in full in a main section
    the summary has not yet drawn on, and with diminishing returns (square root of the
    section's total) in one it has.
    """
    n = len(chunks)
    if n == 0 or budget <= 0:
        return []
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape[0] != n:
        raise ValueError(f"{vectors.shape[0]} vectors for {n} chunks")
    lengths = np.array([max(c.words, 1) for c in chunks], dtype=np.float32)
    available = np.array([_eligible(c, params, skip) for c in chunks])
    if not available.any():  # a document of fragments: anything that is not template
        available = np.array([c.sha256 not in skip for c in chunks]) if skip else np.ones(n, bool)
        if not available.any():
            available = np.ones(n, dtype=bool)

    score = relevance(vectors, title_vector, params)
    sections = main_sections(chunks)
    # A budget with no room for a sentence per main section should take the best sentences
    # wherever they are; a longer one should spread over the sections.
    room_for = budget / (float(np.median(lengths)) * (sections.max() + 1))
    balance = params.section_weight * min(1.0, room_for)
    section_mass = np.zeros(sections.max() + 1, dtype=np.float32)
    closest = np.zeros(n, dtype=np.float32)  # similarity to the closest chosen sentence
    cost = lengths ** params.length_exponent
    chosen: list[int] = []
    used = 0.0
    while available.any():
        room = budget - used
        if chosen and room < 0.5 * np.median(lengths[available]):
            break
        mass = section_mass[sections]
        balanced = np.sqrt(mass + score) - np.sqrt(mass)
        gain = ((1 - balance) * score + balance * balanced
                - params.redundancy_weight * closest) / cost
        # After the first pick, a sentence may overshoot the budget by at most the room left.
        fits = lengths <= 2 * room if chosen else np.ones(n, dtype=bool)
        gain = np.where(available & fits, gain, -np.inf)
        best = int(np.argmax(gain))
        if not np.isfinite(gain[best]):
            break
        chosen.append(best)
        used += lengths[best]
        section_mass[sections[best]] += score[best]
        similarity = vectors @ vectors[best]
        closest = np.maximum(closest, similarity)
        available &= similarity < params.duplicate_similarity
        available[best] = False
        if used >= budget:
            break
    return sorted(chosen)


def _eligible(chunk: Chunk, params: SummaryParams, skip: Collection[str]) -> bool:
    text = chunk.text.rstrip()
    # A lead-in to a list ("The goals are:") means nothing without the list that follows it.
    return chunk.words >= params.min_words and not text.endswith(":") and chunk.sha256 not in skip


def main_sections(chunks: Sequence[Chunk]) -> np.ndarray:
    """A section number per chunk, numbered in order of appearance: its main section, i.e. its
    top-level heading, or the level below when one title heading holds the whole document."""
    tops = {c.section[:1] for c in chunks}
    depth = 2 if len(tops) == 1 and next(iter(tops)) else 1
    numbers: dict[tuple[str, ...], int] = {}
    return np.array([numbers.setdefault(c.section[:depth], len(numbers)) for c in chunks])
