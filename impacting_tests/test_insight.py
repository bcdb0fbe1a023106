"""Insight on the sample inside the nightly job, run twice with a request arriving in between:
themes, the funnel and per-team delivery are filled and published; the Dagster UI shows the
elbow and silhouette curves; the arriving request renames no theme."""

from __future__ import annotations

import pytest

from impacting_tests.conftest import INSIGHT_ADDED, INSIGHT_OPEN, INSIGHT_PAST, metadata_values, query

pytestmark = pytest.mark.slow


def test_the_run_fills_themes_funnel_and_team_delivery(insight_sample):
    path = insight_sample.warehouse
    requests = len(INSIGHT_PAST) + len(INSIGHT_OPEN) + 1
    assert query(path, "SELECT count(*) FROM project_themes") == [(requests,)]
    themes, sized = query(path, "SELECT count(*), sum(size) FROM themes")[0]
    assert themes >= 2 and sized == requests
    assert query(path, "SELECT count(DISTINCT theme_id) FROM theme_trends") == [(themes,)]
    chosen = query(path, "SELECT k, method FROM theme_selection WHERE is_chosen")
    assert len(chosen) == 1 and chosen[0][0] == themes
    assert query(path, "SELECT min(k), max(k) FROM theme_selection") == [(2, requests // 5)]
    # Every request in the funnel; the open ones were triaged by the model, with reading saved.
    funnel = dict(query(path, "SELECT triaged_by, count(*) FROM impacting_funnel GROUP BY ALL"))
    assert funnel == {"person": len(INSIGHT_PAST), "model": len(INSIGHT_OPEN) + 1}
    saved, asked, known = query(path, "SELECT sum(reading_hours_saved), avg(teams_asked), max(teams_known) "
                                      "FROM impacting_funnel WHERE triaged_by = 'model'")[0]
    assert saved > 0 and asked < known
    assert query(path, "SELECT count(*) FROM impacting_funnel WHERE work_started_at < created_at") == [(0,)]
    assert query(path, "SELECT sum(created) FROM impacting_funnel_weekly") == [(requests,)]
    # Delivery stories without teams take their request's: sig-storage works on two of them.
    storage = query(path, "SELECT issues, work_in_progress FROM delivery_team_summary "
                          "WHERE team = 'sig-storage' AND project = 'DEL'")
    assert storage and storage[0][0] > 0
    # Working state stays in the working database.
    assert query(path, "SELECT count(*) FROM duckdb_tables() "
                       "WHERE table_name IN ('first_team_decisions', 'theme_memory')") == [(0,)]


def test_the_ui_shows_the_elbow_and_silhouette_curves_and_the_funnel(insight_sample):
    selection = metadata_values(insight_sample.second, "theme_selection")
    assert selection["chart_k"].count("data:image/png;base64,") == 1
    assert {"k", "k_method", "elbow_k", "silhouette_k", "k_note"} <= set(selection)
    assert "data:image/png;base64," in metadata_values(insight_sample.second, "theme_trends")["chart_trends"]
    funnel = metadata_values(insight_sample.second, "impacting_funnel")
    assert "data:image/png;base64," in funnel["chart_funnel"] and funnel["reading_hours_saved"] > 0


def test_a_request_arriving_renames_no_existing_theme(insight_sample):
    after = dict(query(insight_sample.warehouse, "SELECT theme_id, label FROM themes"))
    for theme_id, label in insight_sample.labels_before.items():
        assert after.get(theme_id) == label, (theme_id, label, after)
    assert query(insight_sample.warehouse, f"SELECT count(*) FROM project_themes "
                                           f"WHERE request_key = '{INSIGHT_ADDED}'") == [(1,)]
