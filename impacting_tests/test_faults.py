"""Every promise of a nightly run, proven by injecting the fault it is about.

- A run killed (SIGKILL) at a stage boundary leaves the published warehouse as the previous
  complete one, and the next run ends equal to a clean run.
- Two runs on unchanged input publish the same content; declared keys are unique everywhere.
- A hostile Jira (bombs, garbage, encrypted, mislabelled and badly named files; issues with
  missing fields, unknown statuses, links outside the scope) never fails the run: every bad
  item lands in `rejects`, the good ones flow on, nothing escapes the attachment store, and
  no secret reaches any file the run wrote.
"""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from impacting.warehouse.quality import unique_key
from impacting.warehouse.tables import ALL_TABLES
from impacting_tests.conftest import (
    assert_same_content,
    copy_sample,
    failures,
    published_content,
    query,
    run_pipeline,
    sample_keys,
)
from impacting_tests.hostile import hostile_attachments, hostile_issues
from impacting_tests.jira_server import JiraServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# Steps to kill the run at: after ingest, after chunking, after the triage corpus, before
# people are told, and as publishing starts.
BOUNDARIES = ["summaries_and_keywords", "team_model", "send_digests", "published_warehouse"]


def _cli(env: dict[str, str], kill_at: str | None = None, seconds: float = 900) -> tuple[int, str]:
    """`impacting run` in its own process group; SIGKILLed (with its document reader) the
    moment step `kill_at` starts. Returns the exit status and what it printed."""
    process = subprocess.Popen([sys.executable, "-m", "impacting.cli", "run", "--verbose"],
                               env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    said = []
    try:
        while True:
            ready, _, _ = select.select([process.stdout], [], [], seconds)
            assert ready, f"the run printed nothing for {seconds:g} s"
            line = process.stdout.readline()
            if not line:
                break
            said.append(line)
            if kill_at and f" - {kill_at} - STEP_START" in line:
                os.killpg(process.pid, signal.SIGKILL)
                break
    except BaseException:  # it hung or the test failed: never leave a run behind
        os.killpg(process.pid, signal.SIGKILL)
        raise
    finally:
        process.wait(timeout=120)
        process.stdout.close()
    return process.returncode, "".join(said)


def _environment(tmp: Path, export: Path, name: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(tmp), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "IMPACTING_EXPORT_DIR": str(export), "IMPACTING_WAREHOUSE": str(tmp / name / "impacting.duckdb"),
            "IMPACTING_SITE_DIR": str(tmp / name / "site"),
            "DAGSTER_HOME": str(tmp / name / "dagster"), "IMPACTING_TRIAGE_CV_FOLDS": "2"}


@pytest.mark.timeout(2700)  # nine pipeline runs in subprocesses: minutes on a shared machine
def test_a_run_killed_at_any_stage_boundary_loses_nothing_and_the_next_run_equals_a_clean_one(tmp_path):
    keys = sample_keys(4, open_requests=2)
    before, after = copy_sample(tmp_path / "before", keys), copy_sample(tmp_path / "after", keys)
    copy_sample(after, sample_keys(4, open_requests=3)[-1:])  # one new request arrives
    killed = _environment(tmp_path, before, "killed")
    published = Path(killed["IMPACTING_WAREHOUSE"])

    status, said = _cli(killed)
    assert status == 0, said[-3000:]
    previous = published.read_bytes()
    killed["IMPACTING_EXPORT_DIR"] = str(after)
    for boundary in BOUNDARIES:
        status, said = _cli(killed, kill_at=boundary)
        assert status == -signal.SIGKILL, f"{boundary}: the run ended on its own\n{said[-2000:]}"
        if boundary != "published_warehouse":
            assert published.read_bytes() == previous, f"killed at {boundary}: the published file changed"
        # Whatever the moment, the published file is a whole warehouse that opens.
        assert query(published, "SELECT count(*) FROM warehouse_info") == [(1,)]
    status, said = _cli(killed)
    assert status == 0, said[-3000:]
    assert not list(published.parent.glob(f".{published.name}.*.staging"))

    clean = _environment(tmp_path, before, "clean")
    assert _cli(clean)[0] == 0
    clean["IMPACTING_EXPORT_DIR"] = str(after)
    assert _cli(clean)[0] == 0
    resumed = published_content(published)
    assert_same_content(resumed, published_content(Path(clean["IMPACTING_WAREHOUSE"])))
    assert len(resumed["main.projects"]) == len(keys) + 1

    # Idempotent: the same input again publishes the same content, and every key is unique.
    assert _cli(killed)[0] == 0
    assert_same_content(resumed, published_content(published))
    with duckdb.connect(str(published), read_only=True) as con:
        for declared in ALL_TABLES:
            if declared.key and declared.published:
                outcome = unique_key(con, declared)
                assert outcome.passed, outcome.why


@pytest.fixture
def hostile_jira(tmp_path):
    with JiraServer("cloud", issues=12, email="bot@example.com", token="Hostile-T0ken-never-shown") as jira:
        escape = (f"../../../../tmp/impacting-escape-{uuid.uuid4().hex}.md",
                  f"/tmp/impacting-absolute-{uuid.uuid4().hex}.md")
        bad_files = hostile_attachments(escape)
        target = sorted(jira.issues)[0]
        for item in bad_files:
            jira.attach(target, item.name, item.content, item.mime)
        bad_issues = hostile_issues("AC", jira.issues[target])
        for issue in bad_issues:
            jira.put_issue(issue)
        yield jira, bad_files, bad_issues, escape


def test_a_hostile_jira_never_fails_the_run_and_every_bad_item_is_rejected_with_a_reason(
        hostile_jira, tmp_path, monkeypatch, httpserver):
    jira, bad_files, bad_issues, escape = hostile_jira
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    hook = httpserver.url_for("/hook") + "?token=W3bhook-s3cret"
    secrets = {"JIRA_API_TOKEN": "Hostile-T0ken-never-shown", "IMPACTING_ALERT_WEBHOOK_URL": hook}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    dagster_home = tmp_path / "dagster"  # a real instance: its storage and event log are scanned
    dagster_home.mkdir()
    warehouse = tmp_path / "wh" / "impacting.duckdb"
    result = run_pipeline(None, warehouse, instance=dg.DagsterInstance.from_config(str(dagster_home)),
                          JIRA_URL=jira.url, JIRA_EMAIL="bot@example.com",
                          JIRA_JQL="project in (AC, MOD)", JIRA_RETRY_BASE_SECONDS="0.01",
                          IMPACTING_DOCUMENT_MAX_UNCOMPRESSED_BYTES="20000000",
                          IMPACTING_TRIAGE_CV_FOLDS="2", IMPACTING_SIMILAR_MIN_SCORE="0.0", **secrets)
    assert result.success, failures(result)

    documents = {name: (status, reason or "") for name, status, reason in query(
        warehouse, "SELECT file_name, extraction_status, extraction_reason FROM documents")}
    rejects = query(warehouse, "SELECT stage, item, reason FROM rejects WHERE active")

    def rejected(item: str, because: str = "") -> bool:
        return any(item in found and because in reason for _, found, reason in rejects)

    for bad in bad_files:
        status, reason = documents[bad.name]
        expected = "ok" if bad.expect == "truncated" else bad.expect
        assert status == expected, (bad.name, status, reason)
        assert bad.why in reason, (bad.name, reason)
        if bad.expect != "ok":
            assert rejected(bad.name, bad.why), f"{bad.name} is not in rejects"
    # The good documents the issues carry flow on into chunks and summaries.
    [(good,)] = query(warehouse, "SELECT count(*) FROM documents d JOIN summaries s USING (document_id) "
                      "WHERE d.extraction_status = 'ok' AND s.kind = 'executive'")
    assert good >= 3
    # Broken issues flow on, and the odd ones say what is odd.
    keys = {k for (k,) in query(warehouse, "SELECT key FROM projects")}
    missing, null_description, limbo, outside = (issue["key"] for issue in bad_issues)
    assert {missing, null_description, limbo, outside} <= keys
    assert rejected(missing, "summary, status, created")
    assert any("Limbo" in item + reason for _, item, reason in rejects)
    assert rejected(outside, "ZZZ-404")
    # A file name is never a path: nothing was written outside the attachment store.
    store = warehouse.parent / "impacting.work" / "attachments"
    for name in escape:
        assert not Path(name).exists() and not (store / name).resolve().exists()

    # No secret in any byte the run wrote: warehouse, working state, Dagster's storage and
    # event log, reports; raw, JSON-escaped and base64 (basic auth) forms.
    forms = {value for value in secrets.values()} | {"W3bhook-s3cret", json.dumps(hook)[1:-1],
             base64.b64encode(b"bot@example.com:Hostile-T0ken-never-shown").decode()}
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in written) and any("dagster" in p.parts for p in written)
    for path in written:
        data = path.read_bytes()
        for form in forms:
            assert form.encode() not in data, f"{form[:6]}… found in {path}"
    text = "\n".join(str(event) for event in result.all_events)
    for form in forms:
        assert form not in text
