"""Alerts: who should hear about a new request, each recipient once per request, ever.

Recipients of a request awaiting triage:

- ``team``: every team the model (or a person's feedback) decided to notify, with the
  decision's reason (its passages and the similar past projects the team delivered);
- ``person``: whoever delivered a similar past project: its assignee, or its reporter when it
  has no assignee, with the projects and their similarity.

An alert is identified by (request, recipient kind, recipient). The warehouse keeps every alert
ever raised, so a nightly run only raises the ones it has not raised before
(:func:`record_alerts`). Delivery is a separate step (:func:`deliver_alerts`), the only one that
talks to people: once per alert, a failed delivery retried on the next run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from impacting.triage.metrics import NOTIFY
from impacting.warehouse.store import missing_as_none, upsert_rows
from impacting.warehouse.tables import ALERT_DELIVERIES, ALERTS

TEAM, PERSON = "team", "person"
SENT, FAILED, NOT_CONFIGURED = "sent", "failed", "not_configured"


@dataclass(frozen=True)
class Alert:
    request_key: str
    recipient: str
    recipient_kind: str        # team / person
    score: float
    reason: str
    recipient_id: str | None = None

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.request_key, self.recipient_kind, self.recipient)


@dataclass(frozen=True)
class SimilarProject:
    """What alerts need of a similar past project."""

    key: str
    score: float
    summary: str | None = None
    assignee: str | None = None
    assignee_id: str | None = None
    reporter: str | None = None
    reporter_id: str | None = None


def plan_alerts(request_key: str, notified: Iterable[tuple[str, float, str]],
                similar: Sequence[SimilarProject]) -> list[Alert]:
    """The alerts a request deserves now: notified teams (team, probability, reason) and the
    people who delivered its similar past projects, best first."""
    alerts = [Alert(request_key, team, TEAM, float(p), reason) for team, p, reason in notified]
    people: dict[str, dict] = {}
    for project in similar:
        name, person_id = (project.assignee, project.assignee_id) if project.assignee else \
            (project.reporter, project.reporter_id)
        if not name:
            continue
        who = person_id or name
        entry = people.setdefault(who, {"name": name, "id": person_id, "projects": []})
        entry["projects"].append(project)
    for entry in people.values():
        projects = sorted(entry["projects"], key=lambda p: -p.score)
        listed = ", ".join(f"{p.key} ({p.score:.2f})" for p in projects[:3])
        reason = (f"{entry['name']} delivered similar past project"
                  f"{'s' if len(projects) > 1 else ''} {listed}")
        alerts.append(Alert(request_key, entry["name"], PERSON, projects[0].score, reason, entry["id"]))
    return sorted(alerts, key=lambda a: (a.recipient_kind != TEAM, -a.score, a.recipient))


def new_alerts(planned: Iterable[Alert], already: set[tuple[str, str, str]]) -> list[Alert]:
    """The planned alerts never raised before (across every earlier run)."""
    seen = set(already)
    out = []
    for alert in planned:
        if alert.identity not in seen:
            seen.add(alert.identity)
            out.append(alert)
    return out


def webhook_payload(alert: Alert, summary: str | None, url: str | None) -> dict:
    """One JSON message; `text` makes it readable in Slack or Teams incoming webhooks as is."""
    title = f"{alert.request_key}" + (f" {summary}" if summary else "")
    return {
        "text": f"[impacting] {title} → {alert.recipient} ({alert.recipient_kind}): {alert.reason}",
        "request_key": alert.request_key,
        "request_summary": summary,
        "request_url": url,
        "recipient": alert.recipient,
        "recipient_id": alert.recipient_id,
        "recipient_kind": alert.recipient_kind,
        "score": round(alert.score, 4),
        "reason": alert.reason,
    }


def deliver(payload: dict, webhook_url: str, timeout: float = 10.0) -> str | None:
    """POST one alert; None when the webhook accepted it, else what went wrong.

    The error never contains the URL (webhook URLs often carry a token).
    """
    import requests

    try:
        response = requests.post(webhook_url, data=json.dumps(payload, ensure_ascii=False).encode(),
                                 headers={"Content-Type": "application/json"}, timeout=timeout)
    except requests.RequestException as error:
        return f"webhook unreachable ({type(error).__name__})"
    if response.status_code >= 300:
        return f"webhook answered HTTP {response.status_code}"
    return None


def record_alerts(con: duckdb.DuckDBPyConnection, predictions: pd.DataFrame, similar: pd.DataFrame,
                  details: pd.DataFrame, version: str | None, now: datetime) -> int:
    """Record, in `alerts`, every alert the requests awaiting triage deserve and that was never
    raised before; returns how many are new. Nothing is sent here."""
    already = set(con.execute(f"SELECT request_key, recipient_kind, recipient FROM {ALERTS.qualified}"
                              ).fetchall())
    planned: list[Alert] = []
    keys = sorted(set(predictions["request_key"]) | set(similar["request_key"])) \
        if len(predictions) or len(similar) else []
    for key in keys:
        notified = predictions[(predictions["request_key"] == key) &
                               (predictions["decision"] == NOTIFY)] if len(predictions) else predictions
        matches = similar[similar["request_key"] == key] if len(similar) else similar
        past = [details.loc[m] for m in matches["similar_key"]] if len(matches) else []
        people = ("assignee", "assignee_id", "reporter", "reporter_id")
        projects = [SimilarProject(m, s, p["summary"], *(missing_as_none(p[c]) for c in people))
                    for m, s, p in zip(matches.get("similar_key", []), matches.get("score", []), past,
                                       strict=True)]
        planned.extend(plan_alerts(
            key,
            [(t, float(p) if p is not None and not pd.isna(p) else 1.0, r)
             for t, p, r in zip(notified["team"], notified["probability"], notified["reason"],
                                strict=True)],
            projects))
    fresh = new_alerts(planned, already)
    upsert_rows(con, ALERTS, pd.DataFrame([{
        "request_key": a.request_key, "recipient": a.recipient, "recipient_kind": a.recipient_kind,
        "recipient_id": a.recipient_id, "score": a.score, "reason": a.reason,
        "first_alerted_at": now, "model_version": version,
    } for a in fresh], columns=list(ALERTS.column_names)))
    return len(fresh)


@dataclass(frozen=True)
class DeliveryRun:
    new: int          # alerts that had never been through delivery
    sent: int
    failed: int
    retried: int      # failed before, tried again


def deliver_alerts(con: duckdb.DuckDBPyConnection, details: pd.DataFrame, webhook_url: str | None,
                   now: datetime, send=None) -> DeliveryRun:
    """POST every alert not yet through delivery, and retry the failed ones, to the webhook;
    record each outcome in `alert_deliveries`. Without a webhook, new alerts are recorded as
    `not_configured` (and failed ones wait for it)."""
    send = send or deliver
    pending = con.execute(f"""
        SELECT a.request_key, a.recipient, a.recipient_kind, a.recipient_id, a.score, a.reason,
               d.status, coalesce(d.attempts, 0) AS attempts
        FROM {ALERTS.qualified} a LEFT JOIN {ALERT_DELIVERIES.qualified} d
          USING (request_key, recipient_kind, recipient)
        WHERE d.status IS NULL OR d.status = '{FAILED}'
        ORDER BY a.request_key, a.recipient_kind, a.recipient""").df()
    new = int(pending["status"].isna().sum())
    retried = len(pending) - new
    rows, sent, failed = [], 0, 0
    for alert in pending.itertuples(index=False):
        row = {"request_key": alert.request_key, "recipient": alert.recipient,
               "recipient_kind": alert.recipient_kind, "attempts": int(alert.attempts),
               "last_attempt_at": None, "delivered_at": None, "error": None}
        if not webhook_url:
            if pd.isna(alert.status):
                rows.append(row | {"status": NOT_CONFIGURED})
            continue
        known = alert.request_key in details.index
        summary = details.loc[alert.request_key, "summary"] if known else None
        url = missing_as_none(details.loc[alert.request_key, "url"]) if known else None
        message = Alert(alert.request_key, alert.recipient, alert.recipient_kind, float(alert.score),
                        alert.reason, missing_as_none(alert.recipient_id))
        error = send(webhook_payload(message, summary, url), webhook_url)
        row |= {"attempts": int(alert.attempts) + 1, "last_attempt_at": now}
        if error is None:
            rows.append(row | {"status": SENT, "delivered_at": datetime.now(UTC)})
            sent += 1
        else:
            rows.append(row | {"status": FAILED, "error": error})
            failed += 1
    upsert_rows(con, ALERT_DELIVERIES, pd.DataFrame(rows, columns=list(ALERT_DELIVERIES.column_names)))
    return DeliveryRun(new, sent, failed, retried if webhook_url else 0)
