"""Briefs ↔ `briefs` rows. The row keeps the brief as JSON, so the site is rebuilt from the table
without gathering anything again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from impacting.people.brief import Brief
from impacting.people.paths import brief_page
from impacting.people.render_markdown import brief_markdown
from impacting.warehouse.store import to_json
from impacting.warehouse.tables import BRIEFS


def brief_rows(briefs: Sequence[Brief], model_version: str | None, generated_at: datetime) -> pd.DataFrame:
    """One `briefs` row per brief, its Markdown rendered here once."""
    return pd.DataFrame([{
        "request_key": b.key,
        "title": b.title,
        "created_at": pd.Timestamp(b.created) if b.created else None,
        "notify_teams": [t.team for t in b.notified],
        "unsure_teams": [t.team for t in b.unsure],
        "markdown": brief_markdown(b),
        "brief": to_json(b.to_dict()),
        "page_path": brief_page(b.key),
        "model_version": model_version,
        "generated_at": generated_at,
    } for b in briefs], columns=list(BRIEFS.column_names))


def briefs_from_rows(rows: pd.DataFrame) -> list[tuple[Brief, str]]:
    """Each stored brief and its Markdown."""
    return [(Brief.from_dict(json.loads(r.brief)), r.markdown) for r in rows.itertuples(index=False)]
