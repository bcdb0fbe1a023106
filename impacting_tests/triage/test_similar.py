"""Similar past projects with the real model: fused ranking, cut-off, top-k, no self-match."""

import duckdb
import pytest

from impacting.language.encoder import EmbeddingCache, shared_encoder
from impacting.triage.features import Request, represent
from impacting.triage.similar import (
    HYBRID,
    LEXICAL,
    SEMANTIC,
    SimilarConfig,
    SimilarityIndex,
    link_metrics,
)

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
    for mode in (HYBRID, LEXICAL, SEMANTIC):
        results = index.search(queries, top_k=5, min_score=0.0, mode=mode)
        metrics = link_metrics([set(q.links) for q in queries.requests], results)
        assert metrics["n_queries"] == 1 and metrics["recall_at_5"] == 1.0 and metrics["mrr"] == 1.0


def test_a_request_never_matches_itself(corpora):
    pool, _ = corpora
    results = SimilarityIndex(pool).search(pool, top_k=10, min_score=0.0)
    assert all(m.key != request.key for request, matches in zip(pool.requests, results, strict=True)
               for m in matches)
    assert all(len(matches) == len(pool) - 1 for matches in results)
