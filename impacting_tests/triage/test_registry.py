"""The model registry: artefacts, the `models` table, retraining and the recall guard."""

import copy
import json
from pathlib import Path

import duckdb
import pytest

from impacting.triage.registry import ModelRegistry, corpus_entries, training_fingerprint
from impacting.triage.teams import TeamModelConfig, fit_team_model
from impacting.warehouse.store import ensure_tables
from impacting.warehouse.tables import MODELS
from impacting_tests.triage.synthetic import synthetic_corpus, team_sets

CONFIG = TeamModelConfig(folds=2, combination_step=0.5)


@pytest.fixture(scope="module")
def history():
    return synthetic_corpus(team_sets(60, ["apps", "node", "storage"]))


@pytest.fixture(scope="module")
def model(history):
    return fit_team_model(history, CONFIG)


@pytest.fixture
def registry(tmp_path):
    con = duckdb.connect(str(tmp_path / "working.duckdb"))
    ensure_tables(con, [MODELS])
    yield ModelRegistry(con, tmp_path / "models")
    con.close()


def _worse(model, by: float):
    worse = copy.deepcopy(model)
    worse.cv["decisions"]["notify_recall"] -= by
    return worse


def test_fingerprint_changes_with_labels_words_and_settings(history):
    entries = corpus_entries(history)
    base = training_fingerprint(entries, CONFIG, "all-MiniLM-L6-v2")
    assert base == training_fingerprint(entries, CONFIG, "all-MiniLM-L6-v2")
    relabelled = history.with_teams([("apps",)] + [r.teams for r in history.requests[1:]])
    assert training_fingerprint(corpus_entries(relabelled), CONFIG, "all-MiniLM-L6-v2") != base
    reworded = [entries[0][:3] + ("another text",), *entries[1:]]
    assert training_fingerprint(reworded, CONFIG, "all-MiniLM-L6-v2") != base
    assert training_fingerprint(entries, TeamModelConfig(target_recall=0.9, folds=2,
                                                         combination_step=0.5),
                                "all-MiniLM-L6-v2") != base
    assert training_fingerprint(entries, CONFIG, "other-model") != base


def test_first_model_is_accepted_and_stored_with_its_metrics(registry, model):
    assert registry.needs_training("abc")
    registration = registry.register(model, "abc", tolerance=0.02)
    assert registration.status == "accepted"
    row, loaded = registry.accepted()
    assert row["version"] == registration.version and loaded.teams == model.teams
    metrics = json.loads((Path(row["artefact"]).parent / "metrics.json").read_text())
    assert metrics["chosen"] == model.chosen
    assert row["cv_recall_at_3"] == pytest.approx(model.cv["candidates"][model.chosen]["recall_at_3"])
    assert not registry.needs_training("abc")
    assert registry.needs_training("changed")


def test_a_model_with_worse_recall_never_replaces_the_accepted_one(registry, model):
    first = registry.register(model, "v1", tolerance=0.02)
    rejected = registry.register(_worse(model, 0.05), "v2", tolerance=0.02)
    assert rejected.status == "rejected" and "notify_recall" in rejected.reason
    assert registry.accepted()[0]["version"] == first.version
    # The same (rejected) training data is not retrained night after night.
    assert not registry.needs_training("v2")
    within = registry.register(_worse(model, 0.01), "v3", tolerance=0.02)
    assert within.status == "accepted"
    statuses = dict(registry.rows()[["version", "status"]].itertuples(index=False))
    assert statuses == {first.version: "superseded", rejected.version: "rejected",
                        within.version: "accepted"}


def test_a_lost_artefact_means_retraining(registry, model):
    registry.register(model, "v1", tolerance=0.02)
    Path(registry.accepted()[0]["artefact"]).unlink()
    assert registry.accepted() is None
    assert registry.needs_training("v1")
