"""Feedback from the CSV drop folder and from Jira's team field, and what it does to labels."""

from datetime import UTC, datetime

from impacting.triage.feedback import (
    jira_feedback,
    latest_verdicts,
    read_feedback_folder,
    training_teams,
)


def test_csv_lines_become_decisions_and_bad_lines_are_reported_not_fatal(tmp_path):
    (tmp_path / "week1.csv").write_text(
        "request,team,verdict,author,at,note\n"
        "KEP-1,sig-storage,confirmed,alice,2024-05-02,owns CSI\n"
        "KEP-1,sig-node,no,bob,,\n"
        "KEP-2,sig-apps,maybe,carol,,\n"
        ",sig-apps,yes,,,\n"
        "KEP-3,sig-auth,yes,dan,02/05/2024,\n"
        "\n", encoding="utf-8")
    (tmp_path / "broken.csv").write_text("key,who\nKEP-1,alice\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a csv", encoding="utf-8")

    rows, problems = read_feedback_folder(tmp_path)

    assert [(r.request_key, r.team, r.confirmed, r.author) for r in rows] == [
        ("KEP-1", "sig-storage", True, "alice"), ("KEP-1", "sig-node", False, "bob")]
    assert rows[0].recorded_at == datetime(2024, 5, 2, tzinfo=UTC) and rows[0].note == "owns CSI"
    assert rows[0].origin == "week1.csv:2"
    assert any(p.startswith("broken.csv:") and "team, verdict" in p for p in problems)
    assert any("week1.csv:4" in p and "'maybe'" in p for p in problems)
    assert any("week1.csv:5" in p and "request and team" in p for p in problems)
    assert any("week1.csv:6" in p and "ISO date" in p for p in problems)


def test_a_missing_folder_means_no_feedback_yet(tmp_path):
    assert read_feedback_folder(tmp_path / "nowhere") == ([], [])


def test_jira_team_field_filled_in_later_confirms_and_rejects_what_the_model_said():
    now = datetime(2024, 6, 1, tzinfo=UTC)
    previous = [("KEP-9", "sig-node", "notify"), ("KEP-9", "sig-apps", "notify"),
                ("KEP-9", "sig-auth", "not_notified"), ("KEP-10", "sig-node", "notify")]
    rows = jira_feedback({"KEP-9": ["sig-node", "sig-storage"], "KEP-10": []}, previous,
                         "components", now)
    assert {(r.request_key, r.team, r.confirmed) for r in rows} == {
        ("KEP-9", "sig-node", True), ("KEP-9", "sig-storage", True), ("KEP-9", "sig-apps", False)}
    assert all(r.source == "jira" and r.origin == "Jira field components" for r in rows)


def test_feedback_changes_training_labels_and_the_newest_decision_wins(tmp_path):
    (tmp_path / "a.csv").write_text(
        "request,team,verdict,at\n"
        "KEP-1,sig-node,rejected,2024-01-01\n"
        "KEP-1,sig-node,confirmed,2024-02-01\n"
        "KEP-1,sig-apps,rejected,2024-02-01\n"
        "KEP-5,sig-auth,confirmed,2024-02-01\n", encoding="utf-8")
    rows, _ = read_feedback_folder(tmp_path)
    assert latest_verdicts(rows)[("KEP-1", "sig-node")].confirmed
    labels = training_teams({"KEP-1": ("sig-apps",), "KEP-2": ("sig-cli",), "KEP-5": ()}, rows)
    assert labels == {"KEP-1": ("sig-node",), "KEP-2": ("sig-cli",), "KEP-5": ("sig-auth",)}
