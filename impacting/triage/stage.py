"""The triage stage over the warehouse: requests in, table rows out (no Dagster here).

The Dagster assets in `impacting.defs.triage` call these functions in order; each returns
plain rows and counters, so tests can run the stage without Dagster.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

from impacting.triage.alerts import (
    FAILED,
    NOT_CONFIGURED,
    SENT,
    Alert,
    SimilarProject,
    deliver,
    new_alerts,
    plan_alerts,
    webhook_payload,
)
from impacting.triage.features import Corpus, Request
from impacting.triage.feedback import CSV_SOURCE, Feedback, latest_verdicts, training_teams
from impacting.triage.metrics import NOTIFY
from impacting.triage.predict import TriageResult, Verdict
from impacting.triage.similar import closest_passages
from impacting.warehouse.tables import ALERTS, DOCUMENTS, PROJECTS, TEAM_FEEDBACK


@dataclass
class Requests:
    """The warehouse's requests as triage sees them."""

    past: list[Request]          # teams known (the team field, with feedback applied)
    waiting: list[Request]       # awaiting triage: no teams yet, not done
    details: pd.DataFrame        # `projects` columns by key, for output rows

    def teams_of(self) -> dict[str, tuple[str, ...]]:
        return {r.key: r.teams for r in self.past}


def load_feedback(con: duckdb.DuckDBPyConnection) -> list[Feedback]:
    rows = con.execute(f"SELECT request_key, team, verdict, source, origin, author, recorded_at, note "
                       f"FROM {TEAM_FEEDBACK.qualified}").fetchall()
    return [Feedback(key, team, verdict == "confirmed", source, origin, author,
                     _utc(recorded_at), note)
            for key, team, verdict, source, origin, author, recorded_at, note in rows]


def _utc(value) -> datetime:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def feedback_rows(feedback: Sequence[Feedback]) -> pd.DataFrame:
    """`team_feedback` rows: the newest decision per (request, team, source)."""
    newest: dict[tuple[str, str, str], Feedback] = {}
    for row in sorted(feedback, key=lambda f: f.recorded_at):
        newest[(row.request_key, row.team, row.source)] = row
    return pd.DataFrame([{
        "request_key": f.request_key, "team": f.team,
        "verdict": "confirmed" if f.confirmed else "rejected", "source": f.source,
        "origin": f.origin, "author": f.author, "recorded_at": f.recorded_at, "note": f.note,
    } for f in newest.values()], columns=list(TEAM_FEEDBACK.column_names))


