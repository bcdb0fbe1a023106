"""The working database, the attachment store and publishing the analysts' file.

A run never touches the file analysts open. Every stage writes to a working DuckDB beside it
(`impacting.work/working.duckdb`); the last step copies the published tables into a fresh file
and atomically renames it over `impacting.duckdb`. A reader that holds the old file open keeps
its consistent view (the old inode lives on until it closes), a new reader sees the new data,
and a run that dies before publishing leaves the last published file exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from impacting.errors import ActionableError
from impacting.settings import WarehouseSettings, var
from impacting.warehouse.tables import ALL_TABLES, WAREHOUSE_INFO, Table


class WarehouseBusy(ActionableError, RuntimeError):
    """The working database is held by another process (most likely another run)."""


class UnknownStorageVersion(ActionableError, ValueError):
    """The storage version asked for is not one this DuckDB can write."""


# What the published file is written in unless told otherwise (the setting says why).
DEFAULT_STORAGE_VERSION = WarehouseSettings.model_fields["storage_version"].default


@dataclass(frozen=True)
class PublishResult:
    path: Path
    row_counts: dict[str, int]
    size_bytes: int


class Warehouse:
    """Paths and operations of one warehouse: `<dir>/<name>.duckdb` plus `<dir>/<name>.work/`."""

    def __init__(self, published_path: Path | str, tables: Iterable[Table] = ALL_TABLES,
                 storage_version: str = DEFAULT_STORAGE_VERSION):
        self.published_path = Path(published_path)
        self.storage_version = storage_version
        self.working_dir = self.published_path.with_name(self.published_path.stem + ".work")
        self.working_path = self.working_dir / "working.duckdb"
        self.blobs = BlobStore(self.working_dir / "attachments")
        self.tables = tuple(tables)
        self._tables_ready = False

    def prepare(self) -> None:
        """Create missing tables (and columns a newer declaration added) now, once; a Dagster
        run does this when its warehouse resource is set up."""
        with self.connect():
            pass

    @contextmanager
    def connect(self, wait_seconds: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to the working database, with every declared table present
        (created on this object's first connection only, not on every one).

        Waits up to `wait_seconds` for another process to let go of the file, then fails with
        a message that says what to do instead of hanging the schedule.
        """
        self.working_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_seconds
        delay = 0.2
        while True:
            try:
                con = duckdb.connect(str(self.working_path))
                break
            except duckdb.IOException as error:
                if "lock" not in str(error).lower() or time.monotonic() >= deadline:
                    if "lock" in str(error).lower():
                        raise WarehouseBusy(
                            f"the working database {self.working_path} is held by another "
                            "process: wait for the other impacting run to finish (or stop it); "
                            "analysts should open the published file read-only instead"
                        ) from error
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        try:
            if not self._tables_ready:
                ensure_tables(con, self.tables)
                self._tables_ready = True
            yield con
        finally:
            con.close()

    def publish(self, run_id: str, source: str) -> PublishResult:
        """Copy the published tables into a new file, written in `storage_version` (so DuckDB 1.x
        opens it too), and atomically replace the analysts' file."""
        self.published_path.parent.mkdir(parents=True, exist_ok=True)
        # A run killed while publishing leaves its staging file behind; it was never the
        # published file, so it goes (one run publishes at a time).
        for stale in self.published_path.parent.glob(f".{self.published_path.name}.*.staging"):
            stale.unlink(missing_ok=True)
        staging = self.published_path.with_name(
            f".{self.published_path.name}.{uuid.uuid4().hex[:8]}.staging"
        )
        counts: dict[str, int] = {}
        try:
            with self.connect() as con:
                try:
                    con.execute(f"ATTACH '{_sql_path(staging)}' AS staging "
                                f"(STORAGE_VERSION {sql_string(self.storage_version)})")
                except duckdb.InvalidInputException as error:
                    raise UnknownStorageVersion(
                        f"DuckDB {duckdb.__version__} cannot write storage version "
                        f"{self.storage_version!r} ({str(error).split(',')[0]}); set "
                        f"{var('warehouse.storage_version')} to e.g. {DEFAULT_STORAGE_VERSION} "
                        "(readable by DuckDB 1.4 and later) or latest") from error
                try:
                    for declared in self.tables:
                        if not declared.published or declared is WAREHOUSE_INFO:
                            continue
                        con.execute(f"CREATE SCHEMA IF NOT EXISTS staging.{declared.schema}")
                        con.execute(
                            f"CREATE TABLE staging.{declared.qualified} AS "
                            f"SELECT * FROM {declared.qualified}"
                        )
                        counts[declared.qualified] = con.execute(
                            f"SELECT count(*) FROM {declared.qualified}"
                        ).fetchone()[0]
                        _comment(con, "staging", declared)
                    con.execute(f"CREATE TABLE staging.{WAREHOUSE_INFO.qualified} AS "
                                f"SELECT * FROM {WAREHOUSE_INFO.qualified} LIMIT 0")
                    con.execute(
                        f"INSERT INTO staging.{WAREHOUSE_INFO.qualified} VALUES (?, ?, ?, MAP(?, ?))",
                        [datetime.now(UTC), run_id, source, list(counts), list(counts.values())],
                    )
                    _comment(con, "staging", WAREHOUSE_INFO)
                finally:
                    con.execute("DETACH staging")
            _fsync(staging)
            # A WAL left by someone who opened the published file read-write would be replayed
            # onto the new file; it belongs to the old file, so it goes.
            stale_wal = self.published_path.with_name(self.published_path.name + ".wal")
            stale_wal.unlink(missing_ok=True)
            os.replace(staging, self.published_path)
            _fsync(self.published_path.parent)
        finally:
            staging.unlink(missing_ok=True)
        return PublishResult(self.published_path, counts, self.published_path.stat().st_size)


