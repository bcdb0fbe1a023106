"""Delivery that loses nothing and says nothing twice: the state of every alert on every channel.

Each alert (request × recipient, recorded once by the `alerts` step) gets a row per channel of
its route in `alert_deliveries`, and moves through these states:

```
           no route ──(a route appears)──┐
  new ─────────────────────────────────┬─┴─► backlog? ──yes──► suppressed_backlog (final)
                                       │         │no
                                       │         ▼
                                       │      pending ──► sent (final)
                                       │         ▲  │
                                       │         │  ▼
                                       └──── failed ──(max_attempts runs)──► gave_up (final, reported)
```

- a run gathers every `pending` row (new, or failed before) of one route and channel into one
  digest, so each recipient gets at most one message per run listing everything owed to it;
- an alert already sent on a channel is never sent again, whatever the routing says later;
- an alert without a route waits as `no_route` and goes out once the routing file names the
  recipient (or a fallback), unless by then it is older than `backlog_days`;
- backlog: an alert is news from when it was raised; the alerts of the very first alerting run
  count from their request's creation instead (that run discovers the whole backlog at once);
- state is written before each digest is sent and right after, so a run that stops halfway
  neither loses an alert nor repeats a sent one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from impacting.people.digests import Digest, Pending, build_digest
from impacting.people.routing import Channel, Route, Routing
from impacting.warehouse.store import missing_as_none, replace_rows, upsert_rows
from impacting.warehouse.tables import ALERT_DELIVERIES, ALERTS, MESSAGES, PROJECTS, TEAM_PREDICTIONS

PENDING, SENT, FAILED, GAVE_UP = "pending", "sent", "failed", "gave_up"
SUPPRESSED, NO_ROUTE = "suppressed_backlog", "no_route"
FINAL = {SENT, GAVE_UP, SUPPRESSED}
NO_CHANNEL = "-"

Send = Callable[[Digest, Channel], "str | None"]


@dataclass
class PeopleRun:
    """What one run of the people step did."""

    messages: list[dict] = field(default_factory=list)      # `messages` rows written this run
    alerts_sent: int = 0
    alerts_failed: int = 0
    newly_suppressed: int = 0
    waiting_without_route: int = 0
    gave_up: list[str] = field(default_factory=list)        # alerts given up this run

    @property
    def sent(self) -> int:
        return sum(1 for m in self.messages if m["state"] == SENT)

    @property
    def failed(self) -> int:
        return sum(1 for m in self.messages if m["state"] == FAILED)


def deliver(con: duckdb.DuckDBPyConnection, routing: Routing, send: Send, now: datetime, *,
            max_attempts: int = 5, feedback_dir: str | None = None,
            log: Callable[[str], None] | None = None) -> PeopleRun:
    """Route every alert, send one digest per route and channel, record every outcome."""
    upgrade_legacy_rows(con)
    alerts = _alerts(con)
    rows = {_key(r): r for r in _records(con.execute(
        f"SELECT {', '.join(ALERT_DELIVERIES.column_names)} FROM {ALERT_DELIVERIES.qualified}").df())}
    first_run = alerts["first_alerted_at"].min() if len(alerts) else None
    run = PeopleRun()
    planned: dict[tuple[str, str], list[tuple[dict, Pending]]] = defaultdict(list)
    channels: dict[tuple[str, str], Channel] = {}
    kept: dict[tuple, dict] = {}
    for alert in _records(alerts):
        identity = (alert["request_key"], alert["recipient_kind"], alert["recipient"])
        mine = {k: r for k, r in rows.items() if k[:3] == identity}
        route = routing.route_for(alert["recipient_kind"], alert["recipient"], alert["recipient_id"])
        for row in _plan(alert, mine, route, routing, now, first_run, max_attempts, run):
            kept[_key(row)] = row
            if row["state"] == PENDING:
                channel = _channel(route, row["channel"]) if route else None
                if channel is None:  # sent elsewhere, and this channel has left the routing file
                    row.update(state=FAILED, error="its channel is no longer in the routing file")
                    continue
                group = (row["route"], row["channel"])
                channels[group] = channel
                planned[group].append((row, _pending(alert, routing)))
    replace_rows(con, ALERT_DELIVERIES, pd.DataFrame(list(kept.values())))

    for (route_name, kind), items in sorted(planned.items()):
        digest = build_digest(route_name, kind, [p for _, p in items], now, routing.site_url, feedback_dir)
        for row, _ in items:
            row["message_id"] = digest.message_id
        error = send(digest, channels[(route_name, kind)])
        for row, _ in items:
            row["attempts"] = int(row.get("attempts") or 0) + 1
            row["last_attempt_at"] = now
            if error is None:
                row.update(state=SENT, sent_at=now, error=None)
            elif row["attempts"] >= max_attempts:
                row.update(state=GAVE_UP, error=error)
                run.gave_up.append(f"{row['request_key']} → {row['recipient']} ({kind}): {error}")
            else:
                row.update(state=FAILED, error=error)
        upsert_rows(con, ALERT_DELIVERIES, pd.DataFrame([row for row, _ in items]))
        message = {"message_id": digest.message_id, "route": route_name, "channel": kind,
                   "destination": items[0][0]["destination"], "state": SENT if error is None else FAILED,
                   "error": error, "requests": [r.key for r in digest.requests],
                   "alerts": digest.alerts, "attempted_at": now}
        upsert_rows(con, MESSAGES, pd.DataFrame([message]))
        run.messages.append(message)
        if error is None:
            run.alerts_sent += digest.alerts
        else:
            run.alerts_failed += digest.alerts
            if log:
                log(f"{kind} message to {digest.audience} failed: {error}; its {digest.alerts} "
                    "alert(s) are retried next run")
    return run


def _plan(alert: dict, rows: dict[tuple, dict], route: Route | None, routing: Routing, now: datetime,
          first_run, max_attempts: int, run: PeopleRun) -> list[dict]:
    """The alert's rows after routing it now (pending ones are to be sent this run)."""
    identity = (alert["request_key"], alert["recipient_kind"], alert["recipient"])
    states = {r["state"] for r in rows.values()}
    if states & FINAL:
        # Sent somewhere (or settled): never sent again; a channel that failed alongside is retried.
        return [_retry(r, max_attempts, run) if r["state"] in {FAILED, PENDING} else r
                for r in rows.values()]
    tried = {k[3]: r for k, r in rows.items() if k[3] != NO_CHANNEL and int(r.get("attempts") or 0)}
    seen = min([r["first_seen_at"] for r in rows.values() if r.get("first_seen_at") is not None],
               default=now)
    if route is None:
        run.waiting_without_route += 1
        if tried:  # tried before on a route that has gone: waits, as failed, for a route again
            return list(tried.values())
        return [_row(identity, NO_CHANNEL, "-", "-", NO_ROUTE, seen,
                     error=f"no route for {alert['recipient_kind']} {alert['recipient']} and no "
                     "fallback; add one to the routing file")]
    out = []
    backlog = not tried and _is_backlog(alert, routing.backlog_days, now, first_run)
    for channel in route.channels:
        previous = tried.get(channel.kind)
        if previous is not None:
            out.append(_retry(previous | {"route": route.owner, "destination": channel.target.label},
                              max_attempts, run))
        elif backlog:
            run.newly_suppressed += 1
            out.append(_row(identity, channel.kind, route.owner, channel.target.label, SUPPRESSED, seen,
                            error=f"older than backlog_days ({routing.backlog_days:g}) when it could "
                            "first be sent"))
        else:
            out.append(_row(identity, channel.kind, route.owner, channel.target.label, PENDING, seen))
    return out


