"""`impacting eval --section teams --section briefs`: what the test records' briefs ask of readers."""

import json

import pytest

from impacting.cli import main
from impacting_tests.conftest import FIXTURES

pytestmark = pytest.mark.slow


def test_briefs_list_exactly_the_teams_the_evaluation_counts_and_say_how_much_to_read(tmp_path,
                                                                                      monkeypatch):
    text = (FIXTURES / "triage_tickets.bench.jsonl").read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if line.strip()]
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:34]) + "\n", encoding="utf-8")
    (tmp_path / "test.jsonl").write_text("\n".join(lines[34:]) + "\n", encoding="utf-8")
    monkeypatch.setenv("IMPACTING_TRIAGE_CV_FOLDS", "3")
    out = tmp_path / "results.json"

    assert main(["eval", "--train", str(tmp_path / "train.jsonl"), "--test", str(tmp_path / "test.jsonl"),
                 "--out", str(out), "--section", "teams", "--section", "briefs"]) == 0

    results = json.loads(out.read_text())
    briefs = results["briefs"]
    assert briefs["teams_to_read_recall"] == pytest.approx(results["teams"]["unsure_or_notify_recall"])
    assert briefs["matches_eval"] is True and briefs["n_test"] == 12
    assert briefs["notified_pairs"] >= 12 and 0 < briefs["section_share"] <= 1
    assert briefs["pairs_with_sections"] <= briefs["notified_pairs"]
