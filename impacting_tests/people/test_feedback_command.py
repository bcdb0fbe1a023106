"""`impacting feedback`: the review queue's answer takes the same path as a dropped CSV file."""

import duckdb

from impacting.cli import main
from impacting.triage.feedback import read_feedback_folder


def published(path):
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:  # the analysts' file, as the last run published it
        con.execute("CREATE TABLE projects (key VARCHAR, teams VARCHAR[])")
        con.execute("INSERT INTO projects VALUES ('KEP-3157', []), ('KEP-1', ['sig-node'])")
        con.execute("CREATE TABLE team_predictions (request_key VARCHAR, team VARCHAR)")
        con.execute("INSERT INTO team_predictions VALUES ('KEP-3157', 'sig-storage')")


def test_a_decision_is_appended_to_the_feedback_folder_and_read_like_any_csv(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "wh" / "impacting.duckdb"
    published(warehouse)
    monkeypatch.setenv("IMPACTING_WAREHOUSE", str(warehouse))
    assert main(["feedback", "KEP-3157", "sig-storage", "confirm", "--by", "alice",
                 "--note", "owns the CSI part"]) == 0
    assert "KEP-3157 sig-storage confirmed by alice" in capsys.readouterr().out
    assert main(["feedback", "KEP-3157", "sig-node", "reject"]) == 0
    decisions, problems = read_feedback_folder(tmp_path / "wh" / "feedback")
    assert problems == []
    assert [(d.request_key, d.team, d.confirmed, d.author, d.note, d.origin) for d in decisions] == [
        ("KEP-3157", "sig-storage", True, "alice", "owns the CSI part", "command-line.csv:2"),
        ("KEP-3157", "sig-node", False, None, None, "command-line.csv:3")]


def test_an_unknown_request_is_refused_and_a_new_team_is_noted(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "wh" / "impacting.duckdb"
    published(warehouse)
    monkeypatch.setenv("IMPACTING_WAREHOUSE", str(warehouse))
    assert main(["feedback", "KEP-9999", "sig-storage", "confirm"]) == 2
    assert "there is no request KEP-9999" in capsys.readouterr().err
    assert not (tmp_path / "wh" / "feedback").exists()
    assert main(["feedback", "KEP-3157", "sig-brand-new", "confirm"]) == 0
    assert "has not seen" in capsys.readouterr().err


def test_a_routing_file_with_a_mistake_stops_impacting_run_naming_the_line(tmp_path, monkeypatch, capsys):
    routing = tmp_path / "routing.yaml"
    routing.write_text("teams:\n  sig-a: {slak: x}\n", encoding="utf-8")
    monkeypatch.setenv("IMPACTING_WAREHOUSE", str(tmp_path / "wh" / "impacting.duckdb"))
    monkeypatch.setenv("IMPACTING_ROUTING_FILE", str(routing))
    assert main(["run"]) == 2
    assert "routing.yaml:2: unknown key 'slak'" in capsys.readouterr().err
    assert not (tmp_path / "wh").exists()
