"""A failing quality gate stops publishing and says why (the fault injected: a gate that fails)."""

import dagster as dg
import pytest

from impacting.warehouse import quality
from impacting_tests.conftest import query, run_pipeline

pytestmark = pytest.mark.slow


def test_a_failing_blocking_check_stops_publishing_and_says_why(small_export, tmp_path, monkeypatch):
    warehouse = tmp_path / "wh" / "impacting.duckdb"
    first = run_pipeline(small_export, warehouse, selection="group:ingest or group:delivery")
    assert first.success
    before = query(warehouse, "SELECT count(*) FROM delivery_issue_times")

    def broken(con):
        return quality.Outcome(False, "injected: 3 issue(s) have out-of-order times", {"inconsistent": 3})

    monkeypatch.setattr(quality, "delivery_times_consistent", broken)
    published = warehouse.read_bytes()
    second = run_pipeline(small_export, warehouse, selection="group:ingest or group:delivery")

    assert not second.success
    evaluations = [e.event_specific_data for e in second.all_events
                   if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    [failed] = [e for e in evaluations if not e.passed]
    assert failed.check_name == "delivery_times_are_consistent"
    assert "injected: 3 issue(s)" in failed.description  # what the UI shows beside the check
    ran = {e.step_key for e in second.all_events if e.is_step_success}
    assert "published_warehouse" not in ran
    assert warehouse.read_bytes() == published and query(warehouse, "SELECT count(*) FROM "
                                                         "delivery_issue_times") == before
