"""Runs that failed: recorded in `run_failures` and posted to the fallback route if one is set.

A nightly run that fails leaves yesterday's published file in place, so nobody notices unless
someone is told. The run-failure sensor calls :func:`record_failure` and :func:`announce`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from impacting.warehouse.store import upsert_rows
from impacting.warehouse.tables import RUN_FAILURES


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job: str
    failed_at: datetime
    steps: tuple[str, ...]
    message: str

    def text(self) -> str:
        where = f" at {', '.join(self.steps)}" if self.steps else ""
        return (f"[impacting] run {self.run_id} of {self.job} failed{where}: {self.message} — the "
                "published warehouse was left as it was; see the Dagster UI for the run's logs")


def record_failure(con: duckdb.DuckDBPyConnection, failure: RunFailure) -> None:
    upsert_rows(con, RUN_FAILURES, pd.DataFrame([{
        "run_id": failure.run_id, "job": failure.job, "failed_at": failure.failed_at,
        "steps": list(failure.steps), "message": failure.message[:4000],
    }]))


def announce(failure: RunFailure, webhook_url: str | None) -> str | None:
    """POST the failure to the fallback webhook; None when sent (or nowhere to send), else why not."""
    if not webhook_url:
        return None
    from impacting.triage.alerts import deliver

    return deliver({"text": failure.text(), "run_id": failure.run_id, "job": failure.job,
                    "failed_at": failure.failed_at.isoformat(), "steps": list(failure.steps),
                    "message": failure.message}, webhook_url)
