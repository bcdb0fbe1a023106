"""Live Jira ingestion through the real `jira` client, over HTTP, against the Jira-compatible
test server in Cloud and Data Center mode, into a real DuckDB file."""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import parse_qs

import pytest
import requests

from impacting.settings import Secret
from impacting.sources.http_retry import RetryPolicy
from impacting.sources.issue_source import DocumentPolicy, SourceError
from impacting.sources.jira_export import ExportSource
from impacting.sources.jira_fields import parse_jira_time, project_row, status_changes
from impacting.sources.jira_live import JiraAuthError, JiraConfig, JiraSource, JqlError
from impacting.sources.sync import read_cursor, sync_issues
from impacting.warehouse.store import Warehouse
from impacting_tests.jira_server import JiraServer

pytestmark = pytest.mark.slow

EMAIL, TOKEN, PAT = "bot@example.com", "cloud-token-5ecret", "dc-pat-5ecret"
JQL = "project in (AC, ALOY, MOD) ORDER BY created DESC"
MODES = ["cloud", "dc"]


@pytest.fixture
def jira(request):
    """A started server with 120 issues, 40 a search page; Cloud unless parametrised
    indirectly with "dc"."""
    mode = getattr(request, "param", "cloud")
    with JiraServer(mode, issues=120, email=EMAIL, token=TOKEN, pat=PAT, page_cap=40) as server:
        yield server


def source(server: JiraServer, sleeps: list | None = None, **overrides) -> JiraSource:
    credentials = ({"email": EMAIL, "api_token": Secret(TOKEN)} if server.cloud
                   else {"pat": Secret(PAT)})
    config = JiraConfig(**{"url": server.url, "jql": JQL, **credentials,
                           "retry": RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.02),
                           **overrides})
    return JiraSource(config, sleep=(sleeps if sleeps is not None else []).append)


class Store:
    """A warehouse in tmp_path and a sync into it, as one nightly run would do it."""

    def __init__(self, path):
        self.warehouse = Warehouse(path / "impacting.duckdb")

    def sync(self, jira_source, **options):
        with self.warehouse.connect() as con:
            return sync_issues(jira_source, con, self.warehouse.blobs, DocumentPolicy(), **options)

    def query(self, sql, *params):
        with self.warehouse.connect() as con:
            return con.execute(sql, list(params)).fetchall()

    def payload(self, key):
        [(text,)] = self.query("SELECT payload FROM raw.jira_issues WHERE key = ?", key)
        return json.loads(text)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path)


def requests_to(server, route):
    return sum(count for name, count in server.stats()["requests"].items() if name.endswith(route))


# -- search, pagination and what is stored ------------------------------------------------------

@pytest.fixture(params=MODES)
def big_jira(request):
    """A few hundred issues, as the issue's 'done when' asks."""
    with JiraServer(request.param, issues=300, email=EMAIL, token=TOKEN, pat=PAT, page_cap=40) as server:
        yield server


def test_every_matched_issue_is_stored_once_with_components_links_status_and_changelog(big_jira, store):
    jira = big_jira
    report = store.sync(source(jira))

    assert (report.mode, report.issues_listed, report.issues_stored) == ("full", 300, 300)
    assert store.query("SELECT count(*), count(DISTINCT key) FROM raw.jira_issues") == [(300, 300)]
    # several pages each way: listing (40 a page) and bodies
    searches = requests_to(jira, "/search/jql" if jira.cloud else "/search")
    assert searches >= 300 / 40 * 2
    assert requests_to(jira, "/rest/api/2/search" if jira.cloud else "/search/jql") == 0
    for key in ("AC-30", "ALOY-10413", "MOD-22158"):  # links; a long changelog; a clone
        stored, truth = store.payload(key), jira.issue(key)
        for name in ("components", "issuelinks", "status", "summary", "updated"):
            assert stored["fields"][name] == truth["fields"][name], (key, name)
        assert stored["changelog"]["histories"] == truth["changelog"]["histories"]
        assert stored["changelog"]["total"] == len(truth["changelog"]["histories"])
    [(linked,)] = store.query("SELECT count(*) FROM raw.jira_issues "
                              "WHERE json_array_length(payload->'$.fields.issuelinks') > 0")
    assert linked > 50


