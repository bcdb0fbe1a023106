"""The comment back to Jira, through the real `jira` client against the test suite's
Jira-compatible server: Cloud (REST v3, ADF) and Data Center (v2, wiki markup), never twice."""

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from impacting.people.jira_comments import MARKER, comment_on_requests
from impacting.people.routing import Routing
from impacting.settings import Secret
from impacting.sources.http_retry import RetryPolicy
from impacting.sources.jira_live import JiraConfig, JiraSource
from impacting.warehouse.store import Warehouse, upsert_rows
from impacting.warehouse.tables import PROJECTS, TEAM_PREDICTIONS
from impacting_tests.jira_server import JiraServer

pytestmark = pytest.mark.slow

EMAIL, TOKEN, PAT = "bot@example.com", "C0mment-t0ken", "C0mment-pat"
NOW = datetime(2026, 5, 2, 2, 0, tzinfo=UTC)
ROUTING = Routing(source="test", site_url="https://triage.example.com")


def prepared(tmp_path, server):
    store = Warehouse(tmp_path / "wh" / "impacting.duckdb")
    store.prepare()
    with store.connect() as con:
        upsert_rows(con, PROJECTS, pd.DataFrame([
            {"key": key, "summary": key, "url": f"{server.url}/browse/{key}"}
            for key in ("ALOY-142", "ALOY-218")]))
        upsert_rows(con, TEAM_PREDICTIONS, pd.DataFrame([
            {"request_key": key, "team": team, "rank": rank, "decision": decision, "probability": 0.5}
            for key, team, rank, decision in [("ALOY-142", "Tooling", 1, "notify"),
                                              ("ALOY-142", "XML", 2, "notify"),
                                              ("ALOY-142", "Runtime", 3, "unsure"),
                                              ("ALOY-218", "Runtime", 1, "not_notified")]]))
    return store


def source(server):
    auth = {"email": EMAIL, "api_token": Secret(TOKEN)} if server.cloud else {"pat": Secret(PAT)}
    return JiraSource(JiraConfig(url=server.url, jql="project = ALOY", retry=RetryPolicy(max_retries=0),
                                 **auth))


def run(store, server):
    with store.connect() as con:
        result = comment_on_requests(con, source(server), ROUTING, NOW, max_attempts=3)
        rows = con.execute("SELECT request_key, state, teams, link, error FROM jira_comments").fetchall()
    return result, rows


def posted(server):
    return [(method, path) for method, path, _ in server.log if method == "POST" and "comment" in path]


@pytest.mark.parametrize("mode", ["cloud", "dc"])
def test_one_comment_per_triaged_request_and_never_twice(tmp_path, mode):
    with JiraServer(mode, issues=50, email=EMAIL, token=TOKEN, pat=PAT) as server:
        store = prepared(tmp_path, server)
        before = len(server.issues["ALOY-142"]["fields"]["comment"]["comments"])
        first, rows = run(store, server)
        assert (first.posted, first.found, first.failed) == (1, 0, 0)
        version = 3 if mode == "cloud" else 2
        assert posted(server) == [("POST", f"/rest/api/{version}/issue/ALOY-142/comment")]
        assert rows == [("ALOY-142", "posted", ["Tooling", "XML"],
                         "https://triage.example.com/briefs/ALOY-142.html", None)]
        thread = server.issues["ALOY-142"]["fields"]["comment"]["comments"]
        assert len(thread) == before + 1
        body = thread[-1]["body"]
        if mode == "cloud":  # Atlassian Document Format, as REST v3 takes it
            assert body["type"] == "doc" and body["version"] == 1
            assert {"type": "link", "attrs": {"href": "https://triage.example.com/briefs/ALOY-142.html"}} in \
                body["content"][1]["content"][1]["marks"]
            assert "Tooling, XML" in json.dumps(body) and MARKER in json.dumps(body)
        else:  # wiki markup, as REST v2 takes it
            assert body.startswith("Teams impacted by this request, as triaged: *Tooling, XML*\nBrief: [")
            assert MARKER in body

        second, _ = run(store, server)
        assert (second.posted, second.found) == (0, 0) and len(posted(server)) == 1

        # The warehouse forgot (rebuilt, or a second installation): our comment is found in Jira.
        with store.connect() as con:
            con.execute("DELETE FROM jira_comments")
        third, rows = run(store, server)
        assert (third.posted, third.found) == (0, 1) and len(posted(server)) == 1
        assert rows[0][1] == "found"


def test_a_refused_comment_is_recorded_with_the_permission_it_needs_and_retried(tmp_path):
    with JiraServer("cloud", issues=50, email=EMAIL, token=TOKEN) as server:
        store = prepared(tmp_path, server)
        server.add_fault(status=403, path="/rest/api/3/issue/ALOY-142/comment", method="POST")
        first, rows = run(store, server)
        assert (first.posted, first.failed) == (0, 1)
        [(_, state, _, _, error)] = rows
        assert state == "failed" and "HTTP 403" in error and "Add Comments" in error
        assert TOKEN not in error
        second, rows = run(store, server)
        assert second.posted == 1 and rows[0][1] == "posted"
