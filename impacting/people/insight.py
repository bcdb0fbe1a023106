"""What the site's index shows leaders besides the open requests: the impacting funnel and the
portfolio themes (with how their number was chosen), and each request's theme for its brief.

The pieces are made by the stages that own the figures (`delivery.funnel_charts`,
`triage.themes.charts`) and are escaped there; this module only reads the tables and asks them.
"""

from __future__ import annotations

import duckdb

from impacting.delivery.funnel_charts import funnel_fragment
from impacting.triage.themes.charts import selection_fragment, themes_fragment
from impacting.warehouse.store import read_table
from impacting.warehouse.tables import (
    IMPACTING_FUNNEL,
    IMPACTING_FUNNEL_WEEKLY,
    PROJECT_THEMES,
    THEME_SELECTION,
    THEME_TRENDS,
    THEMES,
)


def request_themes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each clustered request's theme label (none before the first themes run)."""
    return dict(con.execute(
        f"SELECT p.request_key, t.label FROM {PROJECT_THEMES.qualified} p "
        f"JOIN {THEMES.qualified} t USING (theme_id)").fetchall())


def index_insight(con: duckdb.DuckDBPyConnection) -> str:
    """The funnel and the themes as HTML sections for the index (empty parts say why)."""
    funnel = read_table(con, IMPACTING_FUNNEL)
    themes = read_table(con, THEMES, "ORDER BY size DESC, theme_id")
    parts = ['<section id="funnel"><h2>The impacting funnel</h2>'
             + (funnel_fragment(funnel, read_table(con, IMPACTING_FUNNEL_WEEKLY)) if len(funnel)
                else '<p class="empty">No request measured yet: the delivery step fills it.</p>')
             + "</section>",
             '<section id="themes"><h2>What the department is asked to do</h2>'
             + themes_fragment(themes, read_table(con, THEME_TRENDS))
             + (selection_fragment(read_table(con, THEME_SELECTION)) if len(themes) else "")
             + "</section>"]
    return "".join(parts)
