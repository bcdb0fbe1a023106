"""The people step's state machine on a real DuckDB warehouse with real local receivers: one
digest per recipient per run, nothing twice, nothing lost (failures, missing routes), backlog."""

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from impacting.people.channels import Sender
from impacting.people.messages import deliver
from impacting.people.routing import load_routing
from impacting.sources.http_retry import RetryPolicy
from impacting.warehouse.store import Warehouse, upsert_rows
from impacting.warehouse.tables import ALERTS, PROJECTS

T0 = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def warehouse(tmp_path):
    store = Warehouse(tmp_path / "wh" / "impacting.duckdb")
    store.prepare()
    with store.connect() as con:
        upsert_rows(con, PROJECTS, pd.DataFrame([
            {"key": f"KEP-{i}", "summary": f"Request {i}", "created_at": T0 - timedelta(days=age),
             "url": f"https://jira.example.com/browse/KEP-{i}", "status_category": "new"}
            for i, age in ((1, 2), (2, 3), (3, 40), (4, 1))]))
    return store


def raise_alerts(store, rows, at):
    with store.connect() as con:
        upsert_rows(con, ALERTS, pd.DataFrame([
            {"request_key": key, "recipient_kind": kind, "recipient": who, "recipient_id": None,
             "score": 0.8, "reason": f"why {who} should read {key}", "first_alerted_at": at}
            for key, kind, who in rows]))


def routing_file(tmp_path, text):
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    return load_routing(path)


def run(store, routing, env, at, **kwargs):
    sender = Sender(routing, env=env, policy=RetryPolicy(max_retries=0), timeout=5)
    with store.connect() as con:
        result = deliver(con, routing, sender.send, at, **kwargs)
        states = {tuple(r[:4]): r[4] for r in con.execute(
            "SELECT request_key, recipient_kind, recipient, channel, state FROM alert_deliveries").fetchall()}
    return result, states


def bodies(httpserver, path):
    return [json.loads(r.get_data()) for r, _ in httpserver.log if r.path == path and r.get_data()]


ROUTES = """\
site_url: https://triage.example.com
triage_lead: {webhook: "${LEAD_HOOK}"}
teams:
  sig-storage: {slack: "${STORAGE_HOOK}"}
  sig-node: {webhook: "${NODE_HOOK}"}
"""


def test_one_digest_per_recipient_nothing_twice_and_a_failed_one_goes_next_run(tmp_path, warehouse,
                                                                               httpserver):
    httpserver.expect_request("/storage").respond_with_data("ok")
    httpserver.expect_ordered_request("/node").respond_with_data("down", status=500)
    httpserver.expect_request("/node").respond_with_data("ok")
    httpserver.expect_request("/lead").respond_with_data("ok")
    env = {"STORAGE_HOOK": httpserver.url_for("/storage"), "NODE_HOOK": httpserver.url_for("/node"),
           "LEAD_HOOK": httpserver.url_for("/lead")}
    routing = routing_file(tmp_path, ROUTES)
    raise_alerts(warehouse, [("KEP-1", "team", "sig-storage"), ("KEP-2", "team", "sig-storage"),
                             ("KEP-1", "team", "sig-node"), ("KEP-2", "review", "sig-apps"),
                             ("KEP-3", "person", "Jane Doe")], T0)

    first, states = run(warehouse, routing, env, T0)
    assert sorted((m["route"], m["state"], m["requests"]) for m in first.messages) == [
        ("team sig-node", "failed", ["KEP-1"]),
        ("team sig-storage", "sent", ["KEP-2", "KEP-1"]),   # oldest request first
        ("triage_lead", "sent", ["KEP-2"])]
    [storage] = bodies(httpserver, "/storage")
    assert storage["text"] == "impacting: 2 new requests for sig-storage"
    assert "https://triage.example.com/briefs/KEP-1.html" in json.dumps(storage)
    [lead] = bodies(httpserver, "/lead")
    assert lead["requests"][0]["alerts"][0]["answer"] == \
        "impacting feedback KEP-2 sig-apps confirm|reject [--by NAME] [--note TEXT]"
    assert states[("KEP-3", "person", "Jane Doe", "-")] == "no_route"
    assert states[("KEP-1", "team", "sig-node", "webhook")] == "failed"
    assert first.waiting_without_route == 1

    # A new request for sig-node arrives: the next run sends one digest with the failed one too.
    raise_alerts(warehouse, [("KEP-4", "team", "sig-node")], T0 + timedelta(days=1))
    second, states = run(warehouse, routing, env, T0 + timedelta(days=1))
    assert [(m["route"], m["state"], sorted(m["requests"])) for m in second.messages] == [
        ("team sig-node", "sent", ["KEP-1", "KEP-4"])]
    assert len(bodies(httpserver, "/storage")) == 1 and len(bodies(httpserver, "/lead")) == 1

    third, _ = run(warehouse, routing, env, T0 + timedelta(days=2))
    assert third.messages == []

    # Jane gets a route: her waiting alert goes out once, and only once.
    httpserver.expect_request("/jane").respond_with_data("ok")
    routing = routing_file(tmp_path, ROUTES + "people:\n  Jane Doe: {webhook: \"${JANE_HOOK}\"}\n")
    env["JANE_HOOK"] = httpserver.url_for("/jane")
    fourth, states = run(warehouse, routing, env, T0 + timedelta(days=3))
    assert [(m["route"], m["requests"]) for m in fourth.messages] == [("person Jane Doe", ["KEP-3"])]
    assert ("KEP-3", "person", "Jane Doe", "-") not in states
    assert run(warehouse, routing, env, T0 + timedelta(days=4))[0].messages == []

    # Moving a team to another channel never sends its already-sent alerts again.
    moved = routing_file(tmp_path, ROUTES.replace('{slack: "${STORAGE_HOOK}"}', '{webhook: "${JANE_HOOK}"}'))
    assert run(warehouse, moved, env, T0 + timedelta(days=5))[0].messages == []


