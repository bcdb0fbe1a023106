"""Fingerprints of a step's inputs and outputs, so a step whose inputs have not changed since it
last ran can skip its work (a quiet nightly run then costs almost nothing).

A step's input fingerprint covers the tables it reads (every row, order-free), the settings it
uses and the code of the package (any edit recomputes everything); its output fingerprint covers
the tables it writes. A step may skip only when the inputs match what it last recorded and its
outputs are still exactly what it wrote then, so a working database restored, edited or
half-written by a killed run is recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import duckdb

from impacting.warehouse.tables import Table

PACKAGE = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 over the package's Python sources (names and contents), once per process."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def table_fingerprints(con: duckdb.DuckDBPyConnection, tables: Iterable[Table]) -> dict[str, str]:
    """Per table, its row count and an order-free hash of its rows (`count:sum:xor`)."""
    out = {}
    for declared in tables:
        [(count, total, mixed)] = con.execute(
            f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0), coalesce(bit_xor(hash(t)), 0) "
            f"FROM {declared.qualified} t").fetchall()
        out[declared.qualified] = f"{count}:{total}:{mixed}"
    return out


def fingerprint(parts: dict) -> str:
    """SHA-256 of `parts` (JSON-able: table fingerprints, settings, anything else)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def inputs_fingerprint(con: duckdb.DuckDBPyConnection, tables: Iterable[Table], **settings) -> str:
    """The fingerprint of a step's inputs: `tables`, `settings` and the package's code."""
    return fingerprint({"tables": table_fingerprints(con, tables), "settings": settings,
                        "code": code_fingerprint()})


def outputs_fingerprint(con: duckdb.DuckDBPyConnection, tables: Iterable[Table], **extra) -> str:
    """The fingerprint of what a step wrote: `tables` (and `extra`, e.g. a site build's name)."""
    return fingerprint({"tables": table_fingerprints(con, tables), **extra})
