"""The public vector helpers other stages build on."""

import duckdb
import numpy as np
import pytest

from impacting.language.chunking import chunk_document
from impacting.language.encoder import EmbeddingCache, shared_encoder
from impacting.language.vectors import document_vector, embed_chunks, prose_chunks

TEXT = """# Title

<!-- a template comment -->

The scheduler places pods on nodes. Yes. It also respects taints.

```
code block
```
"""


def test_prose_chunks_are_sentences_with_meaning_in_order():
    prose = prose_chunks(chunk_document("d", TEXT))
    assert [c.text for c in prose] == ["The scheduler places pods on nodes.", "It also respects taints."]


def test_embed_chunks_gives_one_cached_row_per_chunk_in_order():
    prose = prose_chunks(chunk_document("d", TEXT))
    with duckdb.connect(":memory:") as con:
        cache = EmbeddingCache(con, shared_encoder())
        vectors = embed_chunks(cache, prose)
        reversed_vectors = embed_chunks(cache, prose[::-1])
        assert cache.stats.embedded == 2
        assert embed_chunks(cache, []).shape == (0, 384)
    assert vectors.shape == (2, 384)
    assert np.allclose(reversed_vectors, vectors[::-1])


def test_document_vector_is_a_unit_length_weighted_mean():
    vectors = np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)
    assert np.allclose(document_vector(vectors), [2 ** -0.5, 2 ** -0.5, 0])
    weighted = document_vector(vectors, weights=[3, 1])
    assert np.linalg.norm(weighted) == pytest.approx(1.0) and weighted[0] == pytest.approx(3 * weighted[1])
    assert not document_vector(np.zeros((0, 3))).any()
    assert not document_vector(np.array([[1, 0], [-1, 0]], dtype=np.float32)).any()
    with pytest.raises(ValueError, match="weights"):
        document_vector(vectors, weights=[1])
