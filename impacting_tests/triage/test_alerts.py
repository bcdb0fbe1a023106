"""Alerts: who is told, never twice, and delivery to a real local HTTP webhook."""

import json

from impacting.triage.alerts import (
    PERSON,
    TEAM,
    SimilarProject,
    deliver,
    new_alerts,
    plan_alerts,
    webhook_payload,
)

SIMILAR = [
    SimilarProject("TIMOB-1", 0.71, "Tableview reuse", "Varun Joshi", "vjoshi", "Martin", "mguillon"),
    SimilarProject("TIMOB-2", 0.64, "Tableview events", "Varun Joshi", "vjoshi", None, None),
    SimilarProject("TIMOB-3", 0.40, "Sample app", None, None, "Gabriel Tavridis", "gtavridis"),
    SimilarProject("KEP-4", 0.35, "No people at all"),
]


def test_notified_teams_and_the_people_who_delivered_similar_work_are_alerted():
    alerts = plan_alerts("TIMOB-9", [("TIMOB/iOS", 0.83, "TIMOB/iOS (p=0.83 ≥ 0.41): ...")], SIMILAR)
    assert [(a.recipient_kind, a.recipient) for a in alerts] == [
        (TEAM, "TIMOB/iOS"), (PERSON, "Varun Joshi"), (PERSON, "Gabriel Tavridis")]
    varun = alerts[1]
    assert varun.recipient_id == "vjoshi" and varun.score == 0.71
    assert "TIMOB-1 (0.71), TIMOB-2 (0.64)" in varun.reason
    # Without an assignee the reporter stands in; a project with no people alerts nobody.
    assert "TIMOB-3 (0.40)" in alerts[2].reason


def test_teams_are_the_recipients_when_past_projects_have_no_people():
    alerts = plan_alerts("KEP-9", [("sig-storage", 0.9, "why")], [SimilarProject("KEP-4", 0.5)])
    assert [(a.recipient_kind, a.recipient) for a in alerts] == [(TEAM, "sig-storage")]


def test_an_alert_already_raised_is_never_raised_again():
    planned = plan_alerts("TIMOB-9", [("TIMOB/iOS", 0.83, "why")], SIMILAR)
    first = new_alerts(planned, set())
    assert len(first) == 3
    assert new_alerts(planned, {a.identity for a in first}) == []
    again = plan_alerts("TIMOB-9", [("TIMOB/iOS", 0.9, "why"), ("TIMOB/Android", 0.6, "why")], SIMILAR)
    assert [a.recipient for a in new_alerts(again, {a.identity for a in first})] == ["TIMOB/Android"]


def test_delivery_posts_json_to_the_webhook(httpserver):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    [alert] = plan_alerts("KEP-9", [("sig-storage", 0.9, "sig-storage (p=0.90 ≥ 0.40): ...")], [])
    payload = webhook_payload(alert, "Volume health", "https://jira.example.com/browse/KEP-9")
    assert deliver(payload, httpserver.url_for("/hook")) is None
    [(request, _)] = httpserver.log
    body = json.loads(request.get_data())
    assert body["recipient"] == "sig-storage" and body["recipient_kind"] == "team"
    assert body["request_key"] == "KEP-9" and "Volume health" in body["text"]
    assert request.headers["Content-Type"] == "application/json"


def test_a_failing_webhook_is_reported_without_its_url(httpserver):
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    [alert] = plan_alerts("KEP-9", [("sig-storage", 0.9, "why")], [])
    url = httpserver.url_for("/hook") + "?token=s3cret"
    error = deliver(webhook_payload(alert, None, None), url)
    assert error == "webhook answered HTTP 500"
    unreachable = deliver(webhook_payload(alert, None, None), "http://127.0.0.1:9/hook?token=s3cret",
                          timeout=2)
    assert unreachable and "s3cret" not in unreachable
