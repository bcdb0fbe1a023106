"""The embedded sample carries status histories that give every delivery table plausible rows."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from impacting.delivery.build import build_delivery, default_as_of
from impacting.settings import DeliverySettings
from impacting.sources.jira_export import ExportSource
from impacting.sources.jira_fields import project_row, status_changes
from impacting_tests.conftest import SAMPLE

SYNTHETIC = "sample generator (synthetic)"


@pytest.fixture(scope="module")
def sample():
    issues = list(ExportSource(SAMPLE).issues())
    projects = pd.DataFrame([project_row(issue) for issue in issues])
    changes = pd.DataFrame([row for issue in issues for row in status_changes(issue)])
    as_of = default_as_of("export", projects, changes, datetime.now(UTC))
    return projects, changes, build_delivery(projects, changes, pd.DataFrame(), DeliverySettings(), as_of)


def test_histories_are_synthetic_consistent_and_before_the_snapshot(sample):
    projects, changes, tables = sample
    assert set(changes["author"]) == {SYNTHETIC}
    assert tables.problems == ()  # every changelog ends in the issue's current status, all known
    assert datetime(2023, 1, 1, tzinfo=UTC) < tables.as_of <= datetime(2023, 1, 13, 17, tzinfo=UTC)
    # Requests awaiting triage never moved and have no teams yet; delivery tasks have their epic's.
    waiting = projects[(projects["status_category"] == "new") & (projects["teams"].map(len) == 0)]
    assert len(waiting) == 15 and set(waiting["key"]).isdisjoint(changes["project_key"])
    assert (projects[projects["parent_key"].notna()]["teams"].map(len) > 0).all()


def test_every_table_has_plausible_rows(sample):
    _, _, tables = sample
    times = tables.issue_times
    for name in ("issue_times", "status_time", "weekly_flow", "ageing_wip", "bottlenecks", "forecasts"):
        assert len(getattr(tables, name)), name
    done = times[times["done_at"].notna()]
    assert len(done) > 50 and (done["cycle_time_days"] > 0).all()
    assert (done["lead_time_days"] >= done["cycle_time_days"]).all()
    stories = done[done["issue_type"] == "Story"]["cycle_time_days"]
    assert 2 < stories.median() < 30  # delivery tasks take days to weeks, not years
    assert tables.weekly_flow["done"].tail(4).sum() > 0  # recent throughput to forecast from
    forecasts = tables.forecasts
    assert len(forecasts) >= 5 and forecasts["p85_date"].notna().all()
    assert (forecasts["p50_date"] <= forecasts["p85_date"]).all()
    assert (forecasts["p85_date"] <= forecasts["p95_date"]).all()
    assert {"In Progress", "In Review"} <= set(tables.bottlenecks["status"])
