"""Runs whose process died (SIGKILL, power loss, out of memory) before they could say so.

Such a run stays STARTED in the instance forever and keeps its slot in the warehouse pool, so
with a pool limit of 1 the next run would wait for it for ever. A run started by `impacting
run` carries its process id and host; before the next run starts, each run left STARTED whose
process no longer exists on this host is marked failed (saying why) and its pool slots freed.
"""

from __future__ import annotations

import os
import socket

import dagster as dg

PID_TAG = "impacting/pid"
HOST_TAG = "impacting/host"
_LIVE = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.NOT_STARTED]


def process_tags() -> dict[str, str]:
    """Tags that let a later run on this host tell whether this one's process is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process of that id: alive
        return True
    return True


def release_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed every run on this host whose process is gone, and free its pool slots.

    Returns the ids of the runs released. Runs from another host, or without the tags (launched
    from the UI, whose launcher and the daemon's run monitoring look after them), are left alone.
    """
    released = []
    host = socket.gethostname()
    for record in instance.get_run_records(dg.RunsFilter(statuses=_LIVE, tags={HOST_TAG: host})):
        run = record.dagster_run
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, message=f"impacting: the process that ran this run (pid {pid} on "
                                   f"{host}) is gone (killed or crashed); marked failed so the next "
                                   "run can take the warehouse")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
