"""How good team scores and decisions are: the figures cross-validation and `impacting eval` report.

Truth is a set of team names per request and may hold teams the model has never seen; those
count as misses everywhere (a needed team nobody can notify is still a missed team).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NOTIFY, UNSURE, NOT_NOTIFIED = "notify", "unsure", "not_notified"


def _hits(truth: Sequence[set[str]], teams: Sequence[str], picked: np.ndarray) -> tuple[int, int]:
    """(true labels picked, true labels) where picked is a boolean (n, len(teams)) matrix."""
    index = {t: j for j, t in enumerate(teams)}
    hit = total = 0
    for row, labels in zip(picked, truth, strict=True):
        total += len(labels)
        hit += sum(1 for label in labels if label in index and row[index[label]])
    return hit, total


def top_k_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean matrix marking each row's k highest scores (ties broken by column order)."""
    mask = np.zeros(scores.shape, dtype=bool)
    if scores.size == 0 or k <= 0:
        return mask
    k = min(k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.put_along_axis(mask, order, True, axis=1)
    return mask


def recall_at_k(truth: Sequence[set[str]], teams: Sequence[str], scores: np.ndarray, k: int) -> float:
    hit, total = _hits(truth, teams, top_k_mask(scores, k))
    return hit / total if total else 0.0


def k_for_recall(truth: Sequence[set[str]], teams: Sequence[str], scores: np.ndarray,
                 target: float = 0.95) -> int | None:
    """The smallest k whose top-k covers `target` of the true labels; None if no k does."""
    for k in range(1, len(teams) + 1):
        if recall_at_k(truth, teams, scores, k) >= target - 1e-12:
            return k
    return None


def owner_top1(owners: Sequence[str | None], teams: Sequence[str], scores: np.ndarray) -> float | None:
    """Share of requests with a known owner whose highest-scored team is the owner."""
    rows = [(i, o) for i, o in enumerate(owners) if o]
    if not rows or not len(teams):
        return None
    best = np.argmax(scores, axis=1)
    return sum(1 for i, owner in rows if teams[best[i]] == owner) / len(rows)


def f1_scores(truth: Sequence[set[str]], teams: Sequence[str], picked: np.ndarray) -> tuple[float, float]:
    """(micro F1, macro F1); macro averages over the labels that are true or picked somewhere."""
    per_label: dict[str, list[int]] = {}  # label -> [tp, fp, fn]
    for row, labels in zip(picked, truth, strict=True):
        chosen = {teams[j] for j in np.flatnonzero(row)}
        for label in chosen | labels:
            counts = per_label.setdefault(label, [0, 0, 0])
            if label in chosen and label in labels:
                counts[0] += 1
            elif label in chosen:
                counts[1] += 1
            else:
                counts[2] += 1
    if not per_label:
        return 0.0, 0.0
    tp, fp, fn = (sum(c[i] for c in per_label.values()) for i in range(3))
    micro = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    macro = float(np.mean([2 * a / (2 * a + b + c) if a else 0.0 for a, b, c in per_label.values()]))
    return micro, macro


def best_f1_threshold(truth: Sequence[set[str]], teams: Sequence[str], scores: np.ndarray) -> float:
    """The single score threshold (predict score >= threshold) that maximises micro-F1."""
    index = {t: j for j, t in enumerate(teams)}
    positive = np.zeros(scores.shape, dtype=bool)
    total_true = 0
    for i, labels in enumerate(truth):
        total_true += len(labels)
        for label in labels:
            if label in index:
                positive[i, index[label]] = True
    flat, is_true = scores.ravel(), positive.ravel()
    if not flat.size or not total_true:
        return 0.5
    order = np.argsort(-flat, kind="stable")
    sorted_scores, tp = flat[order], np.cumsum(is_true[order])
    predicted = np.arange(1, flat.size + 1)
    f1 = 2 * tp / (predicted + total_true)
    # Only cut between distinct scores, so the threshold reproduces the counted prediction.
    last_of_run = np.r_[sorted_scores[1:] < sorted_scores[:-1], True]
    f1 = np.where(last_of_run, f1, -1.0)
    best = int(np.argmax(f1))
    below = sorted_scores[best + 1] if best + 1 < flat.size else sorted_scores[best] - 1e-6
    return float((sorted_scores[best] + below) / 2)


def ranking_metrics(truth: Sequence[set[str]], teams: Sequence[str], scores: np.ndarray,
                    f1_threshold: float, owners: Sequence[str | None] | None = None,
                    with_k: bool = True) -> dict:
    """Ranking quality: recall@3, k for 95% recall, F1 at a fixed global threshold, owner top-1."""
    micro, macro = f1_scores(truth, teams, scores >= f1_threshold)
    out = {
        "recall_at_3": recall_at_k(truth, teams, scores, 3),
        "micro_f1": micro,
        "macro_f1": macro,
        "f1_threshold": f1_threshold,
    }
    if with_k:
        out["k_for_95_recall"] = k_for_recall(truth, teams, scores, 0.95)
    if owners is not None:
        out["owner_top1"] = owner_top1(owners, teams, scores)
    return out


def decision_metrics(truth: Sequence[set[str]], teams: Sequence[str], decisions: np.ndarray) -> dict:
    """What the product's decisions mean for readers.

    `decisions` is an (n, len(teams)) array of NOTIFY / UNSURE / NOT_NOTIFIED. Reading saved is
    1 - (notified + unsure) / teams the model knows, averaged over requests.
    """
    notify = decisions == NOTIFY
    unsure = decisions == UNSURE
    notify_hit, total = _hits(truth, teams, notify)
    either_hit, _ = _hits(truth, teams, notify | unsure)
    n = max(len(truth), 1)
    known = max(len(teams), 1)
    return {
        "notify_recall": notify_hit / total if total else 0.0,
        "unsure_or_notify_recall": either_hit / total if total else 0.0,
        "notify_per_request": float(notify.sum()) / n,
        "unsure_per_request": float(unsure.sum()) / n,
        "reading_saved": float(np.mean(1 - (notify | unsure).sum(axis=1) / known)) if len(truth) else 0.0,
    }
