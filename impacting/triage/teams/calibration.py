"""Calibration: one curve that turns any candidate's scores into probabilities for all teams."""

from __future__ import annotations

import numpy as np


class Calibrator:
    """Probability from a score and the team's base rate (per team, or per request and team),
    one curve for all teams.

    p = sigmoid(a * logit(score) + b * log(base rate) + c), fitted on out-of-fold scores.
    Falls back to the raw score when the fit is impossible or not increasing in the score.
    """

    def __init__(self) -> None:
        self.coef: np.ndarray | None = None

    @staticmethod
    def _features(scores: np.ndarray, priors: np.ndarray) -> np.ndarray:
        s = np.clip(scores, 1e-4, 1 - 1e-4)
        logits = np.log(s / (1 - s))
        # one prior per team, or one per (request, team) (`teams.priors`)
        log_prior = np.broadcast_to(np.log(priors) if np.ndim(priors) == 2 else np.log(priors)[None, :],
                                    scores.shape)
        return np.column_stack([logits.ravel(), log_prior.ravel()])

    def fit(self, scores: np.ndarray, labels: np.ndarray, priors: np.ndarray) -> Calibrator:
        from sklearn.linear_model import LogisticRegression

        y = labels.ravel()
        if scores.size == 0 or y.min() == y.max():
            return self
        model = LogisticRegression(C=100.0, max_iter=1000).fit(self._features(scores, priors), y)
        if model.coef_[0][0] > 0:
            self.coef = np.r_[model.coef_[0], model.intercept_[0]]
        return self

    def __call__(self, scores: np.ndarray, priors: np.ndarray) -> np.ndarray:
        if self.coef is None:
            return np.clip(scores, 0.0, 1.0)
        features = self._features(scores, priors)
        z = features @ self.coef[:2] + self.coef[2]
        return (1 / (1 + np.exp(-z))).reshape(scores.shape)