def test_changelogs_longer_than_twenty_entries_are_paged_on_cloud(store):
    with JiraServer("cloud", issues=60, email=EMAIL, token=TOKEN) as jira:
        store.sync(source(jira))
        long = [key for key, issue in jira.issues.items() if len(issue["_histories"]) > 20]
        assert len(long) == 6
        assert jira.stats()["changelog_pages"] == len(long)  # only where Jira said there was more
        for key in long:
            truth = jira.issue(key)
            stored = store.payload(key)
            assert [h["id"] for h in stored["changelog"]["histories"]] == \
                [h["id"] for h in truth["changelog"]["histories"]]
            # every status transition is kept, not just those in the first 20 entries
            assert len(status_changes(stored)) == len(status_changes(truth)) > 12


def test_data_center_embeds_the_whole_changelog_and_a_missing_changelog_resource_is_no_problem(store):
    with JiraServer("dc", issues=60, pat=PAT) as jira:
        store.sync(source(jira))
        assert jira.stats()["changelog_pages"] == 0
        long = next(key for key, issue in jira.issues.items() if len(issue["_histories"]) > 20)
        assert store.payload(long)["changelog"]["histories"] == jira.issue(long)["changelog"]["histories"]
        # a payload that says more exists than it holds (a proxy that trims it): read the issue
        live = source(jira)
        trimmed = {"key": long, "fields": {}, "changelog": {"total": 99, "histories": []}}
        assert len(live._with_full_changelog(trimmed)["changelog"]["histories"]) == \
            len(jira.issue(long)["changelog"]["histories"])


# -- incremental --------------------------------------------------------------------------------

def test_nothing_changed_fetches_no_body_and_an_edit_fetches_just_that_issue(big_jira, store):
    jira = big_jira
    store.sync(source(jira))
    fetched_before = dict(store.query("SELECT key, fetched_at FROM raw.jira_issues"))
    jira.reset_stats()

    again = store.sync(source(jira))
    assert again.mode == "incremental" and again.issues_stored == 0
    assert jira.stats()["issue_bodies"] == 0 and jira.stats()["attachment_downloads"] == 0

    jira.edit("ALOY-10419", summary="Widgets get a new look")
    jira.edit("MOD-12180", status="Reopened")
    jira.reset_stats()
    edited = store.sync(source(jira))
    assert edited.issues_stored == 2
    assert jira.stats()["issue_bodies_by_key"] == {"ALOY-10419": 1, "MOD-12180": 1}
    assert store.payload("ALOY-10419")["fields"]["summary"] == "Widgets get a new look"
    reopened = store.payload("MOD-12180")
    assert reopened["fields"]["status"]["name"] == "Reopened"
    assert status_changes(reopened)[-1]["to_status"] == "Reopened"
    after = dict(store.query("SELECT key, fetched_at FROM raw.jira_issues"))
    assert {key for key in after if after[key] != fetched_before[key]} == {"ALOY-10419", "MOD-12180"}


def test_the_window_is_minute_precise_in_the_users_zone_with_overlap(jira, store):
    store.sync(source(jira))
    jira.edit("AC-19")
    jira.reset_stats()
    report = store.sync(source(jira))
    cursor = read_cursor_in(store, jira)
    assert report.listed_since is not None and cursor is not None
    [sent] = [jql for _, path, query in jira.log if "search" in path
              for jql in parse_qs(query).get("jql", []) if "updated >=" in jql]
    since = report.listed_since.astimezone(jira.zone).strftime("%Y/%m/%d %H:%M")
    assert f'updated >= "{since}"' in sent, sent  # Los Angeles wall-clock time, to the minute
    assert "ORDER BY updated DESC" in sent and "created DESC" not in sent


def read_cursor_in(store, jira):
    with store.warehouse.connect() as con:
        return read_cursor(con, source(jira).scope)