def ensure_tables(con: duckdb.DuckDBPyConnection, tables: Iterable[Table]) -> None:
    """Create missing schemas and tables; add columns that a newer declaration introduced."""
    for declared in tables:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {declared.schema}")
        con.execute(declared.ddl())
        existing = {
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ?",
                [declared.schema, declared.name],
            ).fetchall()
        }
        for column in declared.columns:
            if column.name not in existing:
                con.execute(
                    f'ALTER TABLE {declared.qualified} ADD COLUMN "{column.name}" {column.type}'
                )


def replace_rows(con: duckdb.DuckDBPyConnection, declared: Table, rows: pd.DataFrame) -> int:
    """Replace the whole table with `rows`, in one transaction."""
    frame = _conform(declared, rows)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {declared.qualified}")
        if len(frame):
            con.register("_incoming", frame)
            con.execute(f"INSERT INTO {declared.qualified} BY NAME SELECT * FROM _incoming")
            con.unregister("_incoming")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(frame)


def upsert_rows(con: duckdb.DuckDBPyConnection, declared: Table, rows: pd.DataFrame) -> int:
    """Insert `rows`, replacing existing rows with the same key, in one transaction."""
    if not declared.key:
        raise ValueError(f"{declared.qualified} has no key to upsert on")
    frame = _conform(declared, rows)
    if not len(frame):
        return 0
    match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM i."{k}"' if k in declared.nullable_key
                         else f't."{k}" = i."{k}"' for k in declared.key)
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("_incoming", frame)
        con.execute(
            f"DELETE FROM {declared.qualified} t WHERE EXISTS "
            f"(SELECT 1 FROM _incoming i WHERE {match})"
        )
        con.execute(f"INSERT INTO {declared.qualified} BY NAME SELECT * FROM _incoming")
        con.unregister("_incoming")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(frame)


def read_table(con: duckdb.DuckDBPyConnection, declared: Table, where: str = "") -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {declared.qualified} {where}").df()


def _conform(declared: Table, rows: pd.DataFrame) -> pd.DataFrame:
    unknown = set(rows.columns) - set(declared.column_names)
    if unknown:
        raise ValueError(f"{declared.qualified} has no columns {sorted(unknown)}")
    frame = rows.copy()
    for name in declared.column_names:
        if name not in frame.columns:
            frame[name] = None
    return frame[list(declared.column_names)]


def _comment(con: duckdb.DuckDBPyConnection, catalog: str, declared: Table) -> None:
    target = f"{catalog}.{declared.qualified}"
    con.execute(f"COMMENT ON TABLE {target} IS {sql_string(declared.description)}")
    for column in declared.columns:
        con.execute(
            f'COMMENT ON COLUMN {target}."{column.name}" IS {sql_string(column.description)}'
        )


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Content-addressed files: `<root>/<sha[:2]>/<sha>`. Names come from hashes, never from users."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, content: bytes) -> str:
        sha = hashlib.sha256(content).hexdigest()
        target = self.path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{sha}.{uuid.uuid4().hex[:8]}.part")
            partial.write_bytes(content)
            os.replace(partial, target)
        return sha

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


def missing_as_none(item):
    """None for the missing values DuckDB and pandas hand back (NaN, NaT, None), else the item."""
    if item is None or item is pd.NaT or (isinstance(item, float) and item != item):
        return None
    return item


def to_json(value: object) -> str:
    """JSON text for a `JSON` column, keeping non-ASCII characters as they are."""
    return json.dumps(value, ensure_ascii=False, sort_keys=False)