def _retry(row: dict, max_attempts: int, run: PeopleRun) -> dict:
    if int(row.get("attempts") or 0) >= max_attempts:
        if row["state"] != GAVE_UP:
            run.gave_up.append(f"{row['request_key']} → {row['recipient']} ({row['channel']}): "
                               f"{row.get('error')}")
        return row | {"state": GAVE_UP}
    return row | {"state": PENDING}


def _row(identity: tuple[str, str, str], channel: str, route: str, destination: str, state: str,
         seen: datetime, error: str | None = None) -> dict:
    request_key, kind, recipient = identity
    return {"request_key": request_key, "recipient_kind": kind, "recipient": recipient,
            "channel": channel, "route": route, "destination": destination, "state": state,
            "attempts": 0, "error": error, "message_id": None, "first_seen_at": seen,
            "last_attempt_at": None, "sent_at": None}


def _is_backlog(alert: dict, backlog_days: float | None, now: datetime, first_run) -> bool:
    if backlog_days is None:
        return False
    raised = alert["first_alerted_at"]
    news = alert["created_at"] if first_run is not None and raised <= first_run else raised
    news = raised if news is None else news
    return pd.Timestamp(now) - pd.Timestamp(news) > timedelta(days=backlog_days)


def _channel(route: Route, kind: str) -> Channel | None:
    return next((c for c in route.channels if c.kind == kind), None)


