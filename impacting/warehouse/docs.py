"""Render the table reference (`docs/tables.md`) from the declarations in `tables.py`.

Regenerate with `python -m impacting.warehouse.docs`; a test fails when the file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from impacting.warehouse.tables import ALL_TABLES

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "tables.md"

INTRO = """\
# Warehouse tables

Generated from `impacting/warehouse/tables.py` by `python -m impacting.warehouse.docs`; do not
edit by hand. The same descriptions are stored as DuckDB comments in the published file:
`SELECT table_name, column_name, comment FROM duckdb_columns() WHERE comment IS NOT NULL`.

Open the published file read-only (`duckdb.connect(path, read_only=True)`, or
`duckdb -readonly warehouse/impacting.duckdb`): a run replaces it atomically, and a read-only
reader never gets in its way. Timestamps are `TIMESTAMPTZ` in UTC.

Schemas: `main` is what analysts query; `raw` keeps the Jira payloads exactly as they arrived,
so anything here can be re-derived.
"""


def render() -> str:
    parts = [INTRO]
    # Analysts' tables first, then the raw payloads.
    for table in sorted(ALL_TABLES, key=lambda t: t.schema != "main"):
        if not table.published:
            continue
        name = table.name if table.schema == "main" else table.qualified
        key = f" Key: `{', '.join(table.key)}`." if table.key else ""
        parts.append(f"\n## `{name}`\n\n{table.description}{key}\n\n"
                     "| column | type | meaning |\n|---|---|---|")
        for column in table.columns:
            meaning = column.description.replace("|", "\\|")
            if column.volatile:
                meaning += " *(Set by the run: differs between two runs on the same input.)*"
            kind = column.type.replace("|", "\\|")
            parts.append(f"| `{column.name}` | `{kind}` | {meaning} |")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    DOC_PATH.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOC_PATH}\n")
