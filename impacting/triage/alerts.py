"""Alerts: who should hear about a new request, each recipient once per request, ever.

Recipients of a request awaiting triage (`recipient_kind`):

- ``team``: every team the model (or a person's feedback) decided to notify, with the
  decision's reason (its passages and the similar past projects the team delivered);
- ``person``: the people who delivered its similar past projects, ranked by the work they did
  on them and their delivery work (`impacting.people.experts`), with the projects that make
  them relevant;
- ``review``: every team the model is unsure about, for the triage lead to confirm or reject,
  with the evidence (the recipient is the team in question; the route is the triage lead's).

An alert is identified by (request, recipient kind, recipient). The warehouse keeps every alert
ever raised, so a nightly run only raises the ones it has not raised before
(:func:`record_alerts`). Nothing is sent here: the people stage (`impacting.people.messages`)
is the only step that talks to people.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from impacting.people.experts import Expert
from impacting.people.routing import PERSON, REVIEW, TEAM
from impacting.triage.metrics import NOTIFY, UNSURE
from impacting.warehouse.store import upsert_rows
from impacting.warehouse.tables import ALERTS

__all__ = ["PERSON", "REVIEW", "TEAM", "Alert", "new_alerts", "plan_alerts", "record_alerts"]


@dataclass(frozen=True)
class Alert:
    request_key: str
    recipient: str
    recipient_kind: str        # team / person / review
    score: float
    reason: str
    recipient_id: str | None = None

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.request_key, self.recipient_kind, self.recipient)


def plan_alerts(request_key: str, notified: Iterable[tuple[str, float, str]],
                experts: Sequence[Expert] = (),
                unsure: Iterable[tuple[str, float, str]] = ()) -> list[Alert]:
    """The alerts a request deserves now: notified teams and unsure teams (team, probability,
    reason), and the people who delivered its similar past work; teams first, best first."""
    alerts = [Alert(request_key, team, TEAM, float(p), reason) for team, p, reason in notified]
    alerts += [Alert(request_key, expert.name, PERSON, expert.score, expert.reason, expert.person_id)
               for expert in experts]
    alerts += [Alert(request_key, team, REVIEW, float(p), reason) for team, p, reason in unsure]
    order = {TEAM: 0, PERSON: 1, REVIEW: 2}
    return sorted(alerts, key=lambda a: (order[a.recipient_kind], -a.score, a.recipient))


def new_alerts(planned: Iterable[Alert], already: set[tuple[str, str, str]]) -> list[Alert]:
    """The planned alerts never raised before (across every earlier run)."""
    seen = set(already)
    out = []
    for alert in planned:
        if alert.identity not in seen:
            seen.add(alert.identity)
            out.append(alert)
    return out


def record_alerts(con: duckdb.DuckDBPyConnection, predictions: pd.DataFrame,
                  experts: Mapping[str, Sequence[Expert]], version: str | None, now: datetime) -> int:
    """Record, in `alerts`, every alert the requests awaiting triage deserve and that was never
    raised before; returns how many are new. Nothing is sent here."""
    already = set(con.execute(f"SELECT request_key, recipient_kind, recipient FROM {ALERTS.qualified}"
                              ).fetchall())
    keys = sorted(set(predictions["request_key"] if len(predictions) else ()) | set(experts))
    planned: list[Alert] = []
    for key in keys:
        mine = predictions[predictions["request_key"] == key] if len(predictions) else predictions
        planned.extend(plan_alerts(key, _teams(mine, NOTIFY), experts.get(key, ()), _teams(mine, UNSURE)))
    fresh = new_alerts(planned, already)
    upsert_rows(con, ALERTS, pd.DataFrame([{
        "request_key": a.request_key, "recipient": a.recipient, "recipient_kind": a.recipient_kind,
        "recipient_id": a.recipient_id, "score": a.score, "reason": a.reason,
        "first_alerted_at": now, "model_version": version,
    } for a in fresh], columns=list(ALERTS.column_names)))
    return len(fresh)


def _teams(predictions: pd.DataFrame, decision: str) -> list[tuple[str, float, str]]:
    if not len(predictions):
        return []
    chosen = predictions[predictions["decision"] == decision]
    # A team only a person named (feedback) has no probability: a person's word counts as 1.
    return [(team, float(p) if p is not None and not pd.isna(p) else 1.0, reason)
            for team, p, reason in zip(chosen["team"], chosen["probability"], chosen["reason"],
                                       strict=True)]
