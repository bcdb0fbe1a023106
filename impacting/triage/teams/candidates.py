"""The candidate team models cross-validation chooses between.

Each candidate learns from a :class:`Corpus` and a 0/1 label matrix (requests x teams) and
scores requests with one number in [0, 1] per team (higher = more likely involved):

- ``embedding_linear``: a logistic regression per team on the document vectors;
- ``tfidf_linear``: a logistic regression per team on TF-IDF of the document's words;
- ``similarity_vote``: the teams of the most similar past projects, weighted by similarity;
- ``combination``: a weighted mean of the three (weights chosen by cross-validation).

A team with no positive example in the training data scores 0 and one with only positive
examples scores 1, so a team seen for the first time (or a fold without it) never breaks a fit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.special import expit

from impacting.triage.corpus import Corpus, tfidf_vectorizer
from impacting.triage.similar import HYBRID, MEAN, SimilarityIndex

# The similarity vote's own blend of words and meaning (mean vectors): chosen on the train
# splits' cross-validation before the search moved to passage pairs, and kept because the
# vote did no better with passage pairs (docs/benchmarks.md).
VOTE_LEXICAL_WEIGHT = 0.8

EMBEDDING_LINEAR = "embedding_linear"
TFIDF_LINEAR = "tfidf_linear"
SIMILARITY_VOTE = "similarity_vote"
COMBINATION = "combination"
BASE_CANDIDATES = (EMBEDDING_LINEAR, TFIDF_LINEAR, SIMILARITY_VOTE)
CANDIDATES = (*BASE_CANDIDATES, COMBINATION)


def _fit_linear(features, labels: np.ndarray, c: float, solver: str = "lbfgs"
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per-team logistic regressions as one (teams x features) weight matrix and intercepts.

    Classes are balanced so rare teams are not drowned; calibration later turns the scores into
    probabilities. Degenerate columns (no or only positives) become constant scores. The teams'
    regressions are independent, so they run on every core (the solvers leave Python's lock
    while they work); each is the same fit it would be alone.
    """
    from sklearn.linear_model import LogisticRegression

    n_teams = labels.shape[1]
    weights = np.zeros((n_teams, features.shape[1]), dtype=np.float32)
    intercepts = np.zeros(n_teams, dtype=np.float32)

    def fit(j: int) -> None:
        y = labels[:, j]
        positives = int(y.sum())
        if positives == 0 or positives == len(y):
            intercepts[j] = 20.0 if positives else -20.0
            return
        model = LogisticRegression(C=c, class_weight="balanced", solver=solver, max_iter=2000)
        model.fit(features, y)
        weights[j] = model.coef_[0]
        intercepts[j] = model.intercept_[0]

    with ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 8))) as pool:
        list(pool.map(fit, range(n_teams)))
    return weights, intercepts


class EmbeddingLinear:
    name = EMBEDDING_LINEAR

    def __init__(self, c: float = 4.0):
        self.c = c
        self.weights: np.ndarray | None = None
        self.intercepts: np.ndarray | None = None

    def fit(self, corpus: Corpus, labels: np.ndarray) -> EmbeddingLinear:
        # liblinear: several times faster than lbfgs on a few hundred dense dimensions.
        self.weights, self.intercepts = _fit_linear(corpus.vectors, labels, self.c, "liblinear")
        return self

    def decision(self, vectors: np.ndarray) -> np.ndarray:
        """Log-odds per team for any vectors: documents, or single passages (explanations)."""
        return vectors @ self.weights.T + self.intercepts

    def scores(self, corpus: Corpus) -> np.ndarray:
        return expit(self.decision(corpus.vectors))


class TfidfLinear:
    name = TFIDF_LINEAR

    def __init__(self, c: float = 10.0):
        self.c = c
        self.vectorizer = None
        self.weights: np.ndarray | None = None
        self.intercepts: np.ndarray | None = None

    def fit(self, corpus: Corpus, labels: np.ndarray) -> TfidfLinear:
        self.vectorizer = tfidf_vectorizer(len(corpus))
        try:
            features = self.vectorizer.fit_transform(corpus.lexical)
        except ValueError:  # not a single word to learn from
            self.vectorizer = None
            self.weights = np.zeros((labels.shape[1], 0), dtype=np.float32)
            self.intercepts = np.where(labels.sum(axis=0) == len(labels), 20.0, -20.0)
            return self
        self.weights, self.intercepts = _fit_linear(features, labels, self.c)
        return self

    def scores(self, corpus: Corpus) -> np.ndarray:
        if self.vectorizer is None:
            return expit(np.tile(self.intercepts, (len(corpus), 1)))
        features = self.vectorizer.transform(corpus.lexical)
        return expit(np.asarray(features @ self.weights.T) + self.intercepts)


class SimilarityVote:
    """Teams of the `neighbours` most similar past projects, each weighted by its similarity."""

    name = SIMILARITY_VOTE

    def __init__(self, neighbours: int = 10, lexical_weight: float = VOTE_LEXICAL_WEIGHT):
        self.neighbours = neighbours
        self.lexical_weight = lexical_weight
        self.index: SimilarityIndex | None = None
        self.labels: np.ndarray | None = None

    def fit(self, corpus: Corpus, labels: np.ndarray) -> SimilarityVote:
        self.index = SimilarityIndex(corpus, self.lexical_weight, semantic=MEAN)
        self.labels = labels.astype(np.float32)
        return self

    def scores(self, corpus: Corpus, similarity: np.ndarray | None = None) -> np.ndarray:
        if similarity is None:
            similarity = self.index.similarity(corpus, HYBRID)
        # A request that is also a past example (feedback made it one) never votes for itself.
        pool = {key: j for j, key in enumerate(self.index.keys)}
        for i, key in enumerate(corpus.keys):
            if key in pool:
                similarity[i, pool[key]] = -1.0
        return vote(similarity, self.labels, self.neighbours)


def vote(similarity: np.ndarray, labels: np.ndarray, neighbours: int) -> np.ndarray:
    """Similarity-weighted share of the nearest projects that involved each team."""
    n_queries, n_pool = similarity.shape
    if n_pool == 0:
        return np.zeros((n_queries, labels.shape[1]), dtype=np.float32)
    k = min(neighbours, n_pool)
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    weights = np.take_along_axis(similarity, nearest, axis=1).clip(min=0) ** 2
    totals = weights.sum(axis=1, keepdims=True)
    votes = np.einsum("qk,qkt->qt", weights, labels[nearest])
    return np.where(totals > 0, votes / np.maximum(totals, 1e-12), 0.0).astype(np.float32)


def combine(scores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Weighted mean of the base candidates' scores."""
    total = sum(weights.values())
    return sum(w * scores[name] for name, w in weights.items() if w) / total


def combination_grid(step: float = 0.25) -> list[dict[str, float]]:
    """Weight triples on the simplex (at least two members) for the combination to try."""
    steps = int(round(1 / step))
    grid = []
    for a in range(steps + 1):
        for b in range(steps + 1 - a):
            c = steps - a - b
            if sum(1 for x in (a, b, c) if x) >= 2:
                grid.append(dict(zip(BASE_CANDIDATES, (a / steps, b / steps, c / steps), strict=True)))
    return grid


def make_base(name: str, neighbours: int, lexical_weight: float):
    if name == EMBEDDING_LINEAR:
        return EmbeddingLinear()
    if name == TFIDF_LINEAR:
        return TfidfLinear()
    if name == SIMILARITY_VOTE:
        return SimilarityVote(neighbours, lexical_weight)
    raise ValueError(f"no base candidate {name!r}; use one of {BASE_CANDIDATES}")
