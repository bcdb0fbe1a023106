"""Small HTML pieces the delivery report and its fragments share: escaped cells, day counts,
dates and tables. Every value is HTML-escaped on the way in."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd


def escape(value) -> str:
    return html.escape("" if value is None else str(value))


def days(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.1f} d"


def date(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def table(frame: pd.DataFrame, columns: dict[str, str], formats: dict | None = None,
          highlight: str | None = None) -> str:
    formats = formats or {}
    if not len(frame):
        return "<p class='empty'>Nothing to show.</p>"
    head = "".join(f"<th>{escape(label)}</th>" for label in columns.values())
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for column in columns:
            value = record.get(column)
            if column in formats:
                shown = formats[column](value)
            elif isinstance(value, (list, tuple, np.ndarray)):
                shown = escape(", ".join(map(str, value)))
            else:
                shown = escape("–" if value is None or pd.isna(value) else value)
            cells.append(f"<td>{shown}</td>")
        marked = " class='alert'" if highlight and record.get(highlight) is True else ""
        rows.append(f"<tr{marked}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