def _pending(alert: dict, routing: Routing) -> Pending:
    created = alert["created_at"]
    return Pending(alert["request_key"], alert["recipient_kind"], alert["recipient"],
                   alert["recipient_id"], float(alert["score"] or 0.0), alert["reason"], alert["summary"],
                   routing.link(alert["request_key"], alert["url"]),
                   pd.Timestamp(created).to_pydatetime() if created is not None else None)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: missing_as_none(v) for k, v in record.items()} for record in frame.to_dict("records")]


def _key(row: dict) -> tuple[str, str, str, str]:
    return (row["request_key"], row["recipient_kind"], row["recipient"], row["channel"])


def _alerts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        f"SELECT a.request_key, a.recipient_kind, a.recipient, a.recipient_id, a.score, a.reason, "
        f"a.first_alerted_at, p.summary, p.url, p.created_at "
        f"FROM {ALERTS.qualified} a LEFT JOIN {PROJECTS.qualified} p ON p.key = a.request_key "
        f"ORDER BY a.first_alerted_at, a.request_key, a.recipient_kind, a.recipient").df()


def upgrade_legacy_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Rows from before routing (one webhook, `status` per alert) in today's shape: a sent alert
    stays sent, a failed one is retried, an unsent one waits for a route."""
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [ALERT_DELIVERIES.schema, ALERT_DELIVERIES.name]).fetchall()}
    if "status" not in columns:
        return
    con.execute(f"""
        UPDATE {ALERT_DELIVERIES.qualified} SET
          channel = CASE WHEN status = 'not_configured' THEN '{NO_CHANNEL}' ELSE 'webhook' END,
          route = CASE WHEN status = 'not_configured' THEN '-' ELSE 'fallback' END,
          destination = '-',
          state = CASE status WHEN 'sent' THEN '{SENT}' WHEN 'failed' THEN '{FAILED}' ELSE '{NO_ROUTE}' END,
          sent_at = delivered_at, first_seen_at = coalesce(last_attempt_at, now())
        WHERE channel IS NULL""")
    for legacy in ("status", "delivered_at"):
        if legacy in columns:
            con.execute(f'ALTER TABLE {ALERT_DELIVERIES.qualified} DROP COLUMN "{legacy}"')


def known_recipients(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    """The teams and people (account ids, user names and display names) the warehouse knows,
    to report routes that name someone it has never seen."""
    teams = {t for (t,) in con.execute(
        f"SELECT DISTINCT unnest(teams) FROM {PROJECTS.qualified} UNION "
        f"SELECT DISTINCT team FROM {TEAM_PREDICTIONS.qualified}").fetchall() if t}
    people = {p for row in con.execute(f"SELECT DISTINCT assignee, assignee_id FROM {PROJECTS.qualified}"
                                       ).fetchall() for p in row if p}
    return teams, people
