"""Similar past projects with the real model: fused ranking, cut-off, top-k, no self-match."""

import duckdb
import numpy as np
import pytest

from impacting.language.encoder import EmbeddingCache, shared_encoder
from impacting.triage import similar
from impacting.triage.corpus import Corpus, Request, represent
from impacting.triage.similar import (
    HYBRID,
    LEXICAL,
    SEMANTIC,
    SimilarConfig,
    SimilarityIndex,
    link_metrics,
)

pytestmark = pytest.mark.slow

PAST = [
    Request("P-1", "Volume snapshots for CSI drivers",
            "Add snapshot support to the CSI volume plugin so storage providers can back up "
            "persistent volumes. A snapshot controller watches VolumeSnapshot objects."),
    Request("P-2", "Pod network policies",
            "Allow cluster administrators to restrict pod-to-pod network traffic with network "
            "policies enforced by the CNI plugin on every node."),
    Request("P-3", "Scheduler preemption",
            "When the scheduler cannot place a pod on any node, lower-priority pods are evicted "
            "to make room for the pending pod."),
    Request("P-4", "Kubectl plugin discovery",
            "The kubectl command finds plugins on the PATH and lists them with kubectl plugin "
            "list, so users can extend the command line."),
    Request("P-5", "Ingress for TCP traffic",
            "Route TCP and UDP traffic from outside the cluster to services through the ingress "
            "controller, next to HTTP routes."),
]
QUERIES = [
    Request("Q-1", "Restore volumes from CSI snapshots",
            "Restore a persistent volume from a CSI snapshot taken by the storage provider; the "
            "snapshot controller creates the volume.", links=("P-1",)),
    Request("Q-2", "Sourdough bread",
            "Mix flour, water and salt, let the dough rise overnight, then bake it in a very hot "
            "oven until the crust is dark."),
]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    path = tmp_path_factory.mktemp("similar") / "cache.duckdb"
    with duckdb.connect(str(path)) as con:
        cache = EmbeddingCache(con, shared_encoder())
        yield represent(PAST, cache), represent(QUERIES, cache)


def test_the_related_past_project_comes_first_and_an_unusual_request_gets_none(corpora):
    pool, queries = corpora
    index = SimilarityIndex(pool)
    cut_off = SimilarConfig().min_score  # the product's default
    related, unusual = index.search(queries, top_k=3, min_score=cut_off)
    assert related[0].key == "P-1" and related[0].rank == 1
    w = index.lexical_weight
    assert related[0].score == pytest.approx(w * related[0].lexical + (1 - w) * related[0].semantic)
    assert all(m.score >= cut_off for m in related) and len(related) <= 3
    assert unusual == []
    # Without a cut-off the unusual request still gets the k least unlike projects.
    assert len(index.search(queries.subset([1]), top_k=3, min_score=0.0)[0]) == 3


def test_each_half_alone_and_the_fusion_rank_the_link(corpora):
    pool, queries = corpora
    index = SimilarityIndex(pool)
    halves = index.halves(queries)
    for mode in (HYBRID, LEXICAL, SEMANTIC):
        results = index.search(queries, top_k=5, min_score=0.0, mode=mode)
        metrics = link_metrics([set(q.links) for q in queries.requests], results)
        assert metrics["n_queries"] == 1 and metrics["recall_at_5"] == 1.0 and metrics["mrr"] == 1.0
        # Halves computed once (as the evaluation does for its several searches) give the same.
        assert index.search(queries, top_k=5, min_score=0.0, mode=mode, halves=halves) == results


def test_a_request_never_matches_itself(corpora):
    pool, _ = corpora
    results = SimilarityIndex(pool).search(pool, top_k=10, min_score=0.0)
    assert all(m.key != request.key for request, matches in zip(pool.requests, results, strict=True)
               for m in matches)
    assert all(len(matches) == len(pool) - 1 for matches in results)


def _vector_corpus(prefix: str, sentences: list[np.ndarray], titles: list[np.ndarray]) -> Corpus:
    """A corpus made of given sentence and title vectors (no words, no model)."""
    n = len(sentences)
    return Corpus(
        requests=[Request(f"{prefix}-{i}", "", "") for i in range(n)],
        passages=[[] for _ in range(n)], passage_vectors=sentences,
        vectors=np.zeros((n, sentences[0].shape[1]), np.float32), lexical=[""] * n,
        title_vectors=np.array(titles, dtype=np.float32),
    )


def _brute_force(pool_sets, query_set, k):
    """Mean of the k best passage pairs both ways, on vectors centred on the pool's mean sentence."""
    center = np.vstack([v for v in pool_sets if len(v)]).mean(axis=0)

    def centred(v):
        x = v - center
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    scores = []
    for doc in pool_sets:
        if not len(doc) or not len(query_set):
            scores.append(0.0)
            continue
        pairs = centred(query_set) @ centred(doc).T
        forward = np.sort(pairs.max(axis=1))[::-1][:k].mean()
        backward = np.sort(pairs.max(axis=0))[::-1][:k].mean()
        scores.append(float(np.clip((forward + backward) / 2, 0, 1)))
    return scores


