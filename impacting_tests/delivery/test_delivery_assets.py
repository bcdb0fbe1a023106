"""The delivery assets, materialised by Dagster into a real DuckDB file from an export folder."""

import base64
import io
import re
from datetime import UTC, date, datetime

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from impacting.delivery import charts
from impacting.warehouse.tables import DELIVERY_TABLES
from impacting_tests.delivery.conftest import fixture_export, materialise

pytestmark = pytest.mark.slow

# Each chart, and a colour only its data is drawn in (see charts.py): axes, grid and title alone
# (an empty chart) already pass the colour and ink counts below, but have none of it.
DATA_COLOURS = {
    "cumulative_flow": charts.CATEGORY_COLOURS["done"], "throughput_wip": charts.THROUGHPUT_COLOUR,
    "cycle_time": charts.CYCLE_COLOUR, "ageing_wip": charts.BAND_COLOURS["over p95"],
    "bottlenecks": charts.WAITING_COLOUR, "forecasts": charts.FORECAST_COLOUR,
}


def test_all_delivery_tables_are_written_with_exact_values(delivered):
    assert delivered.result.success
    counts = {t.name: int(delivered.query(f"SELECT count(*) AS n FROM {t.qualified}")["n"][0])
              for t in DELIVERY_TABLES}
    # No issue of the fixture has a team: per-team tables hold the one `(no team)` bucket (the
    # summary: over all projects, and for its one project).
    assert counts == {"delivery_issue_times": 8, "delivery_status_time": 21, "delivery_weekly_flow": 8,
                      "delivery_ageing_wip": 2, "delivery_bottlenecks": 4, "delivery_forecasts": 2,
                      "delivery_team_weekly_flow": 8, "delivery_team_summary": 2,
                      "delivery_team_bottlenecks": 4}
    # Round trip through DuckDB keeps the hand-computed values exactly.
    times = delivered.query("SELECT key, lead_time_days, cycle_time_days, flow_efficiency, started_at "
                            "FROM delivery_issue_times WHERE key = 'FLOW-1'").iloc[0]
    assert (times.lead_time_days, times.cycle_time_days, times.flow_efficiency) == (
        243 / 24, 170 / 24, 5 / 17)
    assert times.started_at == pd.Timestamp(datetime(2024, 3, 4, 10, tzinfo=UTC))
    # Missing values are NULL (not NaN), so analysts' averages skip them.
    nulls, mean = delivered.query("SELECT count(*) FILTER (WHERE flow_efficiency IS NULL) AS n, "
                                  "avg(flow_efficiency) AS mean FROM delivery_issue_times").iloc[0]
    assert (nulls, mean) == (5, pytest.approx((5 / 17 + 2 / 3 + 4 / 7) / 3))
    stuck = delivered.query("SELECT stuck_keys FROM delivery_bottlenecks WHERE status = 'In Progress'")
    assert list(stuck.stuck_keys[0]) == ["FLOW-3"]
    epic = delivered.query("SELECT * FROM delivery_forecasts WHERE parent_key = 'FLOW-6'").iloc[0]
    assert list(epic.weekly_throughput) == [0, 1, 1]
    with delivered.warehouse.connect() as con:
        dates = con.execute("SELECT p50_date, p85_date, p95_date FROM delivery_forecasts "
                            "WHERE parent_key = 'FLOW-6'").fetchall()
    assert dates == [(date(2024, 3, 27), date(2024, 4, 3), date(2024, 4, 10))]
    assert delivered.query("SELECT DISTINCT as_of FROM delivery_status_time")["as_of"].tolist() == [
        pd.Timestamp(datetime(2024, 3, 20, 12, tzinfo=UTC))]


def test_status_categories_come_through_the_raw_status_table(delivered):
    sources = delivered.query("SELECT DISTINCT status, category_source FROM delivery_status_time")
    sources = dict(zip(sources.status, sources.category_source, strict=True))
    assert sources["In Review"] == "jira status list"   # from raw.jira_statuses
    assert sources["Blocked"] == "configuration"        # IMPACTING_DELIVERY_STATUS_CATEGORIES
    assert sources["Closed"] == "issues' current status"
    assert sources["QA"] == "fallback"
    problems = delivered.metadata("delivery_issue_times")["problems"].value
    assert "'QA'" in problems and "IMPACTING_DELIVERY_STATUS_CATEGORIES" in problems