def test_full_refresh_rereads_everything_and_drops_issues_no_longer_matched(jira, store):
    store.sync(source(jira))
    jira.delete("AC-19")
    jira.edit("ALOY-10419")
    jira.issues["ALOY-10419"]["fields"]["project"] = {"id": "1", "key": "OTHER", "name": "Other"}

    incremental = store.sync(source(jira))
    assert incremental.mode == "incremental" and incremental.issues_removed == 0
    assert store.query("SELECT count(*) FROM raw.jira_issues") == [(120,)]  # not seen yet

    jira.reset_stats()
    full = store.sync(source(jira), full=True)
    assert (full.mode, full.issues_listed, full.issues_stored, full.issues_removed) == ("full", 118, 118, 2)
    assert jira.stats()["issue_bodies"] == 118
    assert store.query("SELECT count(*) FROM raw.jira_issues WHERE key IN ('AC-19', 'ALOY-10419')") == [(0,)]
    assert store.query("SELECT count(*) FROM raw.jira_attachments WHERE issue_key = 'AC-19'") == [(0,)]


def test_a_new_query_is_a_new_scope_read_in_full_and_a_weekly_listing_reconciles(jira, store):
    from datetime import timedelta

    store.sync(source(jira))
    narrower = store.sync(source(jira, jql="project = MOD"))
    assert narrower.mode == "full" and narrower.issues_listed < 120
    assert store.query("SELECT DISTINCT split_part(key, '-', 1) FROM raw.jira_issues") == [("MOD",)]
    jira.delete(sorted(k for k in jira.issues if k.startswith("MOD-"))[0])
    jira.reset_stats()
    weekly = store.sync(source(jira, jql="project = MOD"), reconcile_every=timedelta(0))
    assert (weekly.mode, weekly.issues_removed, weekly.issues_stored) == ("reconcile", 1, 0)
    assert jira.stats()["issue_bodies"] == 0  # listing the whole scope costs no bodies


# -- attachments --------------------------------------------------------------------------------

@pytest.mark.parametrize("jira", MODES, indirect=True)
def test_documents_are_downloaded_once_stored_by_content_and_never_by_file_name(jira, store, tmp_path):
    report = store.sync(source(jira))
    documents = store.query(
        "SELECT attachment_id, file_name, fetch_status, sha256 FROM raw.jira_attachments WHERE is_document")
    by_name = {name: (status, sha) for _, name, status, sha in documents}
    stored = [row for row in documents if row[2] == "stored"]
    assert len(stored) == report.attachments_fetched == 7
    assert by_name["huge-spec.pdf"][0] == "too_large"
    [huge] = [a["id"] for a in jira.issue("AC-19")["fields"]["attachment"]
              if a["filename"] == "huge-spec.pdf"]
    assert huge not in jira.stats()["downloads_by_id"]  # never asked for
    copy = next(name for name in by_name if name.startswith("copy-"))
    assert by_name[copy][1] == by_name[copy.removeprefix("copy-")][1]  # same content, one blob
    blobs = sorted(p for p in store.warehouse.blobs.root.rglob("*") if p.is_file())
    assert len(blobs) == len({sha for *_, sha in stored}) == 6
    assert all(p.name == p.parent.name + p.name[2:] and len(p.name) == 64 for p in blobs)
    assert not [p for p in tmp_path.rglob("evil*")]
    assert store.warehouse.blobs.get(by_name["../../../../tmp/evil.md"][1]).startswith(b"# Evil")

    jira.reset_stats()
    store.sync(source(jira), full=True)
    assert jira.stats()["attachment_downloads"] == 0  # re-read bodies, but no file again


def test_a_document_that_failed_to_download_is_tried_again_next_run(jira, store):
    [document] = [a["id"] for a in jira.issue("ALOY-419")["fields"]["attachment"] if a["id"] in jira.contents]
    jira.add_fault(status=500, path=f"/_media/{document}", times=-1)
    first = store.sync(source(jira))
    assert first.attachments_unavailable == 2  # that one, and the document too large to fetch
    assert store.query("SELECT fetch_status FROM raw.jira_attachments WHERE attachment_id = ?",
                       document) == [("failed",)]
    jira.clear_faults()
    second = store.sync(source(jira))
    assert second.issues_stored == 0 and second.attachments_fetched == 1
    assert store.query("SELECT fetch_status FROM raw.jira_attachments WHERE attachment_id = ?",
                       document) == [("stored",)]


