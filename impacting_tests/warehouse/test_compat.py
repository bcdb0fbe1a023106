"""A published warehouse every analyst's tool opens: DuckDB 1.x (in an environment of its own,
`make duckdb1`) reads it with the same rows and column comments as 2.x; Parquet for the rest."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from impacting.cli import main
from impacting.settings import var
from impacting.warehouse.export import NothingToExport, export_parquet
from impacting.warehouse.store import UnknownStorageVersion, Warehouse
from impacting.warehouse.tables import ALL_TABLES
from impacting_tests.conftest import DUCKDB1_PYTHON

# What an analyst's client sees of a file: its DuckDB version, storage, rows and comments.
PROBE = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
tables = con.execute("SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE NOT internal "
                     "ORDER BY ALL").fetchall()
print(json.dumps({
    "version": duckdb.__version__,
    "rows": {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]
             for s, t, _ in tables},
    "table_comments": {f"{s}.{t}": c for s, t, c in tables},
    "column_comments": con.execute("SELECT schema_name || '.' || table_name || '.' || column_name, comment "
                                   "FROM duckdb_columns() WHERE NOT internal ORDER BY ALL").fetchall(),
}))
"""


def probe(python: str, path) -> dict:
    result = subprocess.run([python, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def duckdb1() -> str:
    if not DUCKDB1_PYTHON.is_file():
        pytest.fail(f"DuckDB 1.x is needed to check the published file but {DUCKDB1_PYTHON} is missing: "
                    "run `make duckdb1` (it installs DuckDB 1.4 into .venv-duckdb1/), then the tests again")
    return str(DUCKDB1_PYTHON)


@pytest.mark.slow
def test_the_published_sample_opens_in_duckdb_1x_with_the_same_rows_and_comments(insight_sample):
    old, new = probe(duckdb1(), insight_sample.warehouse), probe(sys.executable, insight_sample.warehouse)
    assert old["version"].startswith("1.4.") and new["version"].startswith("2.")
    assert old["rows"] == new["rows"] and new["rows"]["main.themes"] > 0
    assert old["table_comments"] == new["table_comments"]
    assert old["column_comments"] == new["column_comments"]
    described = {f"main.{t.name}" for t in ALL_TABLES if t.schema == "main"}
    assert described <= set(old["rows"]) and all(old["table_comments"][t] for t in described)


@pytest.mark.slow
def test_the_storage_version_is_what_makes_the_difference(tmp_path):
    readable = Warehouse(tmp_path / "a" / "impacting.duckdb")
    readable.publish("run-1", "test")
    with duckdb.connect(str(readable.published_path), read_only=True) as con:
        tags = con.execute("SELECT tags FROM duckdb_databases() WHERE NOT internal AND database_name = "
                           "'impacting'").fetchone()[0]
    assert tags["storage_version"].startswith("v1.4.0")
    assert probe(duckdb1(), readable.published_path)["rows"]["main.warehouse_info"] == 1
    newest = Warehouse(tmp_path / "b" / "impacting.duckdb", storage_version="latest")
    newest.publish("run-1", "test")
    refused = subprocess.run([duckdb1(), "-c", PROBE, str(newest.published_path)], capture_output=True,
                             text=True)
    assert refused.returncode != 0 and "version number" in refused.stderr


def test_a_storage_version_duckdb_does_not_know_fails_naming_the_setting(tmp_path):
    with pytest.raises(UnknownStorageVersion, match="IMPACTING_WAREHOUSE_STORAGE_VERSION"):
        Warehouse(tmp_path / "impacting.duckdb", storage_version="v9.9.9").publish("run-1", "test")
    assert not (tmp_path / "impacting.duckdb").exists()


@pytest.mark.slow
def test_export_writes_every_analyst_table_as_parquet_with_its_meanings(insight_sample, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv(var("warehouse.path"), str(insight_sample.warehouse))
    assert main(["export", "--parquet", str(tmp_path / "out")]) == 0
    with duckdb.connect(str(insight_sample.warehouse), read_only=True) as con:
        tables = [n for (n,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()]
        rows = {t: con.execute(f"SELECT count(*) FROM main.{t}").fetchone()[0] for t in tables}
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted(f"{t}.parquet" for t in tables)
    with duckdb.connect() as con:
        for table, count in rows.items():
            path = tmp_path / "out" / f"{table}.parquet"
            assert con.execute(f"SELECT count(*) FROM '{path}'").fetchone()[0] == count
        meta = dict(con.execute(f"SELECT decode(key), decode(value) FROM parquet_kv_metadata("
                                f"'{tmp_path / 'out' / 'themes.parquet'}')").fetchall())
    assert meta["impacting:table"].startswith("What the department is asked to do")
    assert "label" in json.loads(meta["impacting:columns"])


def test_export_without_a_published_file_says_what_to_do(tmp_path):
    with pytest.raises(NothingToExport, match="impacting run"):
        export_parquet(tmp_path / "missing.duckdb", tmp_path / "out")
