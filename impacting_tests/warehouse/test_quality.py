"""The quality gates' SQL on small real DuckDB tables: each passes on good rows and fails on bad."""

from datetime import UTC, datetime

import duckdb
import pytest

from impacting.warehouse.quality import (
    delivery_times_consistent,
    model_meets_target,
    ok_documents_have_text,
    open_requests_have_decisions,
    unique_key,
)
from impacting.warehouse.tables import (
    ALL_TABLES,
    DELIVERY_ISSUE_TIMES,
    DOCUMENTS,
    TEAM_PREDICTIONS,
    TRIAGE_CORPUS,
    Column,
    Table,
)

COLUMNS = (Column("team", "VARCHAR", ""), Column("project", "VARCHAR", ""), Column("n", "INTEGER", ""))
SCORES = Table("scores", "main", "Test table.", COLUMNS, key=("team", "project"), nullable_key=("project",))


def _check(declared: Table, rows: list[tuple]):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA IF NOT EXISTS main")
    con.execute(declared.ddl())
    con.executemany(f"INSERT INTO {declared.qualified} VALUES (?, ?, ?)", rows)
    return unique_key(con, declared)


def test_a_null_in_a_nullable_key_column_is_a_value_and_counts_once():
    assert _check(SCORES, [("a", None, 1), ("a", "P", 2), ("b", None, 3)]).passed
    outcome = _check(SCORES, [("a", None, 1), ("a", None, 2)])
    assert not outcome.passed and outcome.figures["duplicate_keys"] == 1


def test_a_null_in_an_ordinary_key_column_is_a_missing_key():
    outcome = _check(SCORES, [(None, "P", 1)])
    assert not outcome.passed and outcome.figures["missing_keys"] == 1
    strict = Table("strict", "main", "", SCORES.columns, key=("team", "project"))
    assert not _check(strict, [("a", None, 1)]).passed


@pytest.mark.parametrize("declared", [t for t in ALL_TABLES if t.nullable_key], ids=lambda t: t.name)
def test_nullable_key_columns_are_key_columns(declared):
    assert set(declared.nullable_key) <= set(declared.key)


def _tables(*declared: Table) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in declared:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
        con.execute(table.ddl())
    return con


def _insert(con, declared: Table, **columns: list) -> None:
    names = list(columns)
    rows = list(zip(*columns.values(), strict=True))
    con.executemany(f"INSERT INTO {declared.qualified} ({', '.join(names)}) VALUES "
                    f"({', '.join('?' for _ in names)})", rows)


def test_a_readable_document_without_text_fails_its_gate():
    con = _tables(DOCUMENTS)
    _insert(con, DOCUMENTS, document_id=["a", "b", "c"], extraction_status=["ok", "ok", "failed"],
            text=["Some words.", "Two words", ""], word_count=[2, 2, 0])
    assert ok_documents_have_text(con).passed
    _insert(con, DOCUMENTS, document_id=["d"], extraction_status=["ok"], text=["  "], word_count=[0])
    outcome = ok_documents_have_text(con)
    assert not outcome.passed and "d" in outcome.why


def test_a_request_awaiting_triage_without_decisions_fails_its_gate():
    con = _tables(TEAM_PREDICTIONS, TRIAGE_CORPUS)
    _insert(con, TRIAGE_CORPUS, key=["R-1", "R-2", "P-1"], awaiting_triage=[True, True, False])
    _insert(con, TEAM_PREDICTIONS, request_key=["R-1", "R-1", "R-2", "R-2"], team=["a", "b", "a", "b"],
            probability=[0.9, 0.1, 0.5, 0.4])
    assert open_requests_have_decisions(con, teams=2).passed
    assert open_requests_have_decisions(con, teams=0).passed  # no model yet: nothing expected
    con.execute(f"DELETE FROM {TEAM_PREDICTIONS.qualified} WHERE request_key = 'R-2' AND team = 'b'")
    outcome = open_requests_have_decisions(con, teams=2)
    assert not outcome.passed and "R-2" in outcome.why


def test_a_model_below_its_target_blocks_unless_the_history_is_too_short_to_promise_it():
    row = {"cv_notify_recall": 0.90, "training_requests": 500, "version": "v7"}
    assert model_meets_target(row | {"cv_notify_recall": 0.94}, 0.95, 0.02, 200).passed
    blocked = model_meets_target(row, 0.95, 0.02, 200)
    assert not blocked.passed and not blocked.only_a_warning and "v7" in blocked.why
    warned = model_meets_target(row | {"training_requests": 80}, 0.95, 0.02, 200)
    assert not warned.passed and warned.only_a_warning and "80 past requests" in warned.why


def test_out_of_order_delivery_times_fail_their_gate():
    con = _tables(DELIVERY_ISSUE_TIMES)
    t = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 3, 8)]
    _insert(con, DELIVERY_ISSUE_TIMES, key=["A-1"], created_at=[t[0]], started_at=[t[1]], done_at=[t[2]],
            lead_time_days=[7.0], cycle_time_days=[5.0], active_days=[2.0])
    assert delivery_times_consistent(con).passed
    _insert(con, DELIVERY_ISSUE_TIMES, key=["A-2"], created_at=[t[0]], started_at=[t[2]], done_at=[t[1]],
            lead_time_days=[2.0], cycle_time_days=[-5.0], active_days=[0.0])
    outcome = delivery_times_consistent(con)
    assert not outcome.passed and "A-2" in outcome.why
