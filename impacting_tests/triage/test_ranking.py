"""The learned ranking of similar projects, on small synthetic histories (no encoder)."""

import numpy as np
import pytest

from impacting.triage.corpus import Corpus, Request
from impacting.triage.ranking.features import FEATURES, key_forms, link_graph, pair_features, references
from impacting.triage.ranking.model import FIXED, MIN_LINKED_QUERIES, RankerConfig, fit_similar_ranker
from impacting.triage.similar import link_metrics

DIM = 8
FAST = RankerConfig(folds=3, logistic_c=(1.0,), boosting=False)


def _history(n: int = 160, seed: int = 0, linked: bool = True):
    """Requests in topics; every fourth is linked to an earlier request of its topic that it
    names in its text ("see R-12"). The fused score cannot tell the linked one from the other
    requests of the topic; the mention can."""
    rng = np.random.default_rng(seed)
    requests, lexical = [], []
    topics = rng.integers(6, size=n)
    for i in range(n):
        words = [f"topic{topics[i]}word{k}" for k in range(4)] + [f"noise{rng.integers(50)}"]
        links: tuple[str, ...] = ()
        if linked and i >= 8 and i % 4 == 0:
            same = [j for j in range(i) if topics[j] == topics[i]]
            if same:
                target = int(rng.choice(same))
                links = (f"R-{target}",)
                words.append(f"see R-{target}")
        text = " ".join(words)
        created = f"{2015 + i // 40}-{1 + (i // 4) % 12:02d}-{1 + i % 4:02d}"
        requests.append(Request(f"R-{i}", f"request {i}", text, (f"team{topics[i]}",), created,
                                None, links))
        lexical.append(text)
    vectors = np.zeros((n, DIM), np.float32)
    corpus = Corpus(requests, [[] for _ in requests], [np.zeros((0, DIM), np.float32)] * n, vectors,
                    lexical)
    # Fused halves: the same high score within a topic (plus a little noise), low across.
    same_topic = (topics[:, None] == topics[None, :]).astype(np.float32)
    lexical_half = np.clip(0.5 * same_topic + 0.05 * rng.random((n, n)), 0, 1).astype(np.float32)
    semantic_half = np.clip(0.4 * same_topic + 0.05 * rng.random((n, n)), 0, 1).astype(np.float32)
    return corpus, lexical_half, semantic_half


def test_a_text_names_a_key_in_the_forms_people_write():
    forms = key_forms("KEP-555-server-side-apply")
    assert {"KEP-555", "555-SERVER-SIDE-APPLY", "KEP-555-SERVER-SIDE-APPLY"} <= forms
    found = references("Builds on KEP-555 and keps/sig-api-machinery/1027-api-unions; not TIMOB-12345")
    assert {"KEP-555", "1027-API-UNIONS", "TIMOB-12345"} <= found
    assert "TIMOB-1234" not in found   # a longer number is another issue


def test_features_never_read_the_query_s_own_links():
    corpus, lexical, semantic = _history()
    graph = link_graph(corpus)
    query = next(i for i, r in enumerate(corpus.requests) if r.links)
    linked = corpus.position(corpus.requests[query].links[0])
    frame = pair_features(corpus.subset([query]), corpus, lexical[[query]], semantic[[query]], 0.6, graph)
    row = np.flatnonzero(frame.candidate == linked)[0]
    # the candidate's link count leaves out its link to the query itself, and links to
    # requests newer than the query (they did not exist yet when it came in)
    created = corpus.requests[query].created
    degree = sum(1 for other, since in graph[corpus.keys[linked]].items()
                 if other != corpus.keys[query] and since <= created)
    assert degree < len(graph[corpus.keys[linked]])
    assert frame.features[row, FEATURES.index("log_candidate_links")] == pytest.approx(np.log1p(degree))
    assert query not in frame.candidate   # never its own candidate


def test_a_learned_ranking_beats_the_fixed_fusion_where_a_signal_the_fusion_misses_decides():
    corpus, lexical, semantic = _history()
    ranker = fit_similar_ranker(corpus, lexical, semantic, 0.6, link_graph(corpus), FAST)
    assert ranker.learned
    cv = ranker.cv["candidates"]
    assert cv[ranker.chosen]["mrr"] > cv[FIXED]["mrr"] + 0.2

    # on later requests it has not learned from: the named project comes first
    later, later_lex, later_sem = _history(seed=1)
    frame = pair_features(later, later, later_lex, later_sem, 0.6, link_graph(later, known=()))
    matches = ranker.rank(frame, len(later), later.keys, later_lex, later_sem, top_k=10)
    relevant = [set(r.links) for r in later.requests]
    assert link_metrics(relevant, matches)["mrr"] > 0.9
    probabilities = [m.probability for ms in matches for m in ms]
    assert all(0.0 <= p <= 1.0 for p in probabilities)


def test_the_probability_is_calibrated_and_the_cut_off_drops_unlikely_matches():
    corpus, lexical, semantic = _history(n=240)
    ranker = fit_similar_ranker(corpus, lexical, semantic, 0.6, link_graph(corpus), FAST)
    later, later_lex, later_sem = _history(n=240, seed=2)
    frame = pair_features(later, later, later_lex, later_sem, 0.6, link_graph(later, known=()))
    probabilities = ranker.probabilities(frame)
    graph = link_graph(later)   # related either way: one names the other
    truth = np.array([later.keys[c] in graph.get(later.keys[q], set()) for q, c in
                      zip(frame.query, frame.candidate, strict=True)])
    # mean predicted probability close to the share actually related, among likely and unlikely
    for band in (probabilities >= 0.5, probabilities < 0.5):
        assert abs(probabilities[band].mean() - truth[band].mean()) < 0.15
    matches = ranker.rank(frame, len(later), later.keys, later_lex, later_sem, top_k=10)
    # a request without a link names nobody: few or no likely matches
    unlinked = [len(m) for m, key in zip(matches, later.keys, strict=True) if key not in graph]
    assert np.mean(unlinked) < 3


def test_too_few_links_keeps_the_fixed_fusion_and_says_why():
    corpus, lexical, semantic = _history(n=60)
    assert sum(1 for r in corpus.requests if r.links) < MIN_LINKED_QUERIES
    ranker = fit_similar_ranker(corpus, lexical, semantic, 0.6, link_graph(corpus))
    assert not ranker.learned and ranker.chosen == FIXED
    assert "fixed fusion serves" in ranker.cv["reason"]
