"""The impacting funnel from hand-made requests whose every moment is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from impacting.delivery.funnel import FunnelInputs, build_funnel, new_first_decisions, weekly_funnel
from impacting.delivery.funnel_charts import funnel_fragment, funnel_summary
from impacting.settings import DeliverySettings, SettingsError
from impacting.triage.feedback import Feedback

T0 = datetime(2024, 1, 1, 9, tzinfo=UTC)  # a Monday
AS_OF = T0 + timedelta(days=60)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def projects() -> pd.DataFrame:
    rows = [
        # key, parent, created, teams (field), teams set at
        ("REQ-1", None, day(0), ["search"], day(3)),       # model triaged (day 1), field filled day 3
        ("REQ-2", None, day(0), ["payments"], day(0)),     # teams set at creation: a person triaged
        ("REQ-3", None, day(10), [], None),                # model triaged, confirmed by CSV feedback
        ("REQ-4", None, day(20), [], None),                # waiting for triage
        ("EPIC-1", "REQ-1", day(4), [], None),
        ("STORY-1", "EPIC-1", day(5), [], None),
        ("STORY-2", "EPIC-1", day(5), [], None),
    ]
    return pd.DataFrame([{"key": k, "summary": f"{k} title", "project": k.split("-")[0], "parent_key": p,
                          "created_at": c, "teams": t, "teams_set_at": s} for k, p, c, t, s in rows])


def issue_times() -> pd.DataFrame:
    return pd.DataFrame([
        {"key": "REQ-1", "started_at": day(2), "done_at": day(40)},    # its own start is not delivery
        {"key": "STORY-1", "started_at": day(8), "done_at": day(20)},
        {"key": "STORY-2", "started_at": day(6), "done_at": None},
        {"key": "REQ-2", "started_at": day(1), "done_at": None},       # no items: its own start counts
        {"key": "REQ-3", "started_at": None, "done_at": None},
    ])


def predictions() -> pd.DataFrame:
    rows = []
    no = "not_notified"
    for key, at, decisions in (("REQ-1", day(1), ["notify", "unsure", no, no]),
                               ("REQ-3", day(11), ["notify", no, no, no])):
        for rank, (team, decision) in enumerate(zip(["search", "payments", "storage", "network"], decisions,
                                                    strict=True), 1):
            rows.append({"request_key": key, "team": team, "rank": rank, "decision": decision,
                         "model_version": "v1", "predicted_at": at})
    return pd.DataFrame(rows)


def inputs(**changes) -> FunnelInputs:
    known = pd.DataFrame(columns=["request_key", "decided_at", "model_version", "teams_scored",
                                  "teams_notified", "teams_unsure"])
    feedback = [Feedback("REQ-3", "storage", True, "csv", "f.csv:2", "ann", day(15)),
                Feedback("REQ-3", "search", False, "csv", "f.csv:3", "ann", day(14))]
    base = {"projects": projects(), "predictions": predictions(), "decisions": known, "feedback": feedback,
            "words": {"REQ-1": 4760, "REQ-2": 100, "REQ-3": 2380, "REQ-4": 50}}
    base.update(changes)
    decisions = new_first_decisions(base["predictions"], base["decisions"])
    return FunnelInputs(**{**base, "decisions": decisions})


def test_each_request_moves_through_the_funnel_with_the_days_between():
    funnel = build_funnel(inputs(), issue_times(), DeliverySettings(), AS_OF).set_index("request_key")
    assert list(funnel.index) == ["REQ-1", "REQ-2", "REQ-3", "REQ-4"]  # only requests, no epics or stories
    one = funnel.loc["REQ-1"]
    assert (one.triaged_by, one.confirmed_by, one.stage) == ("model", "team field", "done")
    assert (one.days_to_triage, one.days_to_confirm, one.days_to_start, one.days_to_done) == (1, 2, 3, 34)
    assert one.work_started_at == pd.Timestamp(day(6))  # its first delivery item, not its own status
    assert one.lead_time_days == 40 and pd.isna(one.days_in_stage)
    two = funnel.loc["REQ-2"]
    assert (two.triaged_by, two.days_to_triage, two.stage) == ("person", 0, "work started")
    assert two.days_in_stage == 59 and pd.isna(two.reading_hours_saved)
    three = funnel.loc["REQ-3"]
    assert (three.triaged_by, three.confirmed_by, three.stage) == ("model", "feedback", "teams confirmed")
    assert list(three.teams_confirmed) == ["storage"] and three.days_to_confirm == 4
    four = funnel.loc["REQ-4"]
    assert four.stage == "created" and four.days_in_stage == 40 and pd.isna(four.triaged_at)


def test_reading_hours_saved_follow_the_formula_and_the_settings():
    default = build_funnel(inputs(), issue_times(), DeliverySettings(), AS_OF).set_index("request_key")
    one = default.loc["REQ-1"]
    assert (one.teams_known, one.teams_asked, one.teams_notified) == (4, 2, 1)
    assert list(one.teams_asked_list) == ["search", "payments"]
    # Two teams not asked × 4,760 words ÷ 238 words a minute = 40 minutes each.
    assert one.reading_hours_saved == pytest.approx(2 * 4760 / 238 / 60)
    assert default.loc["REQ-3", "reading_hours_saved"] == pytest.approx(3 * 2380 / 238 / 60)
    settings = DeliverySettings.from_env({"IMPACTING_READING_WORDS_PER_MINUTE": "119",
                                          "IMPACTING_READERS_PER_TEAM": "2",
                                          "IMPACTING_TEAM_READERS": "storage=5"})
    custom = build_funnel(inputs(), issue_times(), settings, AS_OF).set_index("request_key")
    assert custom.loc["REQ-1", "reading_hours_saved"] == pytest.approx((5 + 2) * 4760 / 119 / 60)
    with pytest.raises(SettingsError, match="IMPACTING_TEAM_READERS"):
        DeliverySettings.from_env({"IMPACTING_TEAM_READERS": "storage=many"})


def test_the_first_decision_is_kept_when_later_runs_decide_again():
    first = new_first_decisions(predictions(), pd.DataFrame(columns=["request_key"]))
    assert list(first["request_key"]) == ["REQ-1", "REQ-3"]
    assert list(first.iloc[0]["teams_scored"]) == ["search", "payments", "storage", "network"]
    later = predictions().assign(predicted_at=day(30), decision="notify")
    assert new_first_decisions(later, first).empty  # already known: the first stays


def test_decisions_made_after_an_exports_as_of_still_count():
    # An export's as_of is when it was taken; the model triages it when the pipeline runs.
    late = pd.concat([predictions(), predictions().iloc[:4].assign(request_key="REQ-4",
                                                                   predicted_at=AS_OF + timedelta(days=400))])
    funnel = build_funnel(inputs(predictions=late), issue_times(), DeliverySettings(), AS_OF)
    assert funnel["as_of"].iloc[0] == pd.Timestamp(AS_OF + timedelta(days=400))
    four = funnel.set_index("request_key").loc["REQ-4"]
    assert four.stage == "triaged" and four.days_to_triage == 440 and four.days_in_stage == 0
    assert (funnel["days_in_stage"].dropna() >= 0).all()


def test_weekly_summary_counts_each_stage_in_its_week_and_what_awaits_triage():
    funnel = build_funnel(inputs(), issue_times(), DeliverySettings(), AS_OF)
    weekly = weekly_funnel(funnel).set_index("week")
    assert weekly.index[0] == "2024-W01" and len(weekly) == 9
    first = weekly.loc["2024-W01"]
    assert (first.created, first.triaged, first.triaged_by_model, first.teams_confirmed) == (2, 2, 1, 2)
    assert first.median_days_to_triage == 0.5 and first.awaiting_triage == 0
    assert weekly.loc["2024-W02", "awaiting_triage"] == 0   # REQ-3 created day 10, triaged day 11
    assert weekly.loc["2024-W03", "awaiting_triage"] == 1   # REQ-4, created day 20, never triaged
    assert weekly.loc["2024-W09", "awaiting_triage"] == 1
    assert weekly["reading_hours_saved"].sum() == pytest.approx(funnel["reading_hours_saved"].sum())
    assert weekly["created"].sum() == 4 and weekly["done"].sum() == 1


def test_summary_and_fragment_say_what_triage_spared_and_escape_titles():
    funnel = build_funnel(inputs(), issue_times(), DeliverySettings(), AS_OF)
    summary = funnel_summary(funnel)
    assert (summary["requests"], summary["triaged"], summary["triaged_by_model"]) == (4, 3, 2)
    assert summary["teams_asked_per_request"] == 1.5 and summary["teams_known"] == 4
    page = funnel_fragment(funnel.assign(summary="<b>x</b>"), weekly_funnel(funnel))
    assert "<svg" in page and "<script" not in page and "Reading saved" in page
    empty = build_funnel(inputs(projects=projects().iloc[0:0], predictions=predictions().iloc[0:0]),
                         issue_times().iloc[0:0], DeliverySettings(), AS_OF)
    assert empty.empty and weekly_funnel(empty).empty
    assert "0 of 0" in funnel_fragment(empty, weekly_funnel(empty))
