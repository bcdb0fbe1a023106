"""Delivery by team and Jira project on the hand-written fixture, with teams added: stories take
their epic's teams, every figure per team is the department's figure over the team's issues."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from impacting.delivery.build import build_delivery
from impacting.delivery.flow import nearest_rank
from impacting.delivery.report import ReportData, build_charts, render_html
from impacting.delivery.teams import ownership
from impacting.settings import DeliverySettings
from impacting.sources.jira_fields import project_row, status_changes
from impacting_tests.conftest import FIXTURES

AS_OF = datetime(2024, 3, 20, 12, tzinfo=UTC)
HOSTILE = "<img src=x onerror=alert(1)>"


def fixture_with_teams(field: str = "components") -> tuple[pd.DataFrame, pd.DataFrame]:
    issues = json.loads((FIXTURES / "delivery_flow_issues.json").read_text(encoding="utf-8"))
    teams = {"FLOW-6": ["payments"], "FLOW-7": ["search", HOSTILE], "FLOW-4": ["ops"]}
    for issue in issues:
        issue["fields"][field] = [{"name": t} for t in teams.get(issue["key"], [])]
        if issue["key"] == "FLOW-8":
            issue["fields"]["project"] = {"key": "OPS"}
    projects = pd.DataFrame([project_row(issue, team_field=field) for issue in issues])
    changes = pd.DataFrame([row for issue in issues for row in status_changes(issue)])
    return projects, changes


@pytest.fixture(scope="module")
def tables():
    projects, changes = fixture_with_teams()
    return build_delivery(projects, changes, pd.DataFrame(), DeliverySettings(bottleneck_weeks=2), AS_OF)


def test_a_story_without_teams_takes_its_epics_and_its_own_teams_win():
    projects, _ = fixture_with_teams()
    owners = ownership(projects)
    assert owners["FLOW-1"].teams == ("payments",) and owners["FLOW-1"].inherited_from == "FLOW-6"
    assert owners["FLOW-4"].teams == ("ops",) and owners["FLOW-4"].inherited_from is None
    assert owners["FLOW-9"].teams == ("search", HOSTILE) and owners["FLOW-9"].inherited_from == "FLOW-7"
    assert owners["FLOW-2"].teams == () and owners["FLOW-2"].counted_for == ("(no team)",)
    assert owners["FLOW-8"].project == "OPS"
    # A loop in parent links ends instead of hanging.
    looped = projects.assign(parent_key=projects["key"].map({"FLOW-2": "FLOW-8", "FLOW-8": "FLOW-2"}))
    assert ownership(looped)["FLOW-2"].teams == ()


def test_every_issue_table_says_its_project_and_teams(tables):
    times = tables.issue_times.set_index("key")
    assert list(times.loc["FLOW-3", "teams"]) == ["payments"] and times.loc["FLOW-3", "project"] == "FLOW"
    assert times.loc["FLOW-3", "teams_inherited_from"] == "FLOW-6"
    assert pd.isna(times.loc["FLOW-6", "teams_inherited_from"])
    assert set(tables.status_time.columns) >= {"project", "teams"}
    assert set(tables.ageing_wip.columns) >= {"project", "teams"}
    epic = tables.forecasts.set_index("parent_key").loc["FLOW-7"]
    assert list(epic.teams) == ["search", HOSTILE] and epic.project == "FLOW"


def test_team_figures_are_the_departments_figures_over_the_teams_issues(tables):
    times = tables.issue_times
    summary = tables.team_summary
    overall = summary[summary["project"].isna()].set_index("team")
    assert set(overall.index) == {"payments", "search", HOSTILE, "ops", "(no team)"}
    window_start = pd.Timestamp(AS_OF - timedelta(weeks=2))
    for team, row in overall.iterrows():
        mine = times[[team in (list(t) or ["(no team)"]) for t in times["teams"]]]
        assert row["issues"] == len(mine)
        assert row["done_in_window"] == ((mine["done_at"] > window_start) & (mine["done_at"] <= AS_OF)).sum()
        cycles = mine["cycle_time_days"].dropna().tolist()
        expected = nearest_rank(cycles, 85) if cycles else None
        assert row["cycle_p85_days"] == expected if cycles else pd.isna(row["cycle_p85_days"])
        assert row["work_in_progress"] == (mine["status_category"] == "indeterminate").sum()
    # Each team also has a row per project, adding up to its own.
    per_project = summary[summary["project"].notna()]
    assert set(per_project.loc[per_project["team"] == "(no team)", "project"]) == {"FLOW", "OPS"}
    assert per_project.groupby("team")["issues"].sum().to_dict() == overall["issues"].to_dict()


def test_weekly_flow_per_team_and_project_adds_up_to_each_team(tables):
    weekly = tables.team_weekly_flow
    created = weekly.groupby("team")["created"].sum().to_dict()
    # FLOW-9 is created after as_of: it counts nowhere yet.
    assert created == {"payments": 4, "search": 1, HOSTILE: 1, "ops": 1, "(no team)": 2}
    assert set(weekly.loc[weekly["team"] == "(no team)", "project"]) == {"FLOW", "OPS"}
    bottlenecks = tables.team_bottlenecks
    assert set(bottlenecks["team"]) <= set(created)
    for (team, kind), group in bottlenecks.groupby(["team", "issue_type"]):
        assert sorted(group["rank_by_total"]) == list(range(1, len(group) + 1)), (team, kind)


def test_a_custom_team_field_is_used_the_same_way():
    projects, changes = fixture_with_teams("customfield_10100")
    tables = build_delivery(projects, changes, pd.DataFrame(), DeliverySettings(), AS_OF)
    assert list(tables.issue_times.set_index("key").loc["FLOW-5", "teams"]) == ["payments"]


def test_the_report_lets_a_reader_pick_a_team_and_escapes_team_names(tables):
    data = ReportData(tables, DeliverySettings(bottleneck_weeks=2), "test")
    page = render_html(data, build_charts(data))
    assert HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    soup = BeautifulSoup(page, "html.parser")
    options = [o["value"] for o in soup.select("#team-pick option")]
    assert options[0] == "payments" and options[-1] == "(no team)" and HOSTILE in options
    panels = soup.select("#teams .team-panel")
    assert [p["data-team"] for p in panels] == options
    assert all(p.select_one("svg") is not None for p in panels)
    assert "team-pick" in soup.select("#teams script")[-1].text
