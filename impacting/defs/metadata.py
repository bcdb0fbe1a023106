"""How a table shows itself in the Dagster UI: row count, column schema and a small preview."""

import base64
from collections.abc import Sequence
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from impacting.warehouse.tables import Table


def table_key(declared: Table) -> dg.AssetKey:
    """The asset that owns a table: its name for the analysts' tables (`projects`), schema and
    name for the others (`raw/jira_issues`, `internal/sync_cursors`)."""
    return dg.AssetKey(declared.name if declared.schema == "main" else [declared.schema, declared.name])


def table_spec(declared: Table, **kwargs: Any) -> dg.AssetSpec:
    """An asset spec for a declared table: its key, description and column schema."""
    return dg.AssetSpec(table_key(declared), description=kwargs.pop("description", declared.description),
                        metadata=definition_metadata(declared), **kwargs)


def column_schema(declared: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, c.type, description=c.description) for c in declared.columns]
    )


def definition_metadata(declared: Table) -> dict[str, Any]:
    """Shown on the asset before any run: which table it is and what its columns mean."""
    return {
        "table": declared.qualified,
        "dagster/column_schema": column_schema(declared),
        "dagster/table_name": declared.qualified,
    }


def table_metadata(con: duckdb.DuckDBPyConnection, declared: Table,
                   preview: Sequence[str] = (), limit: int = 10) -> dict[str, Any]:
    """Row count plus a Markdown preview of `preview` columns, read back from the table."""
    count = con.execute(f"SELECT count(*) FROM {declared.qualified}").fetchone()[0]
    out: dict[str, Any] = {"dagster/row_count": dg.MetadataValue.int(count)}
    if preview and count:
        columns = ", ".join(f'"{c}"' for c in preview)
        frame = con.execute(f"SELECT {columns} FROM {declared.qualified} LIMIT {limit}").df()
        out["preview"] = dg.MetadataValue.md(markdown_table(frame))
    return out


def markdown_table(frame: pd.DataFrame, width: int = 80) -> str:
    def cell(value: Any) -> str:
        # Lists and arrays (not numpy scalars, which have `tolist` too) are joined.
        if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) > 0:
            value = ", ".join(str(v) for v in list(value))
        if isinstance(value, float) and not pd.isna(value):
            value = round(value, 4)  # 0.5991 rather than 0.5991479999999999
        text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
        text = " ".join(text.split()).replace("|", "\\|")
        return text if len(text) <= width else text[: width - 1] + "…"

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def bullet_list(items: Sequence[str], limit: int = 20) -> str:
    shown = [f"- {item}" for item in items[:limit]]
    if len(items) > limit:
        shown.append(f"- … and {len(items) - limit} more")
    return "\n".join(shown) or "none"


def problems_metadata(problems: Sequence[str]) -> dict[str, Any]:
    """A step's problems for the UI (a bullet list) and for `rejects` (the same, as JSON)."""
    return {"problems": dg.MetadataValue.md(bullet_list(list(problems))),
            "rejects": dg.MetadataValue.json(list(problems))}


def image_markdown(title: str, png: bytes) -> str:
    """A PNG as Markdown the asset's metadata shows inline (the UI runs no JavaScript)."""
    return f"**{title}**\n\n![{title}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
