"""The team model's mechanics: cross-validation, fallback for rare teams, thresholds, decisions."""

import numpy as np
import pytest

from impacting.triage.metrics import NOTIFY, UNSURE, decision_metrics
from impacting.triage.predict import triage
from impacting.triage.teams import (
    ROLLING,
    TeamModelConfig,
    fit_team_model,
    team_thresholds,
    temporal_folds,
)
from impacting.triage.teams.candidates import CANDIDATES, SIMILARITY_VOTE
from impacting_tests.triage.synthetic import synthetic_corpus, team_sets

TEAMS = ["apps", "network", "node", "storage", "auth"]
CONFIG = TeamModelConfig(folds=3, combination_step=0.5)


@pytest.fixture(scope="module")
def history():
    sets = team_sets(150, TEAMS) + [("security",)] + team_sets(20, TEAMS, seed=7) + [("windows",)] * 2
    return synthetic_corpus(sets)


@pytest.fixture(scope="module")
def model(history):
    return fit_team_model(history, CONFIG)


def test_folds_follow_time_and_hold_every_request_out_once(history):
    folds = temporal_folds(history, 3, "blocked")
    held = np.concatenate([h for _, h in folds])
    assert sorted(held) == list(range(len(history)))
    rolling = temporal_folds(history, 3, ROLLING)
    for train, held_out in rolling:
        newest_train = max(history.requests[i].created for i in train)
        assert newest_train <= min(history.requests[i].created for i in held_out)


def test_keeps_a_cross_validated_candidate_and_knows_every_team(model):
    assert model.chosen in CANDIDATES
    assert set(model.cv["candidates"]) == set(CANDIDATES)
    assert set(model.teams) == {*TEAMS, "security", "windows"}
    # "windows" is seen only in the newest requests (absent from every earlier fold) and
    # "security" once: neither breaks training, and both fall back to the similarity vote.
    assert model.rare[model.teams.index("security")] and model.rare[model.teams.index("windows")]
    assert not model.rare[model.teams.index("apps")]


def test_rare_teams_take_the_similarity_vote(model, history):
    base = model.base_scores(history)
    j = model.teams.index("security")
    for candidate in ("embedding_linear", "tfidf_linear"):
        assert np.allclose(model.scores(history, candidate, base)[:, j], base[SIMILARITY_VOTE][:, j])
    # The combination averages its members' probabilities: for a rare team, all come from the vote.
    altered = {**base, "embedding_linear": base["embedding_linear"] * 0,
               "tfidf_linear": base["tfidf_linear"] * 0}
    assert np.allclose(model.scores(history, "combination", altered)[:, j],
                       model.scores(history, "combination", base)[:, j])


def test_probabilities_are_calibrated_and_decisions_reach_the_target_on_new_requests(model):
    fresh = synthetic_corpus(team_sets(200, TEAMS, seed=3), seed=0)
    probabilities = model.probabilities(fresh)
    assert probabilities.min() >= 0 and probabilities.max() <= 1
    truth = [set(r.teams) for r in fresh.requests]
    out = decision_metrics(truth, model.teams, model.decide(probabilities))
    assert out["notify_recall"] >= 0.9
    assert out["reading_saved"] > 0.3
    # Calibration: among pairs given about 0.8 or more, most are true.
    labels = np.array([[t in labels for t in model.teams] for labels in truth])
    high = probabilities >= 0.8
    assert labels[high].mean() > 0.7


def test_unsure_band_lies_below_the_notify_threshold(model):
    assert np.all(model.unsure_thresholds <= model.notify_thresholds)
    probabilities = np.tile(model.notify_thresholds, (1, 1))
    assert set(model.decide(probabilities)[0]) == {NOTIFY}


def test_the_unsure_band_asks_for_a_look_on_new_requests(model):
    fresh = synthetic_corpus(team_sets(200, TEAMS, seed=3), seed=0)
    decisions = model.decide(model.probabilities(fresh))
    assert (decisions == UNSURE).any()
    [banded, *_] = np.flatnonzero(model.unsure_thresholds < model.notify_thresholds)
    inside = model.notify_thresholds.copy()
    inside[banded] = (model.unsure_thresholds[banded] + model.notify_thresholds[banded]) / 2
    assert model.decide(inside[None, :])[0][banded] == UNSURE


def test_thresholds_keep_the_target_share_of_each_teams_requests():
    rng = np.random.default_rng(0)
    probabilities = rng.random((400, 2))
    labels = (rng.random((400, 2)) < 0.3).astype(int)
    thresholds = team_thresholds(probabilities, labels, 0.9, shrinkage=0.0)
    for j in range(2):
        positives = probabilities[labels[:, j] == 1, j]
        assert (positives >= thresholds[j]).mean() >= 0.9
    pooled = team_thresholds(probabilities, labels, 0.9, shrinkage=1e9)
    assert np.allclose(pooled, pooled[0])


def test_one_past_request_still_gives_a_model():
    single = synthetic_corpus([("apps",)])
    model = fit_team_model(single, CONFIG)
    assert model.teams == ["apps"] and model.chosen == SIMILARITY_VOTE


def test_no_past_request_with_a_team_says_what_to_do():
    empty = synthetic_corpus([("apps",)]).with_teams([()])
    with pytest.raises(ValueError, match="team field"):
        fit_team_model(empty, CONFIG)


def test_nothing_awaiting_triage_gives_empty_decisions(model, history):
    result = triage(model, history.subset([]), [], {})
    assert result.decisions.shape == (0, len(model.teams)) and result.team_decisions == []
