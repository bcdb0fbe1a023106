"""The nightly job and the embedding backfill on a real small deployment: Postgres instance storage,
Redis as Celery's broker and backend, two Celery worker processes and the Dagster daemon.

One module-scoped deployment serves every test: the nightly run is launched as the schedule
launches it (queued, then started by the daemon, its steps executed by the workers) on a slice of
the sample, compared with an in-process run of the same slice (run at the same time, in a process
of its own), then the embedding cache and the documents are emptied (a first load: only the
stored attachments are left) and rebuilt by a 4-partition backfill, which extracts and embeds in
the partitions, and a nightly run's `documents` step that reuses every extracted text; and a run
killed while holding a pool slot is failed and its slot freed by the daemon's run monitoring.
Every server, worker and the daemon run with deploy/dagster.yaml as their instance file.
`make test-distributed` runs these (`pytest -m distributed`).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import psycopg2
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType

from impacting.defs.resources import WAREHOUSE_POOL
from impacting.language.encoder import CACHE_TABLE
from impacting.settings import var
from impacting.warehouse.tables import DOCUMENTS
from impacting_tests.conftest import (
    INSIGHT_OPEN,
    INSIGHT_PARENTS,
    INSIGHT_PAST,
    assert_same_content,
    copy_delivery,
    copy_sample,
    published_content,
)
from impacting_tests.distributed.servers import ROOT, cluster, dagster, start, stop

pytestmark = [pytest.mark.distributed, pytest.mark.slow, pytest.mark.timeout(3600)]

PARTITIONS = 4
DETERMINISTIC = ("projects", "documents", "chunks", "summaries", "keywords", "similar_projects")
RUN_SECONDS = 2400


def _working(warehouse) -> str:
    return str(warehouse.with_name(warehouse.stem + ".work") / "working.duckdb")


# The in-process run, in a process of its own so that it runs while the deployment starts and
# runs the same job: the test's wall time is the longer of the two, not their sum.
IN_PROCESS = ("import json, sys; from pathlib import Path; "
              "from impacting_tests.conftest import failures, run_pipeline; "
              "result = run_pipeline(Path(sys.argv[1]), Path(sys.argv[2]), **json.loads(sys.argv[3])); "
              "sys.exit(0 if result.success else print(failures(result)) or 1)")
# Both runs: two cross-validation folds for the team model (no compared table depends on them).
SETTINGS = {var("triage.cv_folds"): "2"}
# A run that dies holding a pool slot: a pool of its own, so that it blocks none of the runs here.
PROBE_POOL = "impacting_killed_run_probe"


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """A slice of the sample: its 20 small design documents across SIGs, 3 open requests and the
    delivery stories of 3 projects (the slice the insight tests run on). Every compared table
    has rows, and a run embeds a quarter of what the whole sample takes, which keeps this test
    within CI's time on two cores; every step of the job runs all the same."""
    folder = tmp_path_factory.mktemp("export")
    return copy_delivery(copy_sample(folder, INSIGHT_PAST + INSIGHT_OPEN), INSIGHT_PARENTS)


@pytest.fixture(scope="module")
def in_process(tmp_path_factory, export):
    folder = tmp_path_factory.mktemp("in_process")
    warehouse, log = folder / "impacting.duckdb", folder / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "IMPACTING_", "JIRA_"))}
    process = start([Path(sys.executable).name, "-c", IN_PROCESS, str(export), str(warehouse),
                     json.dumps(SETTINGS)], {**env, "PYTHONPATH": str(ROOT)}, log)
    yield process, warehouse, log
    stop(process)


@pytest.fixture(scope="module")
def reference(in_process):
    """The nightly job in one process on the same export: what the distributed run must equal."""
    process, warehouse, log = in_process
    assert process.wait(timeout=RUN_SECONDS) == 0, log.read_text(errors="replace")[-5000:]
    return warehouse


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, export, in_process):
    folder = tmp_path_factory.mktemp("deployment")
    warehouse = folder / "warehouse" / "impacting.duckdb"
    settings = {**SETTINGS, var("warehouse.path"): str(warehouse), var("source.export_dir"): str(export),
                var("site.site_dir"): str(folder / "site"),
                var("distributed.embedding_partitions"): str(PARTITIONS),
                # a cron that cannot fire while the test runs (the schedule is on by default)
                var("schedule.cron"): "0 0 1 1 *"}
    with cluster(folder, settings, workers=2) as env, pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            if name.startswith(("DAGSTER_", "IMPACTING_")):
                patch.setenv(name, value)
        with dg.DagsterInstance.get() as instance:
            yield {"env": env, "instance": instance, "warehouse": warehouse, "folder": folder,
                   "killed": _killed_run(instance)}


