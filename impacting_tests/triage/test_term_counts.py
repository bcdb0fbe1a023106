"""TF-IDF fitted from stored term counts (the kept index, the team model's folds) is the matrix
and the vectorizer scikit-learn's own fit gives, down to the ties at the vocabulary cut."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from impacting.triage.corpus import tfidf_vectorizer
from impacting.triage.term_counts import count_terms, fit_counts
from impacting.triage.terms import shared_terms

TICKETS = Path(__file__).parents[1] / "fixtures" / "triage_tickets.bench.jsonl"


@pytest.fixture(scope="module")
def texts():
    records = [json.loads(line) for line in TICKETS.read_text().splitlines() if line.strip()]
    return [f"{r['title']}\n{r['text']}" for r in records]


def _same(fitted, matrix, reference, reference_matrix, queries):
    assert fitted.vocabulary_ == reference.vocabulary_
    np.testing.assert_array_equal(fitted.idf_, reference.idf_)
    assert abs(matrix - reference_matrix).max() == 0
    assert abs(fitted.transform(queries) - reference.transform(queries)).max() == 0


@pytest.mark.parametrize("limit", [None, 60])   # 60: the most-frequent-terms cut bites, with ties
def test_a_fit_from_counts_is_scikit_learns_fit(texts, limit):
    recipe = tfidf_vectorizer(len(texts))
    if limit:
        recipe.set_params(max_features=limit)
    reference = tfidf_vectorizer(len(texts)).set_params(max_features=limit or 100_000)
    reference_matrix = reference.fit_transform(texts)
    terms: list[str] = []
    counts = count_terms(texts, terms, {})
    fitted, matrix = fit_counts(counts, terms, recipe=recipe)
    _same(fitted, matrix, reference, reference_matrix, texts[:5])
    if limit:
        totals = np.asarray(counts.sum(axis=0)).ravel()
        cut = np.sort(totals[[terms.index(t) for t in fitted.vocabulary_]])[0]
        assert (totals == cut).sum() > (np.sort(totals)[::-1][:limit] == cut).sum()   # a tie at the cut


def test_fits_within_shared_terms_match_fits_without(texts):
    folds = [texts[:30], texts[10:], texts[5:40]]
    with shared_terms():
        remembered = []
        for fold in folds:
            vectorizer = tfidf_vectorizer(len(fold))
            remembered.append((vectorizer, vectorizer.fit_transform(fold)))
    for fold, (vectorizer, matrix) in zip(folds, remembered, strict=True):
        reference = tfidf_vectorizer(len(fold))
        _same(vectorizer, matrix, reference, reference.fit_transform(fold), texts[:5])
        assert vectorizer.get_params()["vocabulary"] is None    # a learnt vocabulary, as sklearn's
        again = pickle.loads(pickle.dumps(vectorizer))          # and it is stored like one
        assert abs(again.transform(texts[:5]) - reference.transform(texts[:5])).max() == 0
