"""The analyst tables as Parquet, for tools that read no DuckDB file at all.

`impacting export --parquet DIR` reads the published file read-only (so it can run while
analysts and the nightly run are at work) and writes one `<table>.parquet` per analyst table
(`main` schema), each file first under a temporary name and renamed when complete, so a reader
never opens half a file. What the table and each column mean travels inside the file, as
Parquet key-value metadata: `impacting:table` (the description) and `impacting:columns` (JSON,
column → meaning): the same text as `docs/tables.md` and the DuckDB comments.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from impacting.errors import ActionableError
from impacting.settings import var
from impacting.warehouse.store import sql_string
from impacting.warehouse.tables import ALL_TABLES, Table


class NothingToExport(ActionableError, FileNotFoundError):
    """There is no published file to export yet."""


@dataclass(frozen=True)
class Exported:
    table: str
    path: Path
    rows: int


def export_parquet(published: Path, folder: Path, tables: Iterable[Table] = ALL_TABLES) -> list[Exported]:
    """Write every analyst table the published file holds to `folder`/<table>.parquet."""
    if not published.is_file():
        raise NothingToExport(f"no published warehouse at {published}: run `impacting run` first, or "
                              f"set {var('warehouse.path')} to the file to export")
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    with duckdb.connect(str(published), read_only=True) as con:
        present = {name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
        for declared in tables:
            if declared.schema != "main" or declared.name not in present:
                continue
            target = folder / f"{declared.name}.parquet"
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
            columns = json.dumps({c.name: c.description for c in declared.columns}, ensure_ascii=False)
            try:
                con.execute(
                    f"COPY (SELECT * FROM main.{declared.name}) TO {sql_string(str(partial))} "
                    f"(FORMAT parquet, COMPRESSION zstd, KV_METADATA {{'impacting:table': "
                    f"{sql_string(declared.description)}, 'impacting:columns': {sql_string(columns)}}})")
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            rows = con.execute(f"SELECT count(*) FROM main.{declared.name}").fetchone()[0]
            out.append(Exported(declared.name, target, rows))
    return out
