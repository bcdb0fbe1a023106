"""Operations: a failed run is recorded and posted to the fallback webhook (its secret unshown);
the published warehouse turns stale after the configured hours."""

import json

import dagster as dg

from impacting.defs.operations import record_run_failures
from impacting.defs.resources import resources_from_settings
from impacting.settings import var
from impacting_tests.conftest import pipeline_settings, query


@dg.op
def read_jira():
    raise RuntimeError("Jira answered 502 three times")


@dg.job(name="nightly")
def failing_nightly():
    read_jira()


def test_a_failed_run_is_recorded_and_posted_to_the_fallback_webhook(tmp_path, monkeypatch, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    hook = httpserver.url_for("/hook") + "?token=Fa1lure-s3cret"
    monkeypatch.setenv(var("triage.alert_webhook_url"), hook)
    settings = pipeline_settings(tmp_path / "export", tmp_path / "wh" / "impacting.duckdb",
                                 **{var("triage.alert_webhook_url"): hook})
    instance = dg.DagsterInstance.ephemeral()
    result = failing_nightly.execute_in_process(instance=instance, raise_on_error=False)
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE]

    context = dg.build_run_status_sensor_context(
        sensor_name="record_run_failures", dagster_event=failure, dagster_instance=instance,
        dagster_run=result.dagster_run, resources=resources_from_settings(settings)).for_run_failure()
    record_run_failures(context)

    working = settings.working_dir / "working.duckdb"
    [(run_id, job, steps)] = query(working, "SELECT run_id, job, steps FROM run_failures")
    assert (run_id, job, steps) == (result.run_id, "nightly", ["read_jira"])
    [(request, _)] = httpserver.log
    posted = json.loads(request.get_data())
    assert posted["run_id"] == result.run_id and "failed at read_jira" in posted["text"]
    assert "published warehouse was left as it was" in posted["text"]
    assert b"Fa1lure-s3cret" not in working.read_bytes()


def test_the_published_warehouse_turns_stale_after_the_configured_hours():
    from datetime import timedelta

    from impacting.definitions import build_definitions
    from impacting.defs.publish import PUBLISHED_KEY
    from impacting.settings import Settings

    defs = build_definitions(Settings.from_env({var("schedule.freshness_hours"): "5"}))
    policy = defs.resolve_asset_graph().get(PUBLISHED_KEY).freshness_policy
    assert policy.fail_window.to_timedelta() == timedelta(hours=5)
