"""The whole pipeline, materialised by Dagster on small real exports into a temporary DuckDB."""

import json

import dagster as dg
import pytest

from impacting.definitions import build_definitions
from impacting.settings import Settings
from impacting_tests.conftest import (
    HeldReader,
    failures,
    materialisations,
    query_in_new_process,
    run_pipeline,
)
from impacting_tests.conftest import query as _query

pytestmark = pytest.mark.slow


def _run(export, warehouse, **env):
    return run_pipeline(export, warehouse, **env)


def _attach(export, key, attachment_id, name, content, mime):
    path = export / "issues" / f"{key}.json"
    issue = json.loads(path.read_text())
    issue["fields"]["attachment"].append({"id": attachment_id, "filename": name, "mimeType": mime,
                                          "size": len(content), "created": issue["fields"]["created"]})
    path.write_text(json.dumps(issue))
    (export / "attachments" / attachment_id).mkdir(parents=True)
    (export / "attachments" / attachment_id / name).write_bytes(content)


def test_materialises_projects_and_documents_and_publishes(small_export, tmp_path):
    key = sorted(p.stem for p in (small_export / "issues").glob("*.json"))[0]
    _attach(small_export, key, "900001", "broken.docx", b"PK\x03\x04 not really a zip",
            "application/octet-stream")
    _attach(small_export, key, "900002", "screenshot.png", b"\x89PNG\r\n\x1a\n", "image/png")
    warehouse = tmp_path / "wh" / "impacting.duckdb"

    result = _run(small_export, warehouse)
    assert result.success

    assert _query(warehouse, "SELECT count(*), count(*) FILTER (WHERE status_category = 'new' "
                  "AND len(teams) = 0) FROM projects") == [(6, 2)]
    docs = dict(_query(warehouse, "SELECT file_name, extraction_status FROM documents"))
    assert len(docs) == 7  # six design documents + the broken one; the screenshot is not a document
    assert docs.pop("broken.docx") == "failed"
    assert set(docs.values()) == {"ok"}
    [(reason,)] = _query(warehouse, "SELECT extraction_reason FROM documents WHERE file_name = 'broken.docx'")
    assert reason and ("re-save" in reason or "re-export" in reason)
    assert _query(warehouse, "SELECT min(word_count) > 100 FROM documents "
                  "WHERE extraction_status = 'ok'") == [(True,)]
    assert _query(warehouse, f"SELECT document_count FROM projects WHERE key = '{key}'") == [(2,)]
    assert _query(warehouse, "SELECT count(*) FROM raw.jira_issues") == [(6,)]
    assert _query(warehouse, "SELECT fetch_status FROM raw.jira_attachments "
                  "WHERE file_name = 'screenshot.png'") == [("not_a_document",)]

    materialised = materialisations(result)
    assert materialised["projects"]["dagster/row_count"].value == 6
    assert materialised["documents"]["documents_not_ok"].value == 1
    assert "broken.docx" in materialised["documents"]["problems"].value


def test_second_run_reuses_stored_attachments_and_extracted_text(small_export, tmp_path):
    warehouse = tmp_path / "impacting.duckdb"
    assert _run(small_export, warehouse).success
    second = _run(small_export, warehouse)
    assert second.success
    meta = materialisations(second)
    assert meta["raw/jira_attachments"]["attachments_fetched"].value == 0
    assert meta["raw/jira_attachments"]["attachments_reused"].value == 6
    assert meta["documents"]["documents_extracted"].value == 0
    assert meta["documents"]["documents_reused"].value == 6


def test_an_issue_removed_from_the_export_leaves_the_warehouse(small_export, tmp_path):
    warehouse = tmp_path / "impacting.duckdb"
    assert _run(small_export, warehouse).success
    gone = sorted((small_export / "issues").glob("*.json"))[0]
    gone.unlink()
    assert _run(small_export, warehouse).success
    assert _query(warehouse, f"SELECT count(*) FROM projects WHERE key = '{gone.stem}'") == [(0,)]
    assert _query(warehouse, f"SELECT count(*) FROM documents WHERE project_key = '{gone.stem}'") == [(0,)]


def test_a_reader_holding_the_published_file_does_not_block_the_run(small_export, tmp_path):
    warehouse = tmp_path / "impacting.duckdb"
    assert _run(small_export, warehouse).success
    reader = HeldReader(warehouse)
    try:
        [[before]] = reader.query("SELECT count(*) FROM projects")
        sorted((small_export / "issues").glob("*.json"))[0].unlink()
        assert _run(small_export, warehouse).success
        assert reader.query("SELECT count(*) FROM projects") == [[before]]
        assert query_in_new_process(warehouse, "SELECT count(*) FROM projects") == [[before - 1]]
    finally:
        reader.close()


def test_a_run_that_crashes_before_publishing_leaves_the_published_file_intact(
        small_export, tmp_path, monkeypatch):
    warehouse = tmp_path / "impacting.duckdb"
    assert _run(small_export, warehouse).success
    published = warehouse.read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash in the middle of the run")

    sorted((small_export / "issues").glob("*.json"))[0].unlink()
    monkeypatch.setattr("impacting.defs.ingest.build_documents", crash)
    result = _run(small_export, warehouse)
    assert not result.success
    assert warehouse.read_bytes() == published
    assert _query(warehouse, "SELECT count(*) FROM projects") == [(6,)]


def test_a_missing_export_folder_fails_the_run_with_the_setting_to_fix(tmp_path):
    result = _run(tmp_path / "nowhere", tmp_path / "impacting.duckdb")
    assert not result.success
    assert "IMPACTING_EXPORT_DIR" in failures(result)[0]
    assert not (tmp_path / "impacting.duckdb").exists()


@pytest.mark.parametrize("selection, expected", [("group:ingest", True), ("projects", False)])
def test_definitions_expose_groups_and_the_nightly_schedule(selection, expected):
    defs = build_definitions(Settings.from_env({"IMPACTING_SCHEDULE_CRON": "30 1 * * 1-5",
                                                "IMPACTING_SCHEDULE_TIMEZONE": "Europe/London"}))
    graph = defs.resolve_asset_graph()
    keys = dg.AssetSelection.from_string(selection).resolve(graph)
    assert (dg.AssetKey(["raw", "jira_issues"]) in keys) is expected
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {"ingest", "publish"} <= groups
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert schedule.cron_schedule == "30 1 * * 1-5"
    assert schedule.execution_timezone == "Europe/London"
    for key in graph.get_all_asset_keys():
        assert graph.get(key).description, f"{key} has no description"
