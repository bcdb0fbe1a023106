"""Per-team notify and unsure thresholds, chosen on held-out folds for the target recall.

Per team, the notify threshold is the probability that keeps the target share of that team's
past requests (default 95%) above it, pulled toward the threshold of all teams pooled by a
number of pseudo-examples (cross-validation picks how many: the fewest notifications at the
target). The share used is raised until thresholds chosen on the other folds reach the target
on the held-out fold, so the promise holds on requests the thresholds were not chosen on. The
unsure band is the same for a higher recall, within the reading budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from impacting.triage.metrics import NOT_NOTIFIED, NOTIFY, UNSURE

if TYPE_CHECKING:
    from impacting.triage.teams.fitting import TeamModelConfig


def _low_quantile(values: np.ndarray, level: float) -> float | None:
    """The largest threshold that keeps at least `level` of `values` at or above it."""
    if not len(values):
        return None
    ordered = np.sort(values)
    allowed_misses = int(np.floor((1 - level) * len(ordered) + 1e-9))
    return float(ordered[min(allowed_misses, len(ordered) - 1)])


def team_thresholds(probabilities: np.ndarray, labels: np.ndarray, level: float,
                    shrinkage: float) -> np.ndarray:
    """Per team: the probability above which `level` of its past requests fall, shrunk (in
    log space) toward the threshold of all teams pooled by `shrinkage` pseudo-examples."""
    pooled = _low_quantile(probabilities[labels == 1], level)
    pooled = 0.5 if pooled is None else max(pooled, 1e-6)
    out = np.full(labels.shape[1], pooled)
    for j in range(labels.shape[1]):
        positives = probabilities[labels[:, j] == 1, j]
        own = _low_quantile(positives, level)
        if own is None:
            continue
        weight = len(positives) / (len(positives) + shrinkage)
        out[j] = np.exp(weight * np.log(max(own, 1e-6)) + (1 - weight) * np.log(pooled))
    return out


def _cross_fitted_hits(probabilities: np.ndarray, labels: np.ndarray, fold_of: np.ndarray,
                       level: float, shrinkage: float) -> np.ndarray:
    """Held-out rows marked where thresholds chosen on the other folds would notify."""
    notified = np.zeros(labels.shape, dtype=bool)
    for fold in np.unique(fold_of):
        held = fold_of == fold
        thresholds = team_thresholds(probabilities[~held], labels[~held], level, shrinkage)
        notified[held] = probabilities[held] >= thresholds
    return notified


def choose_level(probabilities: np.ndarray, labels: np.ndarray, fold_of: np.ndarray,
                 target: float, shrinkage: float) -> float:
    """The smallest quantile level whose cross-fitted thresholds reach `target` recall."""
    total = labels.sum()
    if not total or len(np.unique(fold_of)) < 2:
        return target
    for level in np.r_[np.arange(target, 0.999, 0.0025), 0.999, 1.0]:
        notified = _cross_fitted_hits(probabilities, labels, fold_of, level, shrinkage)
        if (notified & (labels == 1)).sum() / total >= target:
            return float(level)
    return 1.0


@dataclass(frozen=True)
class ThresholdPlan:
    notify: np.ndarray            # per team
    unsure: np.ndarray            # per team, at most `notify`
    notify_level: float
    unsure_level: float
    shrinkage: float
    cross_fitted: np.ndarray      # decisions on the held-out folds with thresholds from the others


def choose_thresholds(probabilities: np.ndarray, labels: np.ndarray, fold_of: np.ndarray,
                      config: TeamModelConfig) -> ThresholdPlan:
    """Per-team notify and unsure thresholds from out-of-fold probabilities.

    For each candidate shrinkage (how far a team's threshold is pulled toward the pooled one),
    the quantile level is raised until thresholds chosen on the other folds notify the target
    share of true teams on the held-out fold; the shrinkage that then notifies the fewest teams
    per request is kept. Teams with little history need the pull; teams with a lot keep their
    own threshold.

    Recall comes first: the notify thresholds are never raised to save reading. The unsure band
    then reaches down toward the thresholds for `unsure_recall`, but only as far as keeps the
    teams asked to read (notified + unsure) within `reading_budget` of the known teams per
    request in every cross-validation fold; when notifying alone uses the budget up, the band
    is empty.
    """
    best = None
    for shrinkage in config.shrinkage_grid:
        level = choose_level(probabilities, labels, fold_of, config.target_recall, shrinkage)
        notified = _cross_fitted_hits(probabilities, labels, fold_of, level, shrinkage)
        recall = (notified & (labels == 1)).sum() / max(labels.sum(), 1)
        # Reaching the target comes first; then the fewest notifications.
        key = (recall < config.target_recall - 1e-9, notified.sum())
        if best is None or key < best[0]:
            best = (key, shrinkage, level, notified)
    _, shrinkage, notify_level, notified = best
    unsure_level = _unsure_level(probabilities, labels, fold_of, config, shrinkage, notify_level,
                                 notified)
    notify = team_thresholds(probabilities, labels, notify_level, shrinkage)
    unsure = np.minimum(notify, team_thresholds(probabilities, labels, unsure_level, shrinkage))
    decisions = np.full(probabilities.shape, NOT_NOTIFIED, dtype=object)
    decisions[_cross_fitted_hits(probabilities, labels, fold_of, unsure_level, shrinkage)] = UNSURE
    decisions[notified] = NOTIFY
    return ThresholdPlan(notify, unsure, notify_level, unsure_level, shrinkage, decisions)


def _unsure_level(probabilities: np.ndarray, labels: np.ndarray, fold_of: np.ndarray,
                  config: TeamModelConfig, shrinkage: float, notify_level: float,
                  notified: np.ndarray) -> float:
    """The deepest unsure level (at most the one for `unsure_recall`) within the reading budget
    in every fold: the folds are periods of history, and the promise must hold in each."""
    wanted = max(notify_level, choose_level(probabilities, labels, fold_of, config.unsure_recall,
                                            shrinkage))
    budget = config.reading_budget * labels.shape[1]
    folds = np.unique(fold_of)
    level = wanted
    while level > notify_level + 1e-9:
        asked = (notified | _cross_fitted_hits(probabilities, labels, fold_of, level, shrinkage)).sum(axis=1)
        if max(asked[fold_of == fold].mean() for fold in folds) <= budget + 1e-9:
            return level
        level = max(notify_level, level - 0.0025)
    return notify_level
