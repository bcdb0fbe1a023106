"""Chunk vectors through the shared embedding cache, and a document's single vector.

Summaries, keywords, team relevance and similar-project search all start here, so every stage
embeds the same prose chunks once and agrees on what a document's vector is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from impacting.language.chunking import SENTENCE, Chunk
from impacting.language.encoder import EmbeddingCache

# A "sentence" this short is a list marker, a label or a stray fragment, not prose.
MIN_PROSE_WORDS = 3


def prose_chunks(chunks: Sequence[Chunk]) -> list[Chunk]:
    """The sentence chunks worth embedding, in document order.

    Headings, code, comments, tables of contents and tables are left out, and so are fragments
    of fewer than three words ("Yes.", "TBD") that carry no meaning of their own.
    """
    return [c for c in chunks if c.kind == SENTENCE and c.words >= MIN_PROSE_WORDS]


def embed_chunks(cache: EmbeddingCache, chunks: Sequence[Chunk]) -> np.ndarray:
    """Unit vectors for `chunks`, one row per chunk in the given order (cached by text)."""
    return cache.embed([c.text for c in chunks])


def document_vector(vectors: np.ndarray, weights: Sequence[float] | np.ndarray | None = None
                    ) -> np.ndarray:
    """The unit-length (weighted) mean of a document's chunk vectors.

    A document with no vectors, or whose mean is zero, gets a zero vector of the same width,
    so it is similar to nothing rather than failing.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"expected a 2-D array of chunk vectors, got shape {vectors.shape}")
    if len(vectors) == 0:
        return np.zeros(vectors.shape[1], dtype=np.float32)
    if weights is None:
        mean = vectors.mean(axis=0)
    else:
        w = np.asarray(weights, dtype=np.float32)
        if w.shape != (len(vectors),):
            raise ValueError(f"{len(w)} weights for {len(vectors)} vectors")
        total = float(w.sum())
        mean = (w[:, None] * vectors).sum(axis=0) / total if total > 0 else vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 0 else np.zeros_like(mean, dtype=np.float32)