def test_the_backlog_is_recorded_not_sent_but_later_news_about_old_requests_is_sent(tmp_path, warehouse,
                                                                                    httpserver):
    httpserver.expect_request("/storage").respond_with_data("ok")
    env = {"STORAGE_HOOK": httpserver.url_for("/storage")}
    routes = "backlog_days: 14\nteams:\n  sig-storage: {slack: \"${STORAGE_HOOK}\"}\n"
    routing = routing_file(tmp_path, routes)
    # The first alerting run finds KEP-3 (40 days old) and KEP-1 (2 days old).
    raise_alerts(warehouse, [("KEP-3", "team", "sig-storage"), ("KEP-1", "team", "sig-storage")], T0)
    first, states = run(warehouse, routing, env, T0)
    assert [m["requests"] for m in first.messages] == [["KEP-1"]]
    assert states[("KEP-3", "team", "sig-storage", "slack")] == "suppressed_backlog"
    assert first.newly_suppressed == 1
    # Twenty days later an alert about KEP-2 (23 days old by then) is raised, e.g. after feedback:
    # it is news from when it was raised, so it is sent.
    raise_alerts(warehouse, [("KEP-2", "team", "sig-storage")], T0 + timedelta(days=20))
    second, _ = run(warehouse, routing, env, T0 + timedelta(days=20))
    assert [m["requests"] for m in second.messages] == [["KEP-2"]]
    # An alert that waited for a route longer than backlog_days is not sent when the route appears.
    raise_alerts(warehouse, [("KEP-4", "team", "sig-node")], T0 + timedelta(days=20))
    run(warehouse, routing, env, T0 + timedelta(days=20))
    routed = routing_file(tmp_path, routes + "  sig-node: {slack: \"${STORAGE_HOOK}\"}\n")
    late, states = run(warehouse, routed, env, T0 + timedelta(days=40))
    assert late.messages == [] and states[("KEP-4", "team", "sig-node", "slack")] == "suppressed_backlog"


def test_a_receiver_that_keeps_failing_is_given_up_after_the_cap_and_reported(tmp_path, warehouse,
                                                                              httpserver):
    httpserver.expect_request("/node").respond_with_data("down", status=503)
    env = {"NODE_HOOK": httpserver.url_for("/node")}
    routing = routing_file(tmp_path, "teams:\n  sig-node: {webhook: \"${NODE_HOOK}\"}\n")
    raise_alerts(warehouse, [("KEP-1", "team", "sig-node")], T0)
    first, states = run(warehouse, routing, env, T0, max_attempts=2)
    assert states[("KEP-1", "team", "sig-node", "webhook")] == "failed" and first.gave_up == []
    second, states = run(warehouse, routing, env, T0 + timedelta(days=1), max_attempts=2)
    assert states[("KEP-1", "team", "sig-node", "webhook")] == "gave_up"
    assert second.gave_up == ["KEP-1 → sig-node (webhook): webhook: HTTP 503 SERVICE UNAVAILABLE "
                              "(after 1 attempt)"]
    third, _ = run(warehouse, routing, env, T0 + timedelta(days=2), max_attempts=2)
    assert third.messages == [] and len(httpserver.log) == 2
    with warehouse.connect() as con:
        assert con.execute("SELECT attempts, error FROM alert_deliveries").fetchone()[0] == 2


def test_deliveries_from_before_routing_are_kept_sent_or_waiting(tmp_path, warehouse, httpserver):
    """A warehouse written by the single-webhook version: sent stays sent, unsent goes out."""
    raise_alerts(warehouse, [("KEP-1", "team", "sig-node"), ("KEP-2", "team", "sig-node")], T0)
    with warehouse.connect() as con:
        con.execute("ALTER TABLE alert_deliveries ADD COLUMN status VARCHAR")
        con.execute("ALTER TABLE alert_deliveries ADD COLUMN delivered_at TIMESTAMPTZ")
        con.execute("INSERT INTO alert_deliveries (request_key, recipient_kind, recipient, status, attempts, "
                    "delivered_at) VALUES ('KEP-1', 'team', 'sig-node', 'sent', 1, ?), "
                    "('KEP-2', 'team', 'sig-node', 'not_configured', 0, NULL)", [T0])
    httpserver.expect_request("/node").respond_with_data("ok")
    routing = routing_file(tmp_path, "teams:\n  sig-node: {webhook: \"${NODE_HOOK}\"}\n")
    result, states = run(warehouse, routing, {"NODE_HOOK": httpserver.url_for("/node")}, T0)
    assert [m["requests"] for m in result.messages] == [["KEP-2"]]
    assert states[("KEP-1", "team", "sig-node", "webhook")] == "sent"
