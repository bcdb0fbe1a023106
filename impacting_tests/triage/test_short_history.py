"""A history too short for the recall target: said so, likely teams notified, the rest ranked
as unsure within the reading budget; and team priors that follow drift and the project."""

import numpy as np

from impacting.triage.corpus import Request
from impacting.triage.metrics import NOT_NOTIFIED, NOTIFY, UNSURE
from impacting.triage.predict import triage
from impacting.triage.teams import TeamModelConfig, fit_team_model
from impacting.triage.teams.budget import capped_decisions, reading_cap
from impacting.triage.teams.priors import ContextPriors
from impacting_tests.triage.synthetic import synthetic_corpus, team_sets

MANY_TEAMS = [f"team-{k}" for k in range(14)]


def test_capped_decisions_notify_the_sure_and_rank_the_rest_within_the_cap():
    probabilities = np.array([[0.9, 0.5, 0.4, 0.3, 0.2], [0.2, 0.1, 0.6, 0.05, 0.5]])
    notify = probabilities >= 0.8
    unsure = probabilities >= 0.25
    decisions = capped_decisions(probabilities, notify, unsure, cap=3)
    assert list(decisions[0]) == [NOTIFY, UNSURE, UNSURE, NOT_NOTIFIED, NOT_NOTIFIED]
    assert list(decisions[1]) == [NOT_NOTIFIED, NOT_NOTIFIED, UNSURE, NOT_NOTIFIED, UNSURE]
    assert reading_cap(0.4, 21) == 8 and reading_cap(0.01, 5) == 1


def test_a_short_noisy_history_says_so_and_asks_at_most_the_budget():
    history = synthetic_corpus(team_sets(40, MANY_TEAMS, seed=4), noise=2.0)
    config = TeamModelConfig(folds=3, combination_step=0.5, reading_budget=0.3)
    model = fit_team_model(history, config)
    support = model.cv["history"]
    assert not support["supports_target"]
    assert support["notify_per_request_at_target"] > 0.3 * len(model.teams)
    assert "history too short" in model.history_note
    fresh = synthetic_corpus(team_sets(30, MANY_TEAMS, seed=5), noise=2.0, start_year=2030)
    result = triage(model, fresh, explain=True)
    asked = ((result.decisions == NOTIFY) | (result.decisions == UNSURE)).sum(axis=1)
    assert asked.max() <= reading_cap(0.3, len(model.teams))
    assert (result.decisions == NOTIFY).sum(axis=1).mean() < support["notify_per_request_at_target"]
    unsure = [d for row in result.team_decisions for d in row if d.decision == UNSURE]
    assert unsure and all("history too short" in d.reason for d in unsure)
    left_out = [d for row in result.team_decisions for d in row if d.decision == NOT_NOTIFIED]
    beyond_cap = [d for d in left_out if d.probability >= d.unsure_threshold]
    assert beyond_cap and all("reading budget went to likelier teams" in d.reason for d in beyond_cap)


def test_a_history_that_supports_the_target_decides_as_before():
    history = synthetic_corpus(team_sets(150, ["apps", "network", "node", "storage", "auth"]))
    model = fit_team_model(history, TeamModelConfig(folds=3, combination_step=0.5))
    assert model.cv["history"]["supports_target"] and model.reading_cap is None
    assert model.history_note is None


def test_priors_follow_recent_history_and_the_request_s_project():
    requests = [Request(f"A-{i}", "", "", (), f"2010-01-{1 + i:02d}") for i in range(10)] + \
               [Request(f"A-{i}", "", "", (), f"2020-01-{1 + i:02d}") for i in range(10, 20)] + \
               [Request(f"B-{i}", "", "", (), f"2020-02-{1 + i:02d}") for i in range(10)]
    labels = np.zeros((30, 2))
    labels[:10, 0] = 1          # project A's old requests went to team 0...
    labels[10:20, 1] = 1        # ...its recent ones to team 1
    labels[20:, 0] = 1          # project B's to team 0
    new_a = [Request("A-99", "", "", (), "2020-06-01")]
    new_b = [Request("B-99", "", "", (), "2020-06-01")]
    flat = ContextPriors(half_life_days=None).fit(requests, labels)
    drift = ContextPriors(half_life_days=365).fit(requests, labels)
    assert drift(new_a)[0, 1] > flat(new_a)[0, 1] + 0.15
    assert drift(new_b)[0, 0] > 0.5 > drift(new_a)[0, 0]
