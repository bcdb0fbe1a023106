"""People who really delivered similar work, on the real Appcelerator issues the test suite's
Jira-compatible server serves: the whole pipeline through `impacting run`, a routing file, and
the comment back to Jira.

The scope is a slice of the ALOY project where one person, Tony Lukasavage, is the assignee of
nothing but a technical task (ALOY-89) under a past story (ALOY-87, itself unassigned): he must
be alerted, because of ALOY-87, for the requests that resemble it.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from impacting.cli import main
from impacting_tests.jira_server import JiraServer

pytestmark = pytest.mark.slow

EMAIL, TOKEN = "bot@example.com", "People-T0ken-do-not-leak"
PAST = ["ALOY-87", "ALOY-89", "ALOY-78", "ALOY-86", "ALOY-440", "ALOY-239", "ALOY-334", "ALOY-48",
        "ALOY-91", "ALOY-95", "ALOY-360"]
WAITING = ["ALOY-256", "ALOY-422"]   # open; their components are cleared: awaiting triage
ROUTING = """\
site_url: https://triage.example.com
people:
  Tony Lukasavage: {webhook: "${TONY_HOOK}"}
fallback: {webhook: "${TRIAGE_HOOK}"}
"""


def test_the_people_who_did_the_work_even_only_its_tasks_are_alerted_naming_the_projects(
        tmp_path, httpserver, monkeypatch):
    httpserver.expect_request("/tony").respond_with_data("ok")
    httpserver.expect_request("/triage").respond_with_data("ok")
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING, encoding="utf-8")
    warehouse = tmp_path / "wh" / "impacting.duckdb"
    with JiraServer("cloud", issues=50, email=EMAIL, token=TOKEN) as jira:
        for key in WAITING:
            jira.edit(key, components=[])
        env = {"JIRA_URL": jira.url, "JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN,
               "JIRA_JQL": f"key in ({', '.join(PAST + WAITING)})", "JIRA_RETRY_BASE_SECONDS": "0.01",
               "IMPACTING_WAREHOUSE": str(warehouse), "DAGSTER_HOME": str(tmp_path / "dagster"),
               "IMPACTING_SITE_DIR": str(tmp_path / "site"),
               "IMPACTING_ROUTING_FILE": str(routing), "IMPACTING_JIRA_COMMENT": "true",
               "IMPACTING_TRIAGE_CV_FOLDS": "2", "IMPACTING_SIMILAR_MIN_SCORE": "0",
               "TONY_HOOK": httpserver.url_for("/tony"), "TRIAGE_HOOK": httpserver.url_for("/triage")}
        (tmp_path / "dagster").mkdir()
        for name, value in env.items():
            monkeypatch.setenv(name, value)

        # Everyone in this archive last worked on it years before the edit that made the
        # requests wait: with the default period (365 days) they have moved on.
        assert main(["run"]) == 0
        with duckdb.connect(str(warehouse), read_only=True) as con:
            people = con.execute("SELECT count(*) FROM alerts WHERE recipient_kind = 'person'").fetchone()
            assert people == (0,)
            triaged = {k for (k,) in con.execute(
                "SELECT DISTINCT request_key FROM team_predictions WHERE decision = 'notify'").fetchall()}
            commented = con.execute("SELECT request_key, state FROM jira_comments ORDER BY 1").fetchall()
        assert triaged and commented == [(key, "posted") for key in sorted(triaged)]
        assert jira.stats()["comments_added"] == {key: 1 for key in triaged}
        assert all(path.startswith("/rest/api/3/") for method, path, _ in jira.log
                   if method == "POST" and path.endswith("/comment"))

        # Looking back far enough, the people who did the similar work are alerted once.
        monkeypatch.setenv("IMPACTING_PEOPLE_INACTIVE_DAYS", "36500")
        before = len(httpserver.log)
        assert main(["run"]) == 0
        assert jira.stats()["comments_added"] == {key: 1 for key in triaged}  # never twice

    digests = {request.path: json.loads(request.get_data()) for request, _ in httpserver.log[before:]}
    tony = digests["/tony"]
    assert tony["recipient"] == {"route": "person Tony Lukasavage", "name": "Tony Lukasavage"}
    alerts = [(r["key"], a) for r in tony["requests"] for a in r["alerts"]]
    assert {key for key, _ in alerts} == set(WAITING)
    for _, alert in alerts:
        assert alert["recipient_kind"] == "person"
        assert alert["reason"].startswith("Tony Lukasavage did 1 of 1 delivery items under ALOY-87 "
                                          "'Platform and form factor specific styling")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # He is the assignee of nothing in scope but the task under ALOY-87.
        assert con.execute("SELECT key, parent_key FROM projects WHERE assignee = 'Tony Lukasavage'"
                           ).fetchall() == [("ALOY-89", "ALOY-87")]
        people = con.execute("SELECT request_key, recipient, reason FROM alerts "
                             "WHERE recipient_kind = 'person'").fetchall()
        assert con.execute("SELECT count(*) FROM messages WHERE route = 'person Tony Lukasavage'"
                           ).fetchone() == (1,)
    # Everyone alerted is named with the past project(s) that made them relevant.
    assert {name for _, name, _ in people} >= {"Tony Lukasavage", "Russell McMahon", "Fokke Zandbergen"}
    for _, name, reason in people:
        assert reason.startswith(name) and "ALOY-" in reason and "(similarity " in reason
    others = {(r["key"], a["recipient"]) for r in digests["/triage"]["requests"] for a in r["alerts"]}
    assert others == {(key, name) for key, name, _ in people if name != "Tony Lukasavage"}