def test_an_attachment_larger_than_declared_is_cut_off_not_stored(jira):
    live = source(jira, max_attachment_bytes=1000)
    document = next(a for a, content in jira.contents.items() if len(content) > 1000)
    entry = {"id": document, "filename": "x.md", "issue_key": "AC-1", "size": 10}
    with pytest.raises(Exception) as caught:
        live.attachment_content(entry)
    assert getattr(caught.value, "status", None) == "too_large"


# -- faults -------------------------------------------------------------------------------------

def test_429_honours_retry_after_in_seconds_and_as_an_http_date(jira, store):
    jira.add_fault(status=429, retry_after="7", path="/rest/api/2/search", after=1)
    jira.add_fault(status=429, retry_after="date+30", path="/rest/api/2/issue/", after=2)
    sleeps = []
    report = store.sync(source(jira, sleeps))
    assert report.issues_stored == 120
    assert sleeps[0] == 7.0
    # An HTTP date has whole seconds and is read against the clock a moment later.
    assert 20.0 <= sleeps[1] <= 31.0
    assert len(sleeps) == 2


def test_one_503_then_success(jira, store):
    jira.add_fault(status=503, path="/rest/api/2/search", after=3)
    sleeps = []
    assert store.sync(source(jira, sleeps)).issues_stored == 120
    assert len(sleeps) == 1 and 0.005 <= sleeps[0] <= 0.01  # backoff with jitter, base 0.01 s


def test_a_timeout_is_retried(jira, store):
    # Generous on both sides, so a loaded machine never turns an ordinary answer into a
    # timeout: one answer is 20 s late, the client waits 3 s.
    jira.add_fault(kind="slow", delay=20.0, path="/rest/api/2/search", after=1)
    sleeps = []
    assert store.sync(source(jira, sleeps, timeout_seconds=3.0)).issues_stored == 120
    assert len(sleeps) == 1


@pytest.mark.parametrize("jira", MODES, indirect=True)
def test_401_fails_at_once_naming_the_settings_and_never_the_secret(jira, store):
    wrong = {"api_token": Secret("wrong-token-123")} if jira.cloud else {"pat": Secret("wrong-pat-123")}
    sleeps = []
    with pytest.raises(JiraAuthError) as caught:
        store.sync(source(jira, sleeps, **wrong))
    message = str(caught.value)
    assert "HTTP 401" in message
    assert ("JIRA_EMAIL and JIRA_API_TOKEN" if jira.cloud else "JIRA_PAT") in message
    assert "wrong-token-123" not in message and "wrong-pat-123" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None or \
        "wrong-" not in repr(caught.value.__context__)
    assert sleeps == [] and requests_to(jira, "/myself") == 1
    assert store.query("SELECT count(*) FROM internal.sync_cursors") == [(0,)]


def test_403_names_the_permission_the_token_needs(jira, store):
    jira.add_fault(status=403, path="/rest/api/2/search", times=-1)
    with pytest.raises(JiraAuthError, match="Browse projects"):
        store.sync(source(jira))


def test_410_gone_on_the_old_search_endpoint_switches_to_search_jql(store):
    with JiraServer("cloud", issues=50, email=EMAIL, token=TOKEN) as jira:
        gone = requests.get(f"{jira.url}/rest/api/2/search", params={"jql": "project = AC"},
                            auth=(EMAIL, TOKEN), timeout=5)
        assert gone.status_code == 410 and "search/jql" in gone.json()["errorMessages"][0]
        # A proxy that hides deploymentType: the connector tries /search, gets 410, and moves on.
        jira.deployment = ""
        assert store.sync(source(jira)).issues_stored == 50
        assert requests_to(jira, "/rest/api/2/search") == 2  # 1 above + 1 by the connector, once


@pytest.mark.parametrize("jql, jira_says", [
    ("project = AC AND AND status = Open", "Error in the JQL Query: Expecting a field name but got 'AND'."),
    ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
    ("updated >= '2024-13-45'", "Date value '2024-13-45' for field 'updated' is invalid."),
])
def test_bad_jql_shows_jiras_own_message(jira, store, jql, jira_says):
    with pytest.raises(JqlError) as caught:
        store.sync(source(jira, jql=jql))
    assert jira_says in str(caught.value) and "JIRA_JQL" in str(caught.value)


def test_no_jql_says_what_to_set(jira, store):
    with pytest.raises(SourceError, match="JIRA_JQL is not set"):
        store.sync(source(jira, jql=None))


