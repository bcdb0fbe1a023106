"""The ingest stage through Dagster, pointed at the Jira-compatible test server the way
`impacting run` points it at a real Jira: settings from the environment, resources, assets."""

from __future__ import annotations

import json
import logging

import dagster as dg
import duckdb
import pytest

from impacting.cli import main
from impacting.defs import ingest
from impacting.defs.resources import resources_from_settings
from impacting.settings import Settings
from impacting_tests.conftest import metadata_values
from impacting_tests.jira_server import JiraServer

pytestmark = pytest.mark.slow

EMAIL, TOKEN = "bot@example.com", "Pipeline-T0ken-do-not-leak"


@pytest.fixture
def jira():
    with JiraServer("cloud", issues=120, email=EMAIL, token=TOKEN, page_cap=50) as server:
        yield server


@pytest.fixture
def environment(jira, tmp_path, monkeypatch):
    """The variables a platform engineer sets; the token only ever travels through them."""
    values = {"JIRA_URL": jira.url, "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN,
              "JIRA_JQL": "project in (AC, ALOY, MOD)", "JIRA_RETRY_BASE_SECONDS": "0.01",
              "IMPACTING_WAREHOUSE": str(tmp_path / "wh" / "impacting.duckdb"),
              "DAGSTER_HOME": str(tmp_path / "dagster")}
    (tmp_path / "dagster").mkdir()
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def materialise(full: bool = False) -> dg.ExecuteInProcessResult:
    settings = Settings.from_env()
    config = {"ops": {"jira_sync": {"config": {"full_refresh": True}}}} if full else None
    return dg.materialize(ingest.ASSETS, resources=resources_from_settings(settings),
                          run_config=config, raise_on_error=False)


def working(environment) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(Settings.from_env().working_dir / "working.duckdb"), read_only=True)


def metadata(result, key="raw/jira_issues"):
    return metadata_values(result, key)


def everything_said(results, caplog) -> str:
    """Every event, log line and metadata value of the runs, as text."""
    parts = [caplog.text]
    for result in results:
        parts.append(repr(result.dagster_run))
        for event in result.all_events:
            parts.append(repr(event))
    return "\n".join(parts)


def everything_stored(environment) -> str:
    """Every row of every table in the working database, as text, and the raw file bytes."""
    path = Settings.from_env().working_dir / "working.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        text = [repr(con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall())
                for schema, name in tables]
    return "\n".join(text) + path.read_bytes().decode("latin-1")


def test_live_jira_ingest_is_incremental_and_never_leaks_the_token(jira, environment, caplog):
    caplog.set_level(logging.DEBUG)
    first = materialise()
    assert first.success
    assert metadata(first)["sync_mode"] == "full" and metadata(first)["issues_stored"] == 120
    linked = sum(1 for issue in jira.issues.values() if issue["fields"]["issuelinks"])
    transitions = sum(1 for issue in jira.issues.values() for history in issue["_histories"]
                      for item in history["items"] if item["field"] == "status")
    with working(environment) as con:
        assert con.execute(
            "SELECT count(*), count(DISTINCT key), count(*) FILTER (WHERE len(components) > 0), "
            "count(*) FILTER (WHERE len(links) > 0) FROM projects").fetchone() == (120, 120, 120, linked)
        assert con.execute("SELECT count(*) FROM status_changes").fetchone() == (transitions,)
        # Jira's own status list, where delivery reporting takes each status's category from
        assert con.execute("SELECT name, category FROM raw.jira_statuses ORDER BY name").fetchall() == [
            ("Closed", "done"), ("In Progress", "indeterminate"), ("Open", "new"),
            ("Reopened", "new"), ("Resolved", "done")]
    assert metadata(first, "raw/jira_statuses")["statuses_stored"] == 5
    jira.reset_stats()

    second = materialise()
    assert second.success and jira.stats()["issue_bodies"] == 0
    assert (metadata(second)["sync_mode"], metadata(second)["issues_stored"]) == ("incremental", 0)

    jira.edit("AC-30", summary="A sharper title")
    jira.reset_stats()
    third = materialise()
    assert third.success and jira.stats()["issue_bodies_by_key"] == {"AC-30": 1}
    with working(environment) as con:
        assert con.execute("SELECT summary FROM projects WHERE key = 'AC-30'").fetchone() == \
            ("A sharper title",)
        url = con.execute("SELECT url FROM projects WHERE key = 'AC-30'").fetchone()[0]
    assert url == f"{jira.url}/browse/AC-30"

    said, stored = everything_said([first, second, third], caplog), everything_stored(environment)
    said += repr(resources_from_settings(Settings.from_env()))  # what the UI shows of resources
    assert "jira" in said and "AC-30" in stored  # the scans do see what they look through
    for leak in (TOKEN, json.dumps(TOKEN)[1:-1], "UGlwZWxpbmUtVDBrZW4"):  # raw, escaped, base64
        assert leak not in said and leak not in stored


def test_bad_credentials_and_bad_jql_fail_the_run_naming_what_to_fix(jira, environment, monkeypatch,
                                                                     caplog):
    monkeypatch.setenv("JIRA_API_TOKEN", "Wr0ng-t0ken-do-not-leak")
    refused = materialise()
    assert not refused.success
    [failure] = [e for e in refused.all_events if e.is_step_failure]
    message = failure.event_specific_data.error.message
    assert "HTTP 401" in message and "JIRA_API_TOKEN" in message
    assert "Wr0ng-t0ken" not in everything_said([refused], caplog)

    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)
    monkeypatch.setenv("JIRA_JQL", "project = AC AND AND")
    rejected = materialise()
    [failure] = [e for e in rejected.all_events if e.is_step_failure]
    assert "Error in the JQL Query" in failure.event_specific_data.error.message
    assert "JIRA_JQL" in failure.event_specific_data.error.message


def test_impacting_run_full_reconciles_and_publishes(jira, environment, capsys):
    assert materialise().success
    jira.delete("AC-30")
    assert main(["run", "--select", "projects", "--full"]) == 2
    assert "jira_issues" in capsys.readouterr().err
    jira.reset_stats()
    assert main(["run", "--select", "group:ingest", "--full"]) == 0
    assert jira.stats()["issue_bodies"] == 119
    published = environment["IMPACTING_WAREHOUSE"]
    with duckdb.connect(published, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM projects").fetchone() == (119,)
        assert con.execute("SELECT count(*) FROM projects WHERE key = 'AC-30'").fetchone() == (0,)
        schemas = {row[0] for row in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}
    assert "internal" not in schemas
