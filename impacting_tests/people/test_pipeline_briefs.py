"""Briefs and the site in the nightly job, on a small real export with hostile and empty requests."""

import pytest

from impacting.people.paths import safe_name
from impacting_tests.conftest import copy_sample, failures, metadata_values, run_pipeline
from impacting_tests.people.conftest import EMPTY_KEY, HOSTILE_KEY, ODD_TEAM, OPEN_KEPS, SCRIPT

pytestmark = pytest.mark.slow


def test_every_open_request_gets_a_brief_in_the_table_and_the_site(briefed):
    open_keys = {*OPEN_KEPS, HOSTILE_KEY, EMPTY_KEY}
    rows = briefed.query("SELECT request_key, page_path, model_version, markdown, notify_teams "
                         "FROM briefs")
    assert {r[0] for r in rows} == open_keys
    version = briefed.query("SELECT version FROM models WHERE model_name = 'team_model' "
                            "AND status = 'accepted'")[0][0]
    for key, page, model, markdown, notified in rows:
        assert page == f"briefs/{key}.html" and model == version
        assert (briefed.site / page).is_file() and (briefed.site / f"briefs/{key}.md").is_file()
        assert markdown == (briefed.site / f"briefs/{key}.md").read_text(encoding="utf-8")
        if key != EMPTY_KEY:
            assert len(notified) > 0
    # The brief shows exactly the model's decisions.
    assert briefed.query("SELECT count(*) FROM briefs b JOIN (SELECT request_key, list(team ORDER BY rank) "
                         "AS teams FROM team_predictions WHERE decision = 'notify' GROUP BY 1) p "
                         "USING (request_key) WHERE b.notify_teams <> p.teams") == [(0,)]
    teams = {t for (t,) in briefed.query("SELECT DISTINCT unnest(teams) FROM projects")}
    assert ODD_TEAM in teams
    for team in teams:
        assert (briefed.site / "teams" / f"{safe_name(team)}.html").is_file(), team
    assert (briefed.site / "index.html").is_file() and (briefed.site / "delivery.html").is_file()
    index = (briefed.site / "index.html").read_text(encoding="utf-8")
    assert 'href="delivery.html"' in index


def test_each_request_has_its_own_summaries_main_document_first(briefed):
    rows = dict(briefed.query("SELECT request_key, parts FROM request_summaries WHERE kind = 'standard'"))
    document = briefed.query(f"SELECT document_id FROM documents WHERE project_key = '{HOSTILE_KEY}' "
                             "AND extraction_status = 'ok'")[0][0]
    assert rows[HOSTILE_KEY] == [document, f"{HOSTILE_KEY}/description"]
    executive = briefed.query(f"SELECT words, text FROM request_summaries "
                              f"WHERE request_key = '{HOSTILE_KEY}' AND kind = 'executive'")[0]
    assert 20 <= executive[0] <= 90 and "snapshot" in executive[1].lower()
    assert rows[EMPTY_KEY] == []


def test_empty_sections_say_why_and_problems_say_what_to_do(briefed):
    empty = (briefed.site / "briefs" / f"{EMPTY_KEY}.md").read_text(encoding="utf-8")
    assert "nothing to summarise" in empty and "No design document is attached" in empty
    assert "Keywords come from design documents" in empty
    hostile = (briefed.site / "briefs" / f"{HOSTILE_KEY}.md").read_text(encoding="utf-8")
    assert "broken.pdf" in hostile and "**failed**" in hostile
    assert "Read in design" in hostile   # a notified team has sections to read


def test_the_briefs_asset_shows_the_newest_briefs_in_the_ui(briefed):
    meta = {k: v.value for k, v in briefed.metadata["briefs"].items()}
    assert meta["dagster/row_count"] == len(OPEN_KEPS) + 2
    assert meta["newest_1"].startswith("# A request with nothing written yet")   # created last
    assert "Snapshots \\<script\\>" in meta["newest_2"] and SCRIPT not in meta["newest_2"]
    assert meta["seconds_per_brief"] > 0 and "| request |" in meta["at_a_glance"]
    site = {k: v.value for k, v in briefed.metadata["site"].items()}
    assert site["briefs"] == len(OPEN_KEPS) + 2 and site["delivery_report"] == "included"


def test_before_any_model_exists_every_brief_says_why_its_teams_are_missing(tmp_path):
    export = copy_sample(tmp_path / "export", ["KEP-3136", "KEP-3107"])   # no past project
    result = run_pipeline(export, tmp_path / "wh" / "impacting.duckdb")
    assert result.success, failures(result)
    assert metadata_values(result, "briefs")["model_version"] == "none yet"
    brief = (tmp_path / "wh" / "site" / "briefs" / "KEP-3136.md").read_text(encoding="utf-8")
    assert brief.count("No team model yet") >= 3 and "no past projects to compare with yet" in brief
    assert "## In short" in brief and "Keywords come from" not in brief
    index = (tmp_path / "wh" / "site" / "index.html").read_text(encoding="utf-8")
    assert "No team is known yet" in index