@pytest.mark.parametrize("jira", MODES, indirect=True)
def test_a_connection_drop_mid_pagination_then_a_resumed_run_loses_and_duplicates_nothing(jira, store):
    search = "/rest/api/2/search"
    jira.add_fault(kind="drop", path=search, query="fields=updated", after=2)  # one drop while listing
    jira.add_fault(kind="drop-mid", path=search, query="changelog", after=2, times=-1)  # Jira goes away
    with pytest.raises(SourceError, match="the next run resumes"):
        store.sync(source(jira))
    stored_first = {key for (key,) in store.query("SELECT key FROM raw.jira_issues")}
    assert 0 < len(stored_first) < 120
    cursor = read_cursor_in(store, jira)
    assert cursor.full_started_at is not None  # the full read is unfinished
    not_stored = [issue["fields"]["updated"] for key, issue in jira.issues.items() if key not in stored_first]
    assert cursor.cursor_at <= min(parse_jira_time(updated) for updated in not_stored)

    jira.clear_faults()
    jira.reset_stats()
    resumed = store.sync(source(jira))
    assert resumed.mode == "resumed full"
    bodies = jira.stats()["issue_bodies_by_key"]
    assert set(bodies) == set(jira.issues) - stored_first  # only what was missing
    assert set(bodies.values()) == {1}
    assert store.query("SELECT count(*), count(DISTINCT key) FROM raw.jira_issues") == [(120, 120)]
    assert read_cursor_in(store, jira).full_started_at is None

    jira.reset_stats()
    assert store.sync(source(jira)).mode == "incremental"
    assert jira.stats()["issue_bodies"] == 0


def test_an_issue_deleted_between_listing_and_fetching_is_reported_and_the_rest_stored(jira):
    live = source(jira)
    fetched = [raw["key"] for raw in live.fetch(["AC-19", "GONE-1", "AC-30"])]
    assert fetched == ["AC-19", "AC-30"]
    assert len(live.problems) == 1 and "GONE-1" in live.problems[0] and "--full" in live.problems[0]


def test_secrets_are_scrubbed_from_messages_jira_echoes(jira):
    jira.add_fault(status=500, path="/rest/api/2/myself", times=-1)
    live = source(jira, retry=RetryPolicy(max_retries=0))
    live.config.secrets()  # the forms it scrubs: the token, the PAT, and base64(email:token)
    assert live._scrub(f"echo {TOKEN} and Basic {live.config.secrets()[0]}").count("***") == 2
    with pytest.raises(SourceError) as caught:
        list(live.listing())
    assert TOKEN not in str(caught.value)


def test_requests_counted_by_route_are_what_the_connector_sent(jira, store):
    store.sync(source(jira))
    counts = Counter({name: n for name, n in jira.stats()["requests"].items()})
    assert counts["GET /rest/api/2/serverInfo"] == 1 and counts["GET /rest/api/2/myself"] == 1


def test_the_live_source_yields_what_the_export_source_yields(jira, tmp_path):
    live = list(source(jira).issues())
    assert len(live) == 120 and len({raw["key"] for raw in live}) == 120
    export = tmp_path / "export"
    export.mkdir()
    (export / "issues.jsonl").write_text("\n".join(json.dumps(raw) for raw in live), encoding="utf-8")
    exported = {raw["key"]: raw for raw in ExportSource(export).issues()}
    for raw in live:
        assert exported[raw["key"]] == raw
        truth = jira.issue(raw["key"])  # GET /issue/KEY?expand=changelog, what an export holds
        assert project_row(raw, source="jira") == project_row(truth, source="jira")
        assert status_changes(raw) == status_changes(truth)

    edited_at = parse_jira_time(jira.edit("MOD-2158"))
    [recent] = source(jira).issues(updated_since=edited_at)
    assert recent["key"] == "MOD-2158"


def test_a_public_jira_can_be_read_without_credentials(store):
    with JiraServer("dc", issues=20) as jira:
        live = JiraSource(JiraConfig(url=jira.url, jql="project = AC"), sleep=lambda s: None)
        assert store.sync(live).issues_stored == 15
        assert requests_to(jira, "/myself") == 0  # no user, so no user time zone: a wider window
