"""The encoder adapted to the history: pairs without leakage, batches without false negatives,
the held-out verdict; and (slow) a real fine-tuning step that the encoder then loads offline."""

import duckdb
import numpy as np
import pytest

from impacting.language.chunking import chunk_document
from impacting.language.encoder import DEFAULT_MODEL, EmbeddingCache, Encoder, resolve_model
from impacting.language.vectors import prose_chunks
from impacting.triage.corpus import Corpus, Request
from impacting.triage.tuning.heldout import FoldFigures, fold_figures, held_out_cutoff, is_better
from impacting.triage.tuning.pairs import (
    LINKED,
    SAME_TEAM,
    TITLE_BODY,
    history_pairs,
    pair_batches,
    stretches,
)
from impacting.triage.tuning.train import TuningConfig, fine_tune

TOPICS = {
    "storage": "Volumes are attached to nodes by the storage driver. Snapshots of persistent volumes "
               "are taken by the snapshot controller. Restoring a volume reads the snapshot back.",
    "network": "Network policies restrict traffic between pods. The network plugin enforces them on "
               "every node. Services route traffic to the pods behind them.",
    "scheduling": "The scheduler places pods on nodes with enough room. Preemption evicts lower "
                  "priority pods. Scheduling gates hold a pod back until it is ready.",
}


def _history(n: int = 30) -> Corpus:
    requests, passages = [], []
    names = sorted(TOPICS)
    for i in range(n):
        topic = names[i % 3]
        links = (f"R-{i - 3}",) if i >= 3 and i % 5 == 0 else ()
        text = f"{TOPICS[topic]} This is request number {i} about {topic}."
        requests.append(Request(f"R-{i}", f"{topic} change {i}", text, (f"sig-{topic}",),
                                f"2020-{1 + i // 3:02d}-{1 + i % 3:02d}", f"sig-{topic}", links))
        passages.append(prose_chunks(chunk_document(requests[-1].key, text)))
    zeros = [np.zeros((len(p), 4), np.float32) for p in passages]
    return Corpus(requests, passages, zeros, np.zeros((n, 4), np.float32), [r.text for r in requests])


def test_stretches_are_spread_over_the_document():
    passages = [f"sentence {k} has five words" for k in range(40)]
    runs = stretches(passages, words=10, most=3)
    assert len(runs) == 3
    assert runs[0].startswith("sentence 0 ") and runs[-1].endswith("sentence 39 has five words")


def test_pairs_come_only_from_before_the_cut_off_and_links_need_both_ends_before_it():
    corpus = _history()
    cutoff = held_out_cutoff(corpus)
    pairs = history_pairs(corpus, before=cutoff)
    created = {r.key: r.created for r in corpus.requests}
    assert pairs and all(created[k] < cutoff for p in pairs for k in p.keys)
    kinds = {p.kind for p in pairs}
    assert kinds == {TITLE_BODY, LINKED, SAME_TEAM}
    for pair in pairs:
        if pair.kind == SAME_TEAM:
            a, b = (corpus.requests[corpus.position(k)] for k in pair.keys)
            assert a.owner_team == b.owner_team == pair.team and a.key != b.key


def test_batches_hold_one_kind_no_request_twice_and_no_team_twice():
    pairs = history_pairs(_history(60), team_pairs_per_request=3)
    batches = pair_batches(pairs, batch_size=8)
    assert sum(len(b) for b in batches) > len(pairs) // 2
    for batch in batches:
        assert len({p.kind for p in batch}) == 1 and len(batch) >= 2
        keys = [k for p in batch for k in set(p.keys)]
        assert len(keys) == len(set(keys))
        teams = [p.team for p in batch if p.team is not None]
        assert len(teams) == len(set(teams))


def _figures(**values) -> FoldFigures:
    base = {"link_recall_at_10": 0.5, "link_mrr": 0.4, "team_recall_at_3": 0.7, "held_out": 20,
            "link_queries": 5, "texts": 100, "embed_seconds": 1.0, "texts_embedded": 100}
    return FoldFigures(**(base | values))


def test_a_tuned_encoder_must_be_better_on_the_held_out_period_without_losing_a_figure():
    bundled = _figures()
    assert is_better(_figures(link_mrr=0.45), bundled)[0]
    better, reason = is_better(_figures(link_mrr=0.401), bundled)
    assert not better and "not better" in reason
    better, reason = is_better(_figures(link_mrr=0.6, team_recall_at_3=0.6), bundled)
    assert not better and "team_recall_at_3" in reason


@pytest.mark.slow
def test_fine_tuning_saves_a_model_the_encoder_loads_and_caches_under_its_own_id(tmp_path):
    corpus = _history()
    pairs = history_pairs(corpus, before=held_out_cutoff(corpus))
    run = fine_tune(resolve_model(DEFAULT_MODEL), pairs, tmp_path / "tuned",
                    TuningConfig(batch_size=4, max_pairs=16))
    assert run.steps >= 1 and (tmp_path / "tuned" / "config.json").is_file()
    con = duckdb.connect()
    tuned = EmbeddingCache(con, Encoder(str(tmp_path / "tuned"), model_id="encoder/v1"))
    bundled = EmbeddingCache(con, Encoder(DEFAULT_MODEL))
    text = ["Snapshots of persistent volumes are taken by the snapshot controller."]
    a, b = tuned.embed(text), bundled.embed(text)
    assert a.shape == b.shape and not np.allclose(a, b)   # the weights moved
    assert tuned.size() == 1 and bundled.size() == 1      # one vector per model id
    figures = fold_figures(corpus, held_out_cutoff(corpus), tuned)
    assert figures.held_out > 0 and figures.team_recall_at_3 is not None
    assert tuned.forget() > 0 and tuned.size() == 0 and bundled.size() == 1
