"""A second stage over the first stage's probabilities: teams that work together.

The first stage scores each team on its own. Teams co-occur (an API change often involves the
architecture team; a storage feature rarely involves networking), and how sure the first stage
is about one team says something about the others. The second stage re-estimates each team's
probability with a logistic regression on the log-odds of every team's first-stage probability
and the team's prior, fitted on out-of-fold probabilities (so it learns how the first stage
errs on requests it has not seen). Teams with fewer than `min_positives` past requests keep
their first-stage probability.
"""

from __future__ import annotations

import numpy as np


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


class CoOccurrence:
    def __init__(self, c: float = 0.1, min_positives: int = 5):
        self.c = c
        self.min_positives = min_positives
        self.weights: np.ndarray | None = None     # (teams, teams + 2): every team's logit, log prior, 1
        self.fitted: np.ndarray | None = None      # (teams,) whether the team has its own model

    @staticmethod
    def _features(probabilities: np.ndarray, priors: np.ndarray, j: int) -> np.ndarray:
        priors = np.broadcast_to(priors, probabilities.shape)
        return np.column_stack([_logit(probabilities), np.log(priors[:, j])])

    def fit(self, probabilities: np.ndarray, labels: np.ndarray, priors: np.ndarray) -> CoOccurrence:
        from sklearn.linear_model import LogisticRegression

        n_teams = labels.shape[1]
        self.weights = np.zeros((n_teams, n_teams + 2))
        self.fitted = np.zeros(n_teams, dtype=bool)
        for j in range(n_teams):
            positives = int(labels[:, j].sum())
            if positives < self.min_positives or positives == len(labels):
                continue
            model = LogisticRegression(C=self.c, max_iter=2000)
            model.fit(self._features(probabilities, priors, j), labels[:, j])
            self.weights[j] = np.r_[model.coef_[0], model.intercept_[0]]
            self.fitted[j] = True
        return self

    def __call__(self, probabilities: np.ndarray, priors: np.ndarray) -> np.ndarray:
        out = probabilities.astype(np.float64).copy()
        for j in np.flatnonzero(self.fitted):
            z = self._features(probabilities, priors, j) @ self.weights[j, :-1] + self.weights[j, -1]
            out[:, j] = 1 / (1 + np.exp(-z))
        return out


def cross_fitted(probabilities: np.ndarray, labels: np.ndarray, priors: np.ndarray, fold_of: np.ndarray,
                 c: float, min_positives: int) -> np.ndarray:
    """Second-stage probabilities for each fold from a second stage fitted on the other folds
    (the first-stage probabilities are already out of fold)."""
    out = probabilities.astype(np.float64).copy()
    priors = np.broadcast_to(priors, probabilities.shape)
    for fold in np.unique(fold_of):
        held = fold_of == fold
        stage = CoOccurrence(c, min_positives).fit(probabilities[~held], labels[~held], priors[~held])
        out[held] = stage(probabilities[held], priors[held])
    return out
