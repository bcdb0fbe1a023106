"""Runs that failed: recorded in `run_failures` and posted to the fallback route if one is set.

A nightly run that fails leaves yesterday's published file in place, so nobody notices unless
someone is told. The run-failure sensor calls :func:`record_failure` and :func:`announce`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from impacting.people.routing import Routing, RoutingError
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


def announce(failure: RunFailure, routing: Routing, timeout: float = 10.0) -> list[str]:
    """POST the failure to the fallback route's webhook and Slack channels (a JSON document with a
    readable `text`, which Slack shows as is); returns what could not be sent, and why."""
    from impacting.people.channels.http import post_json
    from impacting.sources.http_retry import RetryPolicy

    if routing.fallback is None:
        return []
    payload = {"text": failure.text(), "run_id": failure.run_id, "job": failure.job,
               "failed_at": failure.failed_at.isoformat(), "steps": list(failure.steps),
               "message": failure.message}
    problems = []
    for channel in routing.fallback.channels:
        if channel.kind not in ("webhook", "slack"):
            continue  # Teams cards and email are digests; a failure notice goes to webhooks
        try:
            url = channel.target.resolve()
        except RoutingError as error:
            problems.append(str(error))
            continue
        problem = post_json(url, payload, what=f"the fallback {channel.label}", timeout=timeout,
                            policy=RetryPolicy(max_retries=2))
        if problem:
            problems.append(problem)
    return problems
