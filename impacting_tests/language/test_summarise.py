"""Extractive summaries and the baselines, on real sentence vectors from the bundled model."""

import duckdb
import numpy as np
import pytest

from impacting.language import baselines
from impacting.language.analysis import title_vector
from impacting.language.chunking import chunk_document
from impacting.language.encoder import EmbeddingCache, shared_encoder
from impacting.language.summarise import (
    Degree,
    DegreeError,
    extractive_summary,
    main_sections,
)
from impacting.language.vectors import embed_chunks, prose_chunks

pytestmark = pytest.mark.slow

DOC = """# Pod Overhead

## Summary

Pods have some resource overhead from the sandbox that runs them.
This proposal accounts for pod overhead in scheduling, quota and eviction.

## Motivation

Sandboxed runtimes such as Kata Containers add memory and CPU overhead to every pod.
Today the scheduler ignores this overhead, so nodes are overcommitted without anyone noticing.
Quarterly revenue in the European market grew faster than analysts expected this year.
The goals are:

- Account for the overhead of running a pod sandbox in the scheduler.
- Account for the overhead of running a pod sandbox in the scheduler!

## Design

A RuntimeClass gets an overhead field that admission copies into the pod spec.
The scheduler adds the pod overhead to the sum of the container requests when fitting pods.
The kubelet includes the overhead when it sizes the pod cgroup and ranks pods for eviction.

## Testing

Unit tests cover the admission controller that copies the overhead into the pod.
End-to-end tests run pods with a RuntimeClass overhead and check scheduling and eviction.

## Rollout

The feature is behind the PodOverhead feature gate, alpha in 1.16 and beta in 1.18.
Disabling the gate stops admission from setting the overhead on new pods.
"""


@pytest.fixture(scope="module")
def document():
    with duckdb.connect(":memory:") as con:
        cache = EmbeddingCache(con, shared_encoder())
        chunks = chunk_document("D", DOC)
        prose = prose_chunks(chunks)
        yield chunks, prose, embed_chunks(cache, prose), title_vector(cache, chunks)


def _sentences(summary, prose):
    by_index = {c.index: c for c in prose}
    return [by_index[i] for i in summary.chunk_indexes]


def test_degree_is_a_ratio_or_a_word_budget_and_says_what_is_wrong():
    assert Degree(ratio=0.1).budget(2000) == 200
    assert Degree(words=60).budget(2000) == 60
    assert Degree(ratio=0.01).budget(10) == 1
    assert Degree(words=60).describe() == "60 words" and Degree(ratio=0.1).describe() == "ratio 0.1"
    for bad in ({"ratio": 1.5}, {"words": 0}, {}, {"ratio": 0.1, "words": 10}):
        with pytest.raises(DegreeError):
            Degree(**bad)


def test_short_summary_is_on_topic_in_order_and_within_budget(document):
    _, prose, vectors, title = document
    summary = extractive_summary(prose, vectors, Degree(words=35), title_vector=title)
    chosen = _sentences(summary, prose)
    assert summary.method == "extractive" and summary.degree == "35 words"
    assert list(summary.chunk_indexes) == sorted(summary.chunk_indexes)
    assert summary.text == " ".join(c.text for c in chosen)
    # Whole sentences; the last may run past the budget by less than its own length.
    assert summary.words - chosen[-1].words < 35 <= summary.words + chosen[-1].words
    assert all("overhead" in c.text.lower() for c in chosen)
    assert not any("revenue" in c.text for c in chosen)
    assert not any(c.text.endswith(":") for c in chosen)  # a lead-in without its list


def test_long_summary_covers_the_main_sections_without_near_duplicates(document):
    _, prose, vectors, title = document
    summary = extractive_summary(prose, vectors, Degree(ratio=0.6), title_vector=title)
    chosen = _sentences(summary, prose)
    assert {c.section[1] for c in chosen} == {"Summary", "Motivation", "Design", "Testing", "Rollout"}
    assert sum("sandbox in the scheduler" in c.text for c in chosen) <= 1
    similarity = vectors @ vectors.T
    positions = [prose.index(c) for c in chosen]
    assert (similarity[np.ix_(positions, positions)] - np.eye(len(positions)) < 0.9).all()


def test_template_sentences_are_skipped_and_a_tiny_budget_still_gets_a_sentence(document):
    _, prose, vectors, _ = document
    best = extractive_summary(prose, vectors, Degree(words=1))
    assert len(best.chunk_indexes) == 1
    first = next(c for c in prose if c.index == best.chunk_indexes[0])
    again = extractive_summary(prose, vectors, Degree(words=1), skip={first.sha256})
    assert again.chunk_indexes and again.chunk_indexes != best.chunk_indexes
    assert extractive_summary([], np.zeros((0, 384)), Degree(words=50)).text == ""


def test_main_sections_are_the_ones_under_the_title(document):
    _, prose, _, _ = document
    sections = main_sections(prose)
    names = {}
    for chunk, number in zip(prose, sections, strict=True):
        names.setdefault(number, chunk.section[1])
    assert list(names.values()) == ["Summary", "Motivation", "Design", "Testing", "Rollout"]


def test_baselines_fill_the_same_budget_in_document_order(document):
    _, prose, vectors, _ = document
    assert baselines.lead(prose, 20) == [0, 1]
    for picks in (baselines.lexrank(prose, 40), baselines.centroid(prose, vectors, 40)):
        total = sum(prose[p].words for p in picks)
        assert picks == sorted(picks) and total >= 40
        assert total - max(prose[p].words for p in picks) < 40  # it stopped once full
    scores = baselines.pagerank(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]], dtype=float))
    assert scores.sum() == pytest.approx(1.0) and scores[0] > scores[1] == pytest.approx(scores[2])