def request_details(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The `projects` columns triage reports, by key, for requests (issues without a parent),
    oldest first; without reading any document text."""
    return con.execute(
        f"SELECT key, summary, description, status, status_category, resolution, created_at, "
        f"resolved_at, teams, assignee, assignee_id, reporter, reporter_id, links, url "
        f"FROM {PROJECTS.qualified} WHERE parent_key IS NULL ORDER BY created_at NULLS LAST, key"
    ).df().set_index("key", drop=False)


def load_requests(con: duckdb.DuckDBPyConnection, feedback: Sequence[Feedback] = ()) -> Requests:
    """Requests with their text (title, description, then readable documents in attach order).

    Requests are the issues without a parent: an epic's stories and tasks are delivery work,
    not requests to triage or projects to compare with. Past projects are the requests whose
    teams are known once people's feedback is applied; requests awaiting triage have no team
    yet and are not done.
    """
    details = request_details(con)
    documents: dict[str, list[str]] = {}
    for key, text in con.execute(
            f"SELECT project_key, text FROM {DOCUMENTS.qualified} "
            "WHERE extraction_status = 'ok' AND text IS NOT NULL "
            "ORDER BY project_key, attached_at NULLS LAST, document_id").fetchall():
        documents.setdefault(key, []).append(text)
    field_teams = {key: tuple(teams) if teams is not None else () for key, teams in
                   zip(details["key"], details["teams"], strict=True)}
    labels = training_teams(field_teams, feedback)
    past, waiting = [], []
    for row in details.itertuples(index=False):
        text = "\n\n".join(part for part in [row.description or "", *documents.get(row.key, [])] if part)
        created = row.created_at.date().isoformat() if not pd.isna(row.created_at) else None
        links = tuple(link["key"] for link in (row.links if row.links is not None else []) if link)
        teams = labels.get(row.key, ())
        request = Request(row.key, row.summary or "", text, teams, created, None, links)
        if teams:
            past.append(request)
        if not field_teams.get(row.key) and row.status_category != "done":
            waiting.append(request)
    return Requests(past, waiting, details)


def verdicts_for(feedback: Sequence[Feedback]) -> dict[tuple[str, str], Verdict]:
    """People's CSV decisions by (request, team), newest first, as overrides."""
    return {key: Verdict(f.confirmed, f.author, f.recorded_at.isoformat(), f.origin)
            for key, f in latest_verdicts(x for x in feedback if x.source == CSV_SOURCE).items()}


def _value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    return value


def similar_rows(waiting: Corpus, result_matches, pool: Corpus, details: pd.DataFrame,
                 teams_of: Mapping[str, Sequence[str]],
                 template: frozenset[str] = frozenset()) -> pd.DataFrame:
    """`similar_projects` rows; `template` (the index's template sentences) is never quoted."""
    rows = []
    for i, (request, matches) in enumerate(zip(waiting.requests, result_matches, strict=True)):
        for match in matches:
            past = details.loc[match.key]
            j = pool.position(match.key)
            why = closest_passages(waiting.passages[i], waiting.passage_vectors[i],
                                   pool.passages[j], pool.passage_vectors[j], template) \
                if j is not None else None
            rows.append({
                "request_key": request.key, "rank": match.rank, "similar_key": match.key,
                "score": match.score, "lexical_score": match.lexical,
                "semantic_score": match.semantic, "closest_passages": why,
                "summary": past["summary"],
                "teams": list(teams_of.get(match.key, ())),
                "assignee": _value(past["assignee"]), "reporter": _value(past["reporter"]),
                "status": past["status"], "resolution": _value(past["resolution"]),
                "created_at": _value(past["created_at"]), "resolved_at": _value(past["resolved_at"]),
                "url": _value(past["url"]),
            })
    return pd.DataFrame(rows)


def prediction_rows(result: TriageResult, version: str, now: datetime) -> pd.DataFrame:
    rows = []
    for decisions in result.team_decisions:
        ordered = sorted(decisions, key=lambda d: (-np.nan_to_num(d.probability, nan=2.0), d.team))
        for rank, d in enumerate(ordered, start=1):
            rows.append({
                "request_key": d.request_key, "team": d.team, "rank": rank,
                "probability": None if math.isnan(d.probability) else d.probability,
                "decision": d.decision,
                "threshold": None if math.isnan(d.threshold) else d.threshold,
                "unsure_threshold": None if math.isnan(d.unsure_threshold) else d.unsure_threshold,
                "reason": d.reason, "decided_by": d.decided_by, "model_version": version,
                "predicted_at": now,
            })
    return pd.DataFrame(rows)


@dataclass
class AlertRun:
    rows: pd.DataFrame          # new and re-delivered alerts, to upsert
    raised: int
    sent: int
    failed: int
    retried: int


def raise_alerts(con: duckdb.DuckDBPyConnection, predictions: pd.DataFrame, similar: pd.DataFrame,
                 details: pd.DataFrame, version: str | None, webhook_url: str | None,
                 now: datetime) -> AlertRun:
    """New alerts for every request awaiting triage, delivered to the webhook when configured;
    failed deliveries from earlier runs are retried. Alerts already raised are never raised again."""
    existing = con.execute(
        f"SELECT request_key, recipient_kind, recipient, delivery_status FROM {ALERTS.qualified}"
    ).fetchall()
    already = {(k, kind, r) for k, kind, r, _ in existing}
    planned: list[Alert] = []
    keys = sorted(set(predictions["request_key"]) | set(similar["request_key"])) \
        if len(predictions) or len(similar) else []
    for key in keys:
        notified = predictions[(predictions["request_key"] == key) &
                               (predictions["decision"] == NOTIFY)] if len(predictions) else predictions
        matches = similar[similar["request_key"] == key] if len(similar) else similar
        past = [details.loc[m] for m in matches["similar_key"]] if len(matches) else []
        projects = [SimilarProject(m, s, p["summary"], _value(p["assignee"]), _value(p["assignee_id"]),
                                   _value(p["reporter"]), _value(p["reporter_id"]))
                    for m, s, p in zip(matches.get("similar_key", []), matches.get("score", []), past,
                                       strict=True)]
        planned.extend(plan_alerts(
            key,
            [(t, float(p) if p is not None and not pd.isna(p) else 1.0, r)
             for t, p, r in zip(notified["team"], notified["probability"], notified["reason"],
                                strict=True)],
            projects))
    fresh = new_alerts(planned, already)
    rows = [{
        "request_key": a.request_key, "recipient": a.recipient, "recipient_kind": a.recipient_kind,
        "recipient_id": a.recipient_id, "score": a.score, "reason": a.reason,
        "first_alerted_at": now, "model_version": version,
        "delivery_status": NOT_CONFIGURED if not webhook_url else FAILED,
        "delivered_at": None, "delivery_error": None,
    } for a in fresh]
    retried = 0
    if webhook_url:
        failed_before = con.execute(
            f"SELECT * FROM {ALERTS.qualified} WHERE delivery_status = ?", [FAILED]).df()
        retried = len(failed_before)
        rows.extend(failed_before.to_dict("records"))
    sent = failed = 0
    for row in rows if webhook_url else []:
        known = row["request_key"] in details.index
        summary = details.loc[row["request_key"], "summary"] if known else None
        url = details.loc[row["request_key"], "url"] if known else None
        alert = Alert(row["request_key"], row["recipient"], row["recipient_kind"], row["score"],
                      row["reason"], row["recipient_id"])
        error = deliver(webhook_payload(alert, summary, _value(url)), webhook_url)
        if error is None:
            row.update(delivery_status=SENT, delivered_at=datetime.now(UTC), delivery_error=None)
            sent += 1
        else:
            row.update(delivery_status=FAILED, delivery_error=error)
            failed += 1
    frame = pd.DataFrame(rows, columns=list(ALERTS.column_names))
    return AlertRun(frame, len(fresh), sent, failed, retried)
