"""Team figures: ranking, F1 at a threshold, and what decisions mean for readers."""

import numpy as np
import pytest

from impacting.triage.metrics import (
    NOT_NOTIFIED,
    NOTIFY,
    UNSURE,
    best_f1_threshold,
    decision_metrics,
    f1_scores,
    k_for_recall,
    owner_top1,
    recall_at_k,
)

TEAMS = ["apps", "network", "node", "storage"]
SCORES = np.array([
    [0.9, 0.1, 0.5, 0.2],   # truth: apps, node
    [0.1, 0.8, 0.3, 0.7],   # truth: storage
    [0.2, 0.3, 0.6, 0.1],   # truth: node + "security" (never seen in training)
])
TRUTH = [{"apps", "node"}, {"storage"}, {"node", "security"}]


def test_recall_at_k_counts_unseen_labels_as_misses():
    assert recall_at_k(TRUTH, TEAMS, SCORES, 1) == pytest.approx(2 / 5)
    assert recall_at_k(TRUTH, TEAMS, SCORES, 2) == pytest.approx(4 / 5)
    # Even every known team cannot reach the unseen label: 95% is out of reach.
    assert recall_at_k(TRUTH, TEAMS, SCORES, 4) == pytest.approx(4 / 5)
    assert k_for_recall(TRUTH, TEAMS, SCORES, 0.95) is None
    assert k_for_recall(TRUTH[:2], TEAMS, SCORES[:2], 0.95) == 2


def test_f1_and_its_best_threshold():
    micro, macro = f1_scores(TRUTH, TEAMS, SCORES >= 0.5)
    # picked: apps,node | network,storage | node -> tp 4, fp 1, fn 1 (security)
    assert micro == pytest.approx(8 / 10)
    # per label: apps 1, node 1, storage 1, network 0, security 0
    assert macro == pytest.approx(3 / 5)
    threshold = best_f1_threshold(TRUTH, TEAMS, SCORES)
    assert f1_scores(TRUTH, TEAMS, SCORES >= threshold)[0] >= micro
    assert 0.3 < threshold <= 0.5


def test_owner_top1_only_counts_requests_with_an_owner():
    assert owner_top1(["apps", None, "network"], TEAMS, SCORES) == pytest.approx(1 / 2)
    assert owner_top1([None, None, None], TEAMS, SCORES) is None


def test_decision_metrics_say_what_readers_are_spared():
    decisions = np.array([
        [NOTIFY, NOT_NOTIFIED, UNSURE, NOT_NOTIFIED],
        [NOT_NOTIFIED, NOT_NOTIFIED, NOT_NOTIFIED, NOTIFY],
        [NOT_NOTIFIED, NOT_NOTIFIED, NOTIFY, NOT_NOTIFIED],
    ], dtype=object)
    out = decision_metrics(TRUTH, TEAMS, decisions)
    assert out["notify_recall"] == pytest.approx(3 / 5)
    assert out["unsure_or_notify_recall"] == pytest.approx(4 / 5)
    assert out["notify_per_request"] == pytest.approx(1.0)
    assert out["unsure_per_request"] == pytest.approx(1 / 3)
    assert out["reading_saved"] == pytest.approx(np.mean([1 - 2 / 4, 1 - 1 / 4, 1 - 1 / 4]))
