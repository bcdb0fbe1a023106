import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import duckdb
import pandas as pd
import pytest

from impacting.warehouse.store import (
    BlobStore,
    Warehouse,
    WarehouseBusy,
    ensure_tables,
    replace_rows,
    upsert_rows,
)
from impacting.warehouse.tables import ALL_TABLES, PROJECTS, RAW_ISSUES, Column, Table
from impacting_tests.conftest import HeldReader, query_in_new_process, read_line


def _projects(*keys):
    return pd.DataFrame({"key": list(keys), "summary": [f"about {k}" for k in keys],
                         "teams": [["sig-node"] for _ in keys]})


def test_connect_creates_every_declared_table(tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as con:
        present = {f"{s}.{n}" for s, n in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    assert {t.qualified for t in ALL_TABLES} <= present
    assert warehouse.working_path == tmp_path / "w.work" / "working.duckdb"


def test_a_newer_declaration_adds_its_columns_to_an_existing_table(tmp_path):
    old = Table("things", "main", "", (Column("id", "INTEGER", ""),))
    new = Table("things", "main", "", (Column("id", "INTEGER", ""), Column("label", "VARCHAR", "")))
    with duckdb.connect(str(tmp_path / "t.duckdb")) as con:
        ensure_tables(con, [old])
        con.execute("INSERT INTO main.things VALUES (1)")
        ensure_tables(con, [new])
        assert con.execute("SELECT id, label FROM main.things").fetchall() == [(1, None)]


def test_replace_and_upsert(tmp_path):
    with Warehouse(tmp_path / "w.duckdb").connect() as con:
        replace_rows(con, PROJECTS, _projects("A-1", "A-2"))
        replace_rows(con, PROJECTS, _projects("A-3"))
        assert con.execute("SELECT key FROM projects").fetchall() == [("A-3",)]
        now = datetime.now(UTC)
        first = pd.DataFrame({"key": ["A-1", "A-2"], "payload": ['{"v": 1}', '{"v": 1}'],
                              "fetched_at": [now, now]})
        upsert_rows(con, RAW_ISSUES, first)
        upsert_rows(con, RAW_ISSUES, pd.DataFrame({"key": ["A-2"], "payload": ['{"v": 2}']}))
        rows = con.execute("SELECT key, payload->>'v' FROM raw.jira_issues ORDER BY key").fetchall()
    assert rows == [("A-1", "1"), ("A-2", "2")]


def test_unknown_columns_are_refused(tmp_path):
    with Warehouse(tmp_path / "w.duckdb").connect() as con, pytest.raises(ValueError, match="nope"):
        replace_rows(con, PROJECTS, pd.DataFrame({"key": ["A"], "nope": [1]}))


def test_publish_writes_tables_comments_and_info_but_not_internal_state(tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as con:
        replace_rows(con, PROJECTS, _projects("A-1", "A-2"))
        con.execute("CREATE SCHEMA IF NOT EXISTS internal; CREATE TABLE internal.cursor (x INT)")
    result = warehouse.publish("run-1", "export: test")
    assert result.row_counts["main.projects"] == 2
    with duckdb.connect(str(result.path), read_only=True) as con:
        assert con.execute("SELECT run_id, tables['main.projects'] FROM warehouse_info").fetchone() \
            == ("run-1", 2)
        comment = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'projects' "
            "AND column_name = 'status_category'").fetchone()[0]
        assert "indeterminate" in comment
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM duckdb_tables()").fetchall()}
    assert "internal" not in schemas and "raw" in schemas
    assert not list(tmp_path.glob(".*staging*"))


def test_an_open_reader_keeps_its_view_and_a_new_reader_sees_the_new_data(tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as con:
        replace_rows(con, PROJECTS, _projects("A-1"))
    warehouse.publish("run-1", "test")

    reader = HeldReader(warehouse.published_path)
    try:
        assert reader.query("SELECT count(*) FROM projects") == [[1]]
        with warehouse.connect() as con:
            replace_rows(con, PROJECTS, _projects("A-1", "A-2", "A-3"))
        warehouse.publish("run-2", "test")  # must neither fail nor wait for the reader
        assert reader.query("SELECT count(*) FROM projects") == [[1]]
        assert reader.query("SELECT run_id FROM warehouse_info") == [["run-1"]]
        assert query_in_new_process(warehouse.published_path,
                                    "SELECT key FROM projects ORDER BY key") == [["A-1"], ["A-2"], ["A-3"]]
    finally:
        reader.close()


def test_publish_that_fails_midway_leaves_the_published_file_intact(tmp_path, monkeypatch):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as con:
        replace_rows(con, PROJECTS, _projects("A-1"))
    warehouse.publish("run-1", "test")
    before = warehouse.published_path.read_bytes()

    with warehouse.connect() as con:
        replace_rows(con, PROJECTS, _projects("A-1", "A-2"))
    monkeypatch.setattr("impacting.warehouse.store._fsync", _boom)
    with pytest.raises(OSError, match="disk full"):
        warehouse.publish("run-2", "test")
    assert warehouse.published_path.read_bytes() == before
    assert not list(tmp_path.glob(".*staging*"))


def _boom(path):
    raise OSError("disk full")


def test_a_second_process_holding_the_working_database_gets_a_clear_error(tmp_path):
    warehouse = Warehouse(tmp_path / "w.duckdb")
    with warehouse.connect():
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(warehouse.working_path)!r})
            print("holding", flush=True)
            time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert read_line(holder.stdout).strip() == "holding"
        with pytest.raises(WarehouseBusy, match="held by another process"):
            with warehouse.connect(wait_seconds=0.5):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_blob_store_is_content_addressed_and_refuses_other_names(tmp_path):
    blobs = BlobStore(tmp_path)
    sha = blobs.put(b"hello")
    assert sha == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert blobs.put(b"hello") == sha and blobs.get(sha) == b"hello"
    with pytest.raises(ValueError):
        blobs.path("../../etc/passwd")