def test_report_is_written_self_contained_with_headline_first(delivered):
    html = delivered.report.read_text(encoding="utf-8")
    # No network: no external script, stylesheet or image; plotly.js is inlined.
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", html)
    assert "Plotly.newPlot" in html and len(html) > 1_000_000
    headline, rest = html.split("id=\"headline\"", 1)[1].split("id=\"cumulative_flow\"", 1)
    assert "Done this week (2024-W12)" in headline and "Work in progress" in headline
    assert "Ageing beyond the 85th percentile" in headline and "Biggest bottleneck" in headline
    assert "In Review" in headline  # the waiting in-progress status with most time
    for term in ("Lead time", "Cycle time", "Time in status", "Throughput", "Flow efficiency",
                 "Bottlenecks", "Epic forecast", "Percentiles"):
        assert f"<dt>{term}</dt>" in rest, term
    meta = delivered.metadata("delivery_report")
    assert (meta["done_this_week"].value, meta["work_in_progress"].value, meta["ageing_over_p85"].value,
            meta["biggest_bottleneck"].value) == (0, 2, 1, "In Review (Story)")


def test_the_same_charts_are_shown_as_png_metadata(delivered):
    meta = delivered.metadata("delivery_report")
    for chart, colour in DATA_COLOURS.items():
        text = meta[f"chart_{chart}"].value
        encoded = re.search(r"\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text).group(1)
        image = matplotlib.image.imread(io.BytesIO(base64.b64decode(encoded)), format="png")
        pixels = (image[..., :3] * 255).round().astype(np.int32).reshape(-1, 3)
        colours = len(np.unique(pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2]))
        non_white = (pixels.min(axis=1) < 240).mean()
        assert colours > 30 and non_white > 0.02, f"{chart}: {colours} colours, {non_white:.1%} ink"
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        drawn = int((np.abs(pixels - rgb).max(axis=1) <= 6).sum())
        assert drawn >= 20, f"{chart}: its data was not drawn ({drawn} pixels of {colour})"


def test_an_export_is_measured_at_its_newest_timestamp(tmp_path):
    # Without IMPACTING_DELIVERY_AS_OF, "now" for an export is the newest time it holds: FLOW-9's
    # creation, 2024-03-21 09:00 UTC, so FLOW-9 is counted and ages grow by 21 hours.
    run = materialise(fixture_export(tmp_path / "export"), tmp_path)
    assert run.result.success
    as_of = run.query("SELECT DISTINCT as_of FROM delivery_issue_times")["as_of"].tolist()
    assert as_of == [pd.Timestamp(datetime(2024, 3, 21, 9, tzinfo=UTC))]
    ages = run.query("SELECT key, age_days FROM delivery_ageing_wip ORDER BY key")
    assert ages.age_days.tolist() == [(339 + 21) / 24, (459 + 21) / 24]
    assert run.query("SELECT count(*) AS n FROM delivery_issue_times")["n"][0] == 9
    assert run.report.exists()


def test_the_report_alone_can_be_rematerialised(delivered, tmp_path):
    import dagster as dg

    from impacting.defs import delivery, ingest
    from impacting.defs.resources import resources_from_settings
    from impacting.settings import Settings
    from impacting_tests.delivery.conftest import FIXTURE_ENV

    settings = Settings.from_env({"IMPACTING_WAREHOUSE": str(delivered.warehouse.published_path),
                                  "IMPACTING_SITE_DIR": str(tmp_path / "again"), **FIXTURE_ENV})
    before = delivered.query("SELECT count(*) AS n FROM delivery_issue_times")["n"][0]
    result = dg.materialize([*ingest.ASSETS, *delivery.ASSETS], selection=["delivery_report"],
                            resources=resources_from_settings(settings),
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    assert [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()] == [
        "delivery_report"]
    assert (tmp_path / "again" / "delivery.html").stat().st_size > 1_000_000
    assert delivered.query("SELECT count(*) AS n FROM delivery_issue_times")["n"][0] == before
