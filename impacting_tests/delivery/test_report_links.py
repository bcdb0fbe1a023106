"""The delivery report as a page of the site: issue keys link to Jira, and back to the index."""

import json
from datetime import UTC, datetime

import pandas as pd
from bs4 import BeautifulSoup

from impacting.delivery.build import build_delivery
from impacting.delivery.report import ReportData, build_charts, render_html
from impacting.settings import DeliverySettings
from impacting.sources.jira_fields import project_row, status_changes
from impacting_tests.conftest import FIXTURES


def test_issue_keys_link_to_jira_and_the_page_links_back_to_the_site():
    issues = json.loads((FIXTURES / "delivery_flow_issues.json").read_text(encoding="utf-8"))
    projects = pd.DataFrame([project_row(issue) for issue in issues])
    changes = pd.DataFrame([row for issue in issues for row in status_changes(issue)])
    tables = build_delivery(projects, changes, pd.DataFrame(), DeliverySettings(),
                            datetime(2024, 3, 20, 12, tzinfo=UTC))
    keys = sorted(set(tables.ageing_wip["key"]))
    urls = {key: f"https://jira.example.com/browse/{key}" for key in keys}
    urls[keys[0]] = "javascript:alert(1)"   # never a link
    data = ReportData(tables, DeliverySettings(), "test", urls=urls, home="index.html")
    page = BeautifulSoup(render_html(data, build_charts(data)), "html.parser")
    links = {a.get_text(): a["href"] for a in page.find_all("a") if a.get_text() in keys}
    assert links == {key: urls[key] for key in keys[1:]}
    assert page.find("a", href="index.html") is not None
    assert "javascript:alert(1)" not in str(page)
