"""The real bundled model, loaded offline, and the DuckDB embedding cache."""

import duckdb
import numpy as np
import pytest

from impacting.language.encoder import EmbeddingCache, Encoder, ModelUnavailable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def encoder():
    return Encoder()


def test_bundled_model_gives_unit_vectors_that_rank_meaning(encoder):
    vectors = encoder.encode(["The scheduler places pods on nodes.",
                              "Pods are assigned to nodes by the scheduler.",
                              "Quarterly revenue grew in Europe."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_cache_embeds_each_text_once_across_connections(encoder, tmp_path):
    path = str(tmp_path / "cache.duckdb")
    with duckdb.connect(path) as con:
        cache = EmbeddingCache(con, encoder)
        first = cache.embed(["alpha beta", "gamma", "alpha beta"])
        assert (cache.stats.requested, cache.stats.embedded) == (3, 2)
    with duckdb.connect(path) as con:
        cache = EmbeddingCache(con, encoder)
        again = cache.embed(["gamma", "alpha beta", "delta"])
        assert (cache.stats.requested, cache.stats.embedded) == (3, 1)
    assert np.allclose(again[1], first[0]) and np.allclose(again[0], first[1])


def test_a_model_that_is_not_available_offline_says_what_to_set():
    with pytest.raises(ModelUnavailable, match="IMPACTING_EMBEDDING_MODEL"):
        Encoder("no-such-org/no-such-model").encode(["x"])
