"""Reference summarisers our method is measured against (`impacting eval`, the benchmark).

Each takes the same prose chunks as the real method and fills the same word budget, so the
comparison is only about which sentences are chosen:

- `lead`: the first sentences, the classic hard-to-beat baseline for writing that puts the
  point first;
- `lexrank`: LexRank (Erkan & Radev 2004), the TextRank family: PageRank over a graph of
  sentences joined by their TF-IDF cosine similarity;
- `centroid`: the embedding centroid method: sentences closest to the mean sentence vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from impacting.language.chunking import Chunk
from impacting.language.vectors import document_vector


def lead(chunks: Sequence[Chunk], budget: int) -> list[int]:
    """Positions of the first sentences until `budget` words are reached."""
    return _fill(range(len(chunks)), chunks, budget)


def lexrank(chunks: Sequence[Chunk], budget: int, threshold: float = 0.1,
            damping: float = 0.85) -> list[int]:
    """Positions of the highest-LexRank sentences until `budget` words, in document order."""
    if not chunks:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        tfidf = TfidfVectorizer(stop_words="english").fit_transform([c.text for c in chunks])
    except ValueError:  # nothing but stop words
        return lead(chunks, budget)
    similarity = (tfidf @ tfidf.T).toarray()
    graph = (similarity > threshold).astype(np.float64)
    scores = pagerank(graph, damping)
    return _fill(np.argsort(-scores, kind="stable"), chunks, budget)


def centroid(chunks: Sequence[Chunk], vectors: np.ndarray, budget: int) -> list[int]:
    """Positions of the sentences nearest the document's mean vector until `budget` words."""
    if not chunks:
        return []
    scores = np.asarray(vectors) @ document_vector(vectors)
    return _fill(np.argsort(-scores, kind="stable"), chunks, budget)


def pagerank(graph: np.ndarray, damping: float = 0.85, iterations: int = 100,
             tolerance: float = 1e-6) -> np.ndarray:
    """Stationary scores of a random walk over `graph` (rows: from, columns: to)."""
    n = graph.shape[0]
    out_degree = graph.sum(axis=1, keepdims=True)
    # A sentence linked to nothing jumps anywhere, as in the original PageRank.
    transition = np.where(out_degree > 0, graph / np.where(out_degree > 0, out_degree, 1), 1.0 / n)
    scores = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * transition.T @ scores
        if np.abs(updated - scores).sum() < tolerance:
            return updated
        scores = updated
    return scores


def _fill(ranked, chunks: Sequence[Chunk], budget: int) -> list[int]:
    """Take positions in `ranked` order until the budget is reached; return them ascending."""
    chosen, used = [], 0
    for position in ranked:
        if used >= budget:
            break
        chosen.append(int(position))
        used += chunks[int(position)].words
    return sorted(chosen)
