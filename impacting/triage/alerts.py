"""Alerts: who should hear about a new request, each recipient once per request, ever.

Recipients of a request awaiting triage:

- ``team``: every team the model (or a person's feedback) decided to notify, with the
  decision's reason (its passages and the similar past projects the team delivered);
- ``person``: whoever delivered a similar past project: its assignee, or its reporter when it
  has no assignee, with the projects and their similarity.

An alert is identified by (request, recipient kind, recipient). The warehouse keeps every alert
ever raised, so a nightly run only raises the ones it has not raised before; delivery to a
webhook happens once per alert (a failed delivery is retried on the next run).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