def _killed_run(instance: dg.DagsterInstance) -> str:
    """A run that started, claimed a pool slot for a step and was then killed: no process will
    ever report its end. Only run monitoring (deploy/dagster.yaml) can fail it and free the slot;
    it runs out of time after a second (`dagster/max_runtime`)."""
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="nightly", run_id=run_id, status=dg.DagsterRunStatus.NOT_STARTED,
                                   tags={"dagster/max_runtime": "1"}))
    instance.report_dagster_event(
        DagsterEvent(DagsterEventType.RUN_START.value, job_name="nightly"), run_id)
    # as a run's coordinator does before its first step in a pool: the pool gets the default limit
    instance.event_log_storage.initialize_concurrency_limit_to_default(PROBE_POOL)
    claim = instance.event_log_storage.claim_concurrency_slot(PROBE_POOL, run_id, "documents")
    assert claim.is_claimed, "the pool had a free slot"
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
    return run_id


def _wait(instance: dg.DagsterInstance, run_ids: list[str]) -> list[dg.DagsterRun]:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
        if all(run is not None and run.is_finished for run in runs):
            return runs
        time.sleep(2)
    raise TimeoutError(f"runs {run_ids} not finished within {RUN_SECONDS} s")


def _step_failures(instance, run_id: str) -> list[str]:
    return [f"{e.dagster_event.step_key}: {e.dagster_event.event_specific_data.error.message}"
            for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]


@pytest.fixture(scope="module")
def nightly(deployment):
    """The nightly job launched as the schedule does: queued, started by the daemon."""
    instance, run_id = deployment["instance"], str(uuid.uuid4())
    dagster(deployment["env"], "job", "launch", "-w", str(ROOT / "workspace.yaml"), "-j", "nightly",
            "--run-id", run_id)
    [run] = _wait(instance, [run_id])
    return run


@pytest.fixture(scope="module")
def backfill(deployment, nightly):
    """The embedding cache and the documents emptied, as before a first load (`jira_sync` has
    stored the attachments, nothing is extracted or embedded yet), then rebuilt by the partitioned
    backfill: the export, one run per partition (`dagster job backfill`, queued and started by
    the daemon), the merge."""
    env, instance = deployment["env"], deployment["instance"]
    with duckdb.connect(_working(deployment["warehouse"])) as con:
        con.execute(f"DELETE FROM {CACHE_TABLE}")
        con.execute(f"DELETE FROM {DOCUMENTS.qualified}")
    dagster(env, "asset", "materialize", "-m", "impacting.definitions", "--select", "embedding_inputs")
    tag = str(uuid.uuid4())
    dagster(env, "job", "backfill", "-w", str(ROOT / "workspace.yaml"), "-j", "embedding_backfill",
            "--partitions", ",".join(str(k) for k in range(PARTITIONS)), "--noprompt",
            "--tags", json.dumps({"impacting/test": tag}))
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"impacting/test": tag}))
    runs = _wait(instance, [run.run_id for run in runs])
    dagster(env, "asset", "materialize", "-m", "impacting.definitions", "--select", "embedding_cache")
    return runs


@pytest.fixture(scope="module")
def nightly_documents(deployment, backfill):
    """After the backfill's merge, the nightly job's `documents` step launched as the schedule
    launches the job (queued, started by the daemon, on a worker)."""
    instance, run_id = deployment["instance"], str(uuid.uuid4())
    dagster(deployment["env"], "job", "launch", "-w", str(ROOT / "workspace.yaml"), "-j", "nightly",
            "-o", "documents", "--run-id", run_id)
    [run] = _wait(instance, [run_id])
    return run


def _materialized(instance, run_id: str, key: str) -> dict:
    [entry] = [e for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
               if e.dagster_event.asset_key.to_user_string() == key]
    return {name: value.value for name, value in
            entry.dagster_event.event_specific_data.materialization.metadata.items()}


