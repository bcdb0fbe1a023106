"""A run whose process died is released (marked failed, its warehouse slot freed); a live one is not."""

import os
import socket
import subprocess
import sys
import uuid

import dagster as dg

from impacting.defs.abandoned import HOST_TAG, PID_TAG, release_abandoned_runs
from impacting.defs.resources import WAREHOUSE_POOL


def _started_run(instance: dg.DagsterInstance, pid: int, host: str | None = None) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="nightly", run_id=run_id, status=dg.DagsterRunStatus.STARTED,
                                   tags={PID_TAG: str(pid), HOST_TAG: host or socket.gethostname()}))
    return run_id


def test_a_run_whose_process_is_gone_is_failed_and_frees_its_slot(tmp_path):
    (tmp_path / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 1\n")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        dead = _started_run(instance, gone.pid)
        alive = _started_run(instance, os.getppid())
        elsewhere = _started_run(instance, gone.pid, host="another-machine")
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        claim = storage.claim_concurrency_slot(WAREHOUSE_POOL, dead, "chunks")
        assert claim.is_claimed

        assert release_abandoned_runs(instance) == [dead]

        assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
        assert instance.get_run_by_id(elsewhere).status == dg.DagsterRunStatus.STARTED
        assert storage.claim_concurrency_slot(WAREHOUSE_POOL, str(uuid.uuid4()), "chunks").is_claimed
        assert release_abandoned_runs(instance) == []
