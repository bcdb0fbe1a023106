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


def test_a_preloaded_block_embeds_once_and_serves_the_same_vectors(encoder, tmp_path):
    texts = ["The kubelet restarts pods.", "Storage classes name provisioners.", "A third sentence."]
    with duckdb.connect(str(tmp_path / "cache.duckdb")) as con:
        expected = EmbeddingCache(con, encoder).embed(texts[:1])   # one already cached
        cache = EmbeddingCache(con, encoder)
        calls_before = encoder.stats.texts
        with cache.preloaded(texts + texts[1:2]):
            # one batch to the model for the two new texts; nothing more inside the block
            assert encoder.stats.texts - calls_before == 2
            served = cache.embed(texts[::-1])
            assert encoder.stats.texts - calls_before == 2
            fresh = cache.embed(["Not preloaded."])     # outside the block's texts: embedded now
            assert encoder.stats.texts - calls_before == 3
        assert (cache.stats.requested, cache.stats.embedded) == (4, 3)
        assert np.allclose(served[2], expected[0], atol=1e-6)
        assert np.allclose(served, EmbeddingCache(con, encoder).embed(texts[::-1]), atol=1e-6)
        assert fresh.shape == (1, 384)
        assert not cache._preloaded   # the block's vectors are let go when it ends


def test_the_int8_encoder_is_built_from_the_same_weights_and_cached_apart(encoder, tmp_path):
    texts = ["The scheduler places pods on nodes.", "Pods are assigned to nodes by the scheduler.",
             "Quarterly revenue grew in Europe."]
    int8 = Encoder(precision="int8")
    assert int8.model_id == "all-MiniLM-L6-v2+int8" and encoder.model_id == "all-MiniLM-L6-v2"
    full, quantised = encoder.encode(texts), int8.encode(texts)
    assert np.allclose(np.linalg.norm(quantised, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(full * quantised, axis=1) > 0.9)         # close to the float32 vectors
    assert not np.allclose(full, quantised, atol=1e-4)             # but not the same model
    assert quantised[0] @ quantised[1] > quantised[0] @ quantised[2] + 0.3
    with duckdb.connect(str(tmp_path / "cache.duckdb")) as con:
        EmbeddingCache(con, encoder).embed(texts)
        cache = EmbeddingCache(con, int8)
        cache.embed(texts)
        assert cache.stats.embedded == 3     # float32 vectors never stand in for int8 ones
    with pytest.raises(ValueError, match="precision"):
        Encoder(precision="int4")