def test_the_nightly_run_succeeds_and_is_recorded_in_postgres(deployment, nightly):
    instance = deployment["instance"]
    assert nightly.status == dg.DagsterRunStatus.SUCCESS, _step_failures(instance, nightly.run_id)
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    env = deployment["env"]
    with psycopg2.connect(host=env["DAGSTER_POSTGRES_HOST"], port=env["DAGSTER_POSTGRES_PORT"],
                          user=env["DAGSTER_POSTGRES_USER"], password=env["DAGSTER_POSTGRES_PASSWORD"],
                          dbname=env["DAGSTER_POSTGRES_DB"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pipeline_name, status FROM runs WHERE run_id = %s", [nightly.run_id])
        assert cursor.fetchall() == [("nightly", "SUCCESS")]


def test_both_workers_executed_steps_of_the_nightly_run(deployment, nightly):
    workers: dict[str, list[str]] = {}
    for entry in deployment["instance"].all_logs(nightly.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        metadata = entry.dagster_event.engine_event_data.metadata or {}
        if "Celery worker" in metadata:
            workers.setdefault(metadata["Celery worker"].value, []).append(entry.dagster_event.step_key)
    assert sorted(name.split("@")[0] for name in workers) == ["worker-1", "worker-2"], workers
    steps = {step for executed in workers.values() for step in executed}
    assert {"chunks", "documents", "published_warehouse"} <= steps


def test_the_published_warehouse_equals_the_in_process_run(deployment, nightly, reference):
    assert nightly.status == dg.DagsterRunStatus.SUCCESS
    ours, theirs = published_content(deployment["warehouse"]), published_content(reference)
    compared = {name: frame for name, frame in ours.items() if name.split(".")[-1] in DETERMINISTIC}
    assert len(compared) == len(DETERMINISTIC)
    assert all(len(frame) for frame in compared.values()), "the sample fills every compared table"
    assert_same_content(compared, {name: theirs[name] for name in compared})


def _cache(path: str, prose_only: bool = False) -> dict[tuple[str, str], np.ndarray]:
    where = " WHERE text_sha256 IN (SELECT sha256 FROM main.chunks WHERE embedded)" if prose_only else ""
    with duckdb.connect(path, read_only=True) as con:
        rows = con.execute(f"SELECT model, text_sha256, vector FROM {CACHE_TABLE}{where}").fetchall()
    return {(model, sha): np.asarray(vector, dtype=np.float32) for model, sha, vector in rows}


def test_a_four_partition_backfill_leaves_the_same_embedding_cache(deployment, backfill, reference):
    instance = deployment["instance"]
    assert sorted(run.tags["dagster/partition"] for run in backfill) == [str(k) for k in range(PARTITIONS)]
    for run in backfill:
        assert run.status == dg.DagsterRunStatus.SUCCESS, _step_failures(instance, run.run_id)
    # every stored document was read in the partitions: none had been extracted before
    extracted = [_materialized(instance, run.run_id, "document_vectors") for run in backfill]
    assert sum(m["documents_extracted"] for m in extracted) == sum(m["documents"] for m in extracted) > 15
    rebuilt = _cache(_working(deployment["warehouse"]))
    single_process = _cache(_working(reference), prose_only=True)
    assert len(single_process) > 300, "the slice's prose is embedded"
    assert rebuilt.keys() == single_process.keys()
    worst = max(float(np.abs(rebuilt[key] - single_process[key]).max()) for key in rebuilt)
    assert worst < 1e-5, f"vectors differ by up to {worst}"


def test_after_the_backfill_the_nightly_documents_step_reads_nothing_again(deployment, backfill,
                                                                           nightly_documents, reference):
    instance = deployment["instance"]
    assert nightly_documents.status == dg.DagsterRunStatus.SUCCESS, \
        _step_failures(instance, nightly_documents.run_id)
    counts = _materialized(instance, nightly_documents.run_id, "documents")
    assert counts["documents_extracted"] == 0 and counts["documents_reused"] > 15, counts
    # the same rows, text included, as the single-process run extracted itself
    ours = published_content(Path(_working(deployment["warehouse"])))[DOCUMENTS.qualified]
    assert len(ours) == counts["documents_reused"]
    assert_same_content({"documents": ours}, {"documents": published_content(reference)[DOCUMENTS.qualified]})


def _pool_steps() -> set[str]:
    from impacting.definitions import build_definitions

    job = build_definitions().resolve_implicit_global_asset_job_def()
    return {node.name for node in job.nodes if node.definition.pool == WAREHOUSE_POOL}


def test_steps_that_write_the_working_duckdb_never_overlapped(deployment, nightly, backfill,
                                                              nightly_documents):
    """From the event log of every run of the deployment: the pool's steps ran one at a time
    (while the backfill's partition steps, outside the pool, were free to overlap)."""
    instance, pooled, spans = deployment["instance"], _pool_steps(), []
    assert {"documents", "chunks", "embedding_inputs", "embedding_cache"} <= pooled
    assert "document_vectors" not in pooled
    for run in instance.get_runs():
        started = {}
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or event.step_key not in pooled:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                spans.append((started[event.step_key], entry.timestamp, f"{run.run_id[:8]}:{event.step_key}"))
    spans.sort()
    assert len(spans) > 30
    for (_, end, first), (begin, _, second) in zip(spans, spans[1:], strict=False):
        assert begin >= end, f"{second} started before {first} ended"


def test_run_monitoring_fails_a_killed_run_and_frees_its_pool_slot(deployment):
    """A run killed mid-step held its pool slot for ever and blocked every later run (the reason
    the checkout's instance has no pool limit). With deploy/dagster.yaml's run monitoring the
    daemon marks such a run failed and gives its slots back."""
    instance, run_id = deployment["instance"], deployment["killed"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if run_id not in instance.event_log_storage.get_concurrency_run_ids():
            break
        time.sleep(5)
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    info = instance.event_log_storage.get_concurrency_info(PROBE_POOL)
    assert (info.slot_count, info.claimed_slots) == (1, []), "the slot of the killed run is free again"
