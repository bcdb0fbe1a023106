"""`impacting eval --section teams --section similar` on real tickets: the figures users get."""

import json

import pytest

from impacting.cli import main
from impacting_tests.conftest import FIXTURES

pytestmark = pytest.mark.slow

TEAM_FIGURES = ("notify_recall", "notify_per_request", "unsure_per_request", "unsure_or_notify_recall",
                "reading_saved", "micro_f1", "macro_f1", "recall_at_3", "k_for_95_recall")


def test_eval_reports_team_decisions_ranking_and_similar_projects(tmp_path, monkeypatch):
    text = (FIXTURES / "triage_tickets.bench.jsonl").read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if line.strip()]
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:34]) + "\n", encoding="utf-8")
    (tmp_path / "test.jsonl").write_text("\n".join(lines[34:]) + "\n", encoding="utf-8")
    monkeypatch.setenv("IMPACTING_TRIAGE_CV_FOLDS", "3")
    out = tmp_path / "results.json"

    assert main(["eval", "--train", str(tmp_path / "train.jsonl"), "--test", str(tmp_path / "test.jsonl"),
                 "--out", str(out), "--section", "teams", "--section", "similar"]) == 0

    results = json.loads(out.read_text())
    teams, similar = results["teams"], results["similar"]
    for figure in TEAM_FIGURES:
        assert figure in teams, figure
    assert 0 <= teams["notify_recall"] <= teams["unsure_or_notify_recall"] <= 1
    assert 0 <= teams["reading_saved"] <= 1 and teams["n_test"] == 12
    assert "owner_top1" not in teams  # these records have no owner_team
    assert set(teams["candidates"]) == {"embedding_linear", "tfidf_linear", "similarity_vote",
                                        "combination"}
    assert teams["chosen"] in teams["candidates"]
    # Linked tickets resemble each other: the fused search finds most links in its top 10.
    assert similar["n_queries"] > 0 and similar["recall_at_10"] > 0.5
    assert 0 < similar["mrr"] <= 1 and similar["recall_at_5"] <= similar["recall_at_10"]
    assert set(similar["modes"]) == {"hybrid", "lexical", "semantic"}


def test_eval_themes_reports_k_silhouette_agreement_with_teams_and_the_tfidf_baseline(tmp_path):
    text = (FIXTURES / "triage_tickets.bench.jsonl").read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if line.strip()]
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:34]) + "\n", encoding="utf-8")
    (tmp_path / "test.jsonl").write_text("\n".join(lines[34:]) + "\n", encoding="utf-8")
    out = tmp_path / "results.json"

    assert main(["eval", "--train", str(tmp_path / "train.jsonl"), "--test", str(tmp_path / "test.jsonl"),
                 "--out", str(out), "--section", "themes"]) == 0

    themes = json.loads(out.read_text())["themes"]
    assert themes["n_requests"] == len(lines) and themes["teams_from"] == "first team"
    assert themes["k"] in [p["k"] for p in themes["curve"]] and themes["method"] in ("elbow", "silhouette")
    assert -1 <= themes["silhouette"] <= 1 and 0 <= themes["nmi_teams"] <= 1
    baseline = themes["baselines"]["tfidf_kmeans"]
    assert 0 <= baseline["nmi_teams"] <= 1 and 0 <= baseline["nmi_teams_at_our_k"] <= 1 and baseline["k"] >= 2
    assert set(themes["by_method"]) == {"elbow", "silhouette"}
    assert len(themes["themes"]) == themes["k"] and all(t["label"] for t in themes["themes"])
    assert themes["stability"]["additions"] == 5
    assert themes["stability"]["labels_changed_max"] == max(t["labels_changed"]
                                                            for t in themes["stability"]["trials"])
