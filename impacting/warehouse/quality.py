"""The quality gates as queries: each returns whether the data may be published, and why not.

The Dagster layer runs these as blocking asset checks (`impacting.defs.checks`); they are plain
functions over a DuckDB connection so tests can call them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from impacting.settings import var
from impacting.warehouse.tables import (
    DELIVERY_ISSUE_TIMES,
    DOCUMENTS,
    TEAM_PREDICTIONS,
    TRIAGE_CORPUS,
    Table,
)


@dataclass(frozen=True)
class Outcome:
    passed: bool
    why: str
    figures: dict[str, Any] = field(default_factory=dict)
    only_a_warning: bool = False


def unique_key(con: duckdb.DuckDBPyConnection, declared: Table) -> Outcome:
    """No row without its key, and no key twice."""
    columns = ", ".join(f'"{c}"' for c in declared.key)
    missing = " OR ".join([f'"{c}" IS NULL' for c in declared.key if c not in declared.nullable_key]
                          or ["false"])
    rows, absent, distinct = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {missing}), "
        f"(SELECT count(*) FROM (SELECT DISTINCT {columns} FROM {declared.qualified})) "
        f"FROM {declared.qualified}").fetchone()
    duplicated = rows - distinct
    passed = absent == 0 and duplicated == 0
    why = "every key present and unique" if passed else (
        f"{declared.qualified}: {absent} row(s) without a key and {duplicated} duplicate key(s) "
        f"on ({', '.join(declared.key)}); this is a bug in the step that writes it: report it")
    return Outcome(passed, why, {"rows": rows, "missing_keys": absent, "duplicate_keys": duplicated})


def ok_documents_have_text(con: duckdb.DuckDBPyConnection) -> Outcome:
    [(empty, examples)] = con.execute(
        f"SELECT count(*), list(document_id ORDER BY document_id)[:5] FROM {DOCUMENTS.qualified} "
        "WHERE extraction_status = 'ok' AND (text IS NULL OR trim(text) = '' OR word_count <= 0)"
    ).fetchall()
    return Outcome(empty == 0, "every readable document has text" if not empty else
                   f"{empty} document(s) marked ok have no text (e.g. {', '.join(examples)}); this "
                   "is a bug in extraction: report it with the file",
                   {"ok_documents_without_text": empty})


def open_requests_have_decisions(con: duckdb.DuckDBPyConnection, teams: int) -> Outcome:
    """Every request awaiting triage has a decision for each of the model's `teams` (nothing is
    asked before a model exists)."""
    if not teams:
        return Outcome(True, "no team model yet: no decisions expected", {"teams": 0})
    [(waiting, short, examples)] = con.execute(f"""
        WITH decided AS (SELECT request_key, count(*) FILTER (WHERE probability IS NOT NULL) AS n
                         FROM {TEAM_PREDICTIONS.qualified} GROUP BY 1)
        SELECT count(*), count(*) FILTER (WHERE coalesce(d.n, 0) < {int(teams)}),
               list(c.key ORDER BY c.key) FILTER (WHERE coalesce(d.n, 0) < {int(teams)})[:5]
        FROM {TRIAGE_CORPUS.qualified} c LEFT JOIN decided d ON d.request_key = c.key
        WHERE c.awaiting_triage""").fetchall()
    return Outcome(short == 0, f"all {waiting} request(s) awaiting triage have decisions for all "
                   f"{teams} teams" if not short else
                   f"{short} of {waiting} request(s) awaiting triage lack decisions (e.g. "
                   f"{', '.join(examples or [])}); see the team_predictions step's log",
                   {"awaiting_triage": waiting, "without_decisions": short, "teams": teams})


def model_meets_target(row: Mapping[str, Any] | None, target: float, tolerance: float,
                       min_history: int) -> Outcome:
    """The model in service reaches its own cross-validated notify recall, within `tolerance`.
    With fewer than `min_history` past requests, a miss is only a warning that says so."""
    if row is None:
        return Outcome(True, "no team model yet", {})
    recall, history = row.get("cv_notify_recall"), int(row.get("training_requests") or 0)
    figures = {"cv_notify_recall": recall, "target_recall": target, "past_requests": history}
    if recall is None or recall != recall:
        return Outcome(True, "too little history to cross-validate: no figure to hold it to",
                       figures, only_a_warning=True)
    if recall >= target - tolerance - 1e-9:
        return Outcome(True, f"cross-validated notify recall {recall:.3f} reaches the target "
                       f"{target:.3f} (tolerance {tolerance:.3f})", figures)
    if history < min_history:
        return Outcome(False, f"cross-validated notify recall {recall:.3f} is below the target "
                       f"{target:.3f}, but with only {history} past requests (fewer than "
                       f"{var('triage.gate_min_history')}={min_history}) the history cannot "
                       "promise it yet: decisions are published with this warning", figures,
                       only_a_warning=True)
    return Outcome(False, f"the model in service ({row.get('version')}) notifies only "
                   f"{recall:.3f} of impacted teams in cross-validation, below the target "
                   f"{target:.3f}: nothing is published until it is retrained or the target "
                   f"({var('triage.target_recall')}) is lowered", figures)


def delivery_times_consistent(con: duckdb.DuckDBPyConnection) -> Outcome:
    [(rows, bad, examples)] = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE {_INCONSISTENT}),
               list(key ORDER BY key) FILTER (WHERE {_INCONSISTENT})[:5]
        FROM {DELIVERY_ISSUE_TIMES.qualified}""").fetchall()
    return Outcome(bad == 0, f"all {rows} issues' times are consistent" if not bad else
                   f"{bad} issue(s) have negative or out-of-order times (e.g. "
                   f"{', '.join(examples or [])}): created ≤ started ≤ done must hold; check their "
                   "changelogs in raw.jira_issues and report it", {"issues": rows, "inconsistent": bad})


_INCONSISTENT = ("lead_time_days < 0 OR cycle_time_days < 0 OR active_days < 0 "
                 "OR started_at < created_at OR done_at < started_at OR done_at < created_at "
                 "OR lead_time_days < cycle_time_days - 1e-9")


def content_fingerprint(con: duckdb.DuckDBPyConnection, declared: Table) -> str:
    """MD5 of a table's rows over its stable columns (not the run's times and ids), in a
    canonical order, floats to 9 significant places: equal for two runs on the same input."""
    parts = []
    for column in declared.stable_columns:
        name = f'"{column.name}"'
        parts.append(f"round({name}, 9)" if column.type in ("DOUBLE", "FLOAT") else name)
    rows = ", ".join(parts) or "1"
    [(digest,)] = con.execute(
        f"SELECT md5(coalesce(string_agg(r, chr(10) ORDER BY r), '')) FROM "
        f"(SELECT CAST(ROW({rows}) AS VARCHAR) AS r FROM {declared.qualified})").fetchall()
    return digest
