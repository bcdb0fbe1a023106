"""`impacting triage`: the brief of a draft file, standard input or a request key, from the shell,
against the published warehouse of the people tests' run."""

import io
import json

import pytest
from bs4 import BeautifulSoup

from impacting.cli import main
from impacting.warehouse.store import Warehouse
from impacting_tests.conftest import SAMPLE
from impacting_tests.people.conftest import HOSTILE_KEY

pytestmark = pytest.mark.slow

DRAFT = SAMPLE / "attachments" / "203107" / "csi-nodeexpandsecret.md"


@pytest.fixture
def against(briefed, monkeypatch):
    monkeypatch.setenv("IMPACTING_WAREHOUSE", str(briefed.warehouse))
    return briefed


def test_a_draft_file_gets_a_complete_brief_with_progress_on_stderr(against, capsys):
    assert main(["triage", str(DRAFT)]) == 0
    out, err = capsys.readouterr()
    for heading in ("## In short", "## Keywords", "## Teams to read", "## Unsure: a person decides",
                    "## Other teams", "## Similar past projects", "## Summary", "## Documents"):
        assert heading in out, heading
    assert "csi-nodeexpandsecret.md" in out and "Team model " in out
    assert "impacting: embedding the draft" in err and "loading models" in err and "the rest" in err


def test_json_for_scripts_and_the_same_decisions_as_the_nightly_brief(against, capsys):
    assert main(["triage", HOSTILE_KEY, "--format", "json", "--words", "40"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("executive_summary", "summary", "keywords", "teams", "similar", "model"):
        assert key in data, key
    for team in data["teams"]:
        assert {"team", "probability", "decision", "reason", "sections"} <= set(team)
        assert team["decision"] in ("notify", "unsure", "not_notified")
    for project in data["similar"]:
        assert {"key", "title", "score", "teams", "people"} <= set(project)
    assert 30 <= len(data["summary"].split()) <= 60
    nightly = against.query(f"SELECT notify_teams, unsure_teams FROM briefs "
                            f"WHERE request_key = '{HOSTILE_KEY}'")
    assert [t["team"] for t in data["teams"] if t["decision"] == "notify"] == list(nightly[0][0])
    assert [t["team"] for t in data["teams"] if t["decision"] == "unsure"] == list(nightly[0][1])
    [(version,)] = against.query("SELECT version FROM models WHERE model_name = 'team_model' "
                                 "AND status = 'accepted'")
    assert data["model"]["version"] == version


def test_standard_input_and_a_standalone_html_page(against, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin", io.StringIO(DRAFT.read_text(encoding="utf-8")))
    out = tmp_path / "brief.html"
    assert main(["triage", "-", "--format", "html", "--out", str(out)]) == 0
    assert f"brief written to {out}" in capsys.readouterr().err
    page = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    assert page.find("nav") is None and page.find("script") is None
    assert page.select("#teams article.team")


def test_no_warehouse_no_model_or_an_unreadable_file_exit_2_saying_what_to_do(
        against, capsys, monkeypatch, tmp_path):
    broken = tmp_path / "draft.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not a PDF")
    assert main(["triage", str(broken)]) == 2
    assert "draft.pdf" in capsys.readouterr().err
    assert main(["triage", "NOPE-1"]) == 2
    assert "neither a file nor a request key" in capsys.readouterr().err

    monkeypatch.setenv("IMPACTING_WAREHOUSE", str(tmp_path / "none" / "impacting.duckdb"))
    assert main(["triage", str(DRAFT)]) == 2
    err = capsys.readouterr().err
    assert "there is no published warehouse at" in err and "run `impacting run` first" in err
    empty = tmp_path / "empty" / "impacting.duckdb"
    Warehouse(empty).publish("test", "export: nothing")
    monkeypatch.setenv("IMPACTING_WAREHOUSE", str(empty))
    assert main(["triage", str(DRAFT)]) == 2
    err = capsys.readouterr().err
    assert "has no accepted team model yet" in err and "IMPACTING_TEAM_FIELD" in err
