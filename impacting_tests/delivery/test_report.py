"""The HTML report's own rules: headline choices, escaping, and a warehouse with nothing in it."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd

from impacting.delivery.build import build_delivery
from impacting.delivery.report import ReportData, biggest_bottleneck, build_charts, render_html, write_report
from impacting.settings import DeliverySettings
from impacting.sources.jira_fields import project_row, status_changes
from impacting.warehouse.tables import DELIVERY_TABLES
from impacting_tests.conftest import FIXTURES

AS_OF = datetime(2024, 3, 20, 12, tzinfo=UTC)


def _data(tables, settings=None) -> ReportData:
    return ReportData(tables, settings or DeliverySettings(), "test")


def test_the_biggest_bottleneck_is_a_waiting_status_not_active_work():
    frame = pd.DataFrame([
        {"issue_type": "Story", "status": "To Do", "status_category": "new", "is_active": False,
         "total_days": 90.0},
        {"issue_type": "Story", "status": "In Progress", "status_category": "indeterminate",
         "is_active": True, "total_days": 50.0},
        {"issue_type": "Story", "status": "In Review", "status_category": "indeterminate",
         "is_active": False, "total_days": 20.0},
    ])
    assert biggest_bottleneck(frame)["status"] == "In Review"
    assert biggest_bottleneck(frame[frame["status"] != "In Review"])["status"] == "In Progress"
    assert biggest_bottleneck(frame[frame["status"] == "To Do"]) is None


def test_issue_text_cannot_break_out_of_the_page(tmp_path):
    issues = json.loads((FIXTURES / "delivery_flow_issues.json").read_text(encoding="utf-8"))
    hostile = "</script><script>alert('x')</script><b>bold</b>"
    for issue in issues:
        issue["fields"]["summary"] = hostile
    projects = pd.DataFrame([project_row(issue) for issue in issues])
    changes = pd.DataFrame([row for issue in issues for row in status_changes(issue)])
    tables = build_delivery(projects, changes, pd.DataFrame(), DeliverySettings(), AS_OF)
    page = render_html(_data(tables), build_charts(_data(tables)))
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page  # shown as text in the tables


def test_an_empty_warehouse_gives_empty_tables_and_a_report_that_says_so(tmp_path):
    empty = pd.DataFrame(columns=["key", "created_at", "status", "status_category"])
    changes = pd.DataFrame(columns=["project_key", "changed_at", "from_status", "to_status"])
    as_of = datetime(2024, 3, 20, 13, tzinfo=timezone(timedelta(hours=1)))
    tables = build_delivery(empty, changes, pd.DataFrame(), DeliverySettings(), as_of)
    assert len(tables.frames) == len(DELIVERY_TABLES)
    assert all(len(frame) == 0 for frame in tables.frames.values())
    path = write_report(_data(tables), tmp_path / "r" / "delivery.html")
    page = path.read_text(encoding="utf-8")
    assert "No issue finished in the last 12 weeks" in page and "0 issues" in page
    assert not list(path.parent.glob(".*.part"))  # written atomically, nothing left behind
