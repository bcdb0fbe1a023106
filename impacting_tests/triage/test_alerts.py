"""Alerts: who is told (notified teams, the people who did similar work, unsure teams for the
triage lead), never twice."""

from datetime import UTC, datetime

from impacting.people.experts import Contribution, Expert
from impacting.triage.alerts import PERSON, REVIEW, TEAM, new_alerts, plan_alerts

VARUN = Expert("Varun Joshi", "vjoshi", 0.6, (
    Contribution("TIMOB-1", "Tableview reuse", 0.71, 3, 4, 0.75, True),
    Contribution("TIMOB-2", "Tableview events", 0.64, 1, 2, 0.5, False)), datetime(2024, 1, 1, tzinfo=UTC))


def test_notified_teams_people_and_unsure_teams_are_alerted_teams_first():
    alerts = plan_alerts("TIMOB-9", [("TIMOB/iOS", 0.83, "TIMOB/iOS (p=0.83 ≥ 0.41): ...")], [VARUN],
                         [("TIMOB/Android", 0.3, "TIMOB/Android (p=0.30, unsure ≥ 0.25): ...")])
    assert [(a.recipient_kind, a.recipient) for a in alerts] == [
        (TEAM, "TIMOB/iOS"), (PERSON, "Varun Joshi"), (REVIEW, "TIMOB/Android")]
    varun = alerts[1]
    assert varun.recipient_id == "vjoshi" and varun.score == 0.6
    assert "TIMOB-1 'Tableview reuse' (similarity 0.71)" in varun.reason
    assert "did 1 of 2 delivery items under TIMOB-2" in varun.reason


def test_an_alert_already_raised_is_never_raised_again():
    planned = plan_alerts("TIMOB-9", [("TIMOB/iOS", 0.83, "why")], [VARUN])
    first = new_alerts(planned, set())
    assert len(first) == 2
    assert new_alerts(planned, {a.identity for a in first}) == []
    again = plan_alerts("TIMOB-9", [("TIMOB/iOS", 0.9, "why"), ("TIMOB/Android", 0.6, "why")], [VARUN])
    assert [a.recipient for a in new_alerts(again, {a.identity for a in first})] == ["TIMOB/Android"]