def test_the_semantic_half_is_the_mean_of_the_best_passage_pairs_both_ways(monkeypatch):
    # Small pair count and block so that long documents are cut to their best pairs and long
    # queries are compared block by block.
    monkeypatch.setattr(similar, "PASSAGE_PAIRS", 3)
    monkeypatch.setattr(similar, "SENTENCE_BLOCK", 2)
    rng = np.random.default_rng(7)
    dim = 16

    def unit(n):
        v = rng.normal(size=(n, dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    no_title = np.zeros(dim, np.float32)
    pool_sentences = [unit(6), unit(1), np.zeros((0, dim), np.float32), unit(4), unit(2)]
    pool_titles = [unit(1)[0], no_title, no_title, no_title, unit(1)[0]]
    query_sentences = [unit(5), unit(2), np.zeros((0, dim), np.float32)]
    query_titles = [no_title, unit(1)[0], no_title]
    pool = _vector_corpus("P", pool_sentences, pool_titles)
    queries = _vector_corpus("Q", query_sentences, query_titles)

    def with_title(sentences, title):
        return sentences if not title.any() else np.vstack([title[None, :], sentences])

    pool_sets = [with_title(v, t) for v, t in zip(pool_sentences, pool_titles, strict=True)]
    _, semantic = SimilarityIndex(pool).halves(queries)
    for i, (v, t) in enumerate(zip(query_sentences, query_titles, strict=True)):
        expected = _brute_force(pool_sets, with_title(v, t), k=3)
        assert semantic[i] == pytest.approx(expected, abs=1e-5)
    # A document with no words (pool P-2, query Q-2) is similar to nothing.
    assert not semantic[:, 2].any() and not semantic[2].any()
    # Some pairs are above zero, so the comparison above is not between zeros only.
    assert semantic[:2].max() > 0.1


def test_one_shared_passage_counts_however_long_the_rest_of_the_document_is(monkeypatch):
    # The same sentence inside a long otherwise unrelated document: a mean of all sentence
    # vectors would dilute it to nearly nothing; the best-pairs score keeps it.
    monkeypatch.setattr(similar, "PASSAGE_PAIRS", 2)
    rng = np.random.default_rng(3)
    dim = 64

    def unit(n):
        v = rng.normal(size=(n, dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    shared = unit(1)
    no_title = np.zeros(dim, np.float32)
    long_doc = np.vstack([unit(40), shared])
    pool = _vector_corpus("P", [long_doc, unit(41), unit(41)], [no_title] * 3)
    query = _vector_corpus("Q", [np.vstack([shared, unit(1)])], [no_title])
    _, semantic = SimilarityIndex(pool).halves(query)
    assert int(np.argmax(semantic[0])) == 0
    assert semantic[0, 0] > semantic[0, 1:].max() + 0.15


def test_the_team_vote_s_mean_vector_mode_is_the_centred_mean_cosine(corpora):
    pool, queries = corpora
    index = SimilarityIndex(pool, semantic=similar.MEAN)
    semantic = index.similarity(queries, SEMANTIC)
    center = pool.vectors.mean(axis=0)

    def unit(v):
        v = v - center
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    expected = np.clip(unit(queries.vectors) @ unit(pool.vectors).T, 0, 1)
    np.testing.assert_allclose(semantic, expected, atol=1e-5)
    assert semantic[0].argmax() == 0  # the snapshot request is closest to the snapshot project
    with pytest.raises(ValueError, match="semantic must be"):
        SimilarityIndex(pool, semantic="average")


def test_two_stages_compare_passages_with_the_best_candidates_only_and_score_them_exactly():
    # 60 past projects, 4 of them paraphrases of the query (its sentences plus noise): the first
    # stage (each document's mean sentence) must pick them, and the second scores them as the
    # exact search does; the rest are never compared (semantic 0).
    rng = np.random.default_rng(11)
    dim = 32

    def unit(v):
        return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)

    query_sentences = unit(rng.normal(size=(6, dim)))
    near = [unit(query_sentences + 0.1 * rng.normal(size=(6, dim))) for _ in range(4)]
    far = [unit(rng.normal(size=(int(rng.integers(2, 9)), dim))) for _ in range(56)]
    no_title = np.zeros(dim, np.float32)
    pool = _vector_corpus("P", near + far, [no_title] * 60)
    queries = _vector_corpus("Q", [query_sentences], [no_title])

    _, exact = SimilarityIndex(pool, candidates=0).halves(queries)
    two_stage_index = SimilarityIndex(pool, candidates=5)
    assert two_stage_index.two_stage() and not SimilarityIndex(pool, candidates=60).two_stage()
    _, two_stage = two_stage_index.halves(queries)
    compared = np.flatnonzero(two_stage[0])
    assert set(range(4)) <= set(compared) and len(compared) <= 5
    assert two_stage[0, compared] == pytest.approx(exact[0, compared], abs=1e-6)
    assert exact[0, 4:].astype(bool).sum() > 5   # the exact search does score the others
    # Enough candidates for the whole pool: the exact search.
    _, everything = SimilarityIndex(pool, candidates=60).halves(queries)
    assert everything == pytest.approx(exact, abs=1e-6)
    with pytest.raises(ValueError, match="candidates"):
        SimilarityIndex(pool, candidates=-1)


def test_the_pool_against_itself_compares_each_pair_once_and_scores_as_any_other_query(corpora):
    from dataclasses import replace

    pool, _ = corpora
    index = SimilarityIndex(pool, candidates=0)
    renamed = pool.subset(range(len(pool)))   # the same texts under other keys: the general path
    renamed.requests = [replace(r, key=r.key + "-copy") for r in pool.requests]
    renamed.__post_init__()
    own, general = index.halves(pool), index.halves(renamed)
    for mine, theirs in zip(own, general, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)
    np.testing.assert_allclose(own[1], own[1].T, atol=1e-6)
    assert own[1].max() > 0.9 and own[1].min() >= 0
