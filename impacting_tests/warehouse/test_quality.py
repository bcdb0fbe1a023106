"""The quality gates' SQL on small real DuckDB tables: each passes on good rows and fails on bad."""

import duckdb
import pytest

from impacting.warehouse.quality import unique_key
from impacting.warehouse.tables import ALL_TABLES, Column, Table

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
