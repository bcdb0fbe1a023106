"""What Dagster recorded about a run: each step's seconds and the assets it skipped (for
`impacting bench`, which reads them after the run)."""

from __future__ import annotations

import dagster as dg

from impacting.defs.reuse import SKIPPED


def newest_run_figures() -> dict:
    """The newest run's id, its steps' seconds and the assets it re-reported unchanged, from the
    instance DAGSTER_HOME names (where `impacting run` recorded it)."""
    instance = dg.DagsterInstance.get()
    runs = instance.get_runs(limit=1)
    if not runs:
        return {"run_id": None, "steps": {}, "skipped": []}
    run_id = runs[0].run_id
    steps = {s.step_key: round(s.end_time - s.start_time, 3) for s in instance.get_run_step_stats(run_id)
             if s.end_time is not None and s.start_time is not None}
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    skipped = []
    for record in records:
        materialization = record.event_log_entry.dagster_event.event_specific_data.materialization
        flag = materialization.metadata.get(SKIPPED)
        if flag is not None and flag.value is True:
            skipped.append(materialization.asset_key.to_user_string())
    return {"run_id": run_id, "steps": steps, "skipped": sorted(skipped)}
