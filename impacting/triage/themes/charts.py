"""Portfolio themes drawn: how k was chosen (the elbow and silhouette curves), the themes over
time, and the theme of one request, as static charts (PNG for the Dagster UI) and as
self-contained HTML fragments a page embeds (inline SVG, every value escaped, no script).
"""

from __future__ import annotations

import html

import pandas as pd

from impacting.figures import StaticChart, new_figure
from impacting.triage.themes.naming import LABEL_SEPARATOR

INERTIA_COLOUR = "#3a86ff"
SILHOUETTE_COLOUR = "#2a9d8f"
CHOSEN_COLOUR = "#d62828"
TREND_THEMES = 8
THEME_COLOURS = ("#3a86ff", "#2a9d8f", "#e76f51", "#6a4c93", "#f0a202", "#264653", "#9b2226", "#8ab17d")


def selection_chart(selection: pd.DataFrame) -> StaticChart:
    """The inertia curve with its elbow and the silhouette curve with its peak, the k used marked."""
    curve = selection.sort_values("k") if len(selection) else selection

    def draw():
        fig, (left, right) = new_figure(1, 3.2, 10.0, columns=2)
        if len(curve):
            chosen = curve[curve["is_chosen"].eq(True)]
            left.plot(curve["k"], curve["inertia"], color=INERTIA_COLOUR, marker="o", markersize=4)
            right.plot(curve["k"], curve["silhouette"], color=SILHOUETTE_COLOUR, marker="o", markersize=4)
            for ax, column, flag, name in ((left, "inertia", "is_elbow", "elbow"),
                                           (right, "silhouette", "is_best_silhouette", "best")):
                marked = curve[curve[flag].eq(True)]
                if len(marked):
                    ax.scatter(marked["k"], marked[column], s=90, facecolors="none",
                               edgecolors="black", zorder=3, label=f"{name}: k={int(marked['k'].iloc[0])}")
                if len(chosen):
                    ax.axvline(int(chosen["k"].iloc[0]), color=CHOSEN_COLOUR, linestyle="--",
                               label=f"used: k={int(chosen['k'].iloc[0])}")
                ax.legend(fontsize=7)
                ax.set_xlabel("k (themes)", fontsize=8)
        left.set_title("Elbow: k-means inertia", fontsize=10)
        right.set_title("Mean silhouette", fontsize=10)
        return fig

    chosen = selection[selection["is_chosen"].eq(True)] if len(selection) else selection
    note = str(chosen["note"].iloc[0]) if len(chosen) and isinstance(chosen["note"].iloc[0], str) else ""
    return StaticChart("theme-selection", "How many themes: elbow and silhouette",
                       "Left: k-means inertia for each k, circled its knee (Kneedle). Right: the mean "
                       "silhouette, circled its highest point. Dashed: the k used" + (f": {note}." if note
                                                                                      else "."), draw)


def trends_chart(themes: pd.DataFrame, trends: pd.DataFrame, top: int = TREND_THEMES) -> StaticChart:
    """Requests created per quarter for the largest themes."""
    largest = themes.sort_values(["size", "theme_id"], ascending=[False, True]).head(top) if len(themes) \
        else themes

    def draw():
        fig, (ax,) = new_figure(1, 3.4)
        for colour, theme in zip(THEME_COLOURS, largest.itertuples(index=False), strict=False):
            series = trends[trends["theme_id"] == theme.theme_id].sort_values("quarter_start")
            ax.plot(pd.to_datetime(series["quarter_start"]), series["requests_created"], color=colour,
                    marker=".", label=_short(theme.label))
        if len(largest):
            ax.legend(fontsize=7, loc="upper left")
            fig.autofmt_xdate()
        ax.set_ylabel("requests created", fontsize=8)
        ax.set_title(f"Requests per quarter, the {len(largest)} largest themes", fontsize=10)
        return fig

    return StaticChart("theme-trends", "Themes over time",
                       "Requests created each calendar quarter in each of the largest themes: what the "
                       "department is asked to do more, or less, often.", draw)


def selection_fragment(selection: pd.DataFrame) -> str:
    """The elbow and silhouette curves, with the table behind them, as an HTML fragment."""
    rows = []
    for r in selection.sort_values("k").itertuples(index=False) if len(selection) else ():
        marks = " · ".join(m for m, on in (("elbow", r.is_elbow), ("best silhouette", r.is_best_silhouette),
                                           ("used", r.is_chosen)) if on)
        score = "" if pd.isna(r.silhouette) else f"{r.silhouette:.3f}"
        style = " style='font-weight:bold'" if r.is_chosen else ""
        rows.append(f"<tr{style}><td>{int(r.k)}</td><td>{r.inertia:,.2f}</td><td>{score}</td>"
                    f"<td>{_e(marks)}</td></tr>")
    rows = "".join(rows)
    table = ("<table class='impacting-k'><thead><tr><th>k</th><th>inertia</th><th>silhouette</th>"
             f"<th></th></tr></thead><tbody>{rows}</tbody></table>") if rows else ""
    return selection_chart(selection).html(table)


def themes_fragment(themes: pd.DataFrame, trends: pd.DataFrame) -> str:
    """Every theme (label, size, keywords, teams, representative request) and the trend chart."""
    if not len(themes):
        return "<section class='impacting-themes'><p>No themes yet.</p></section>"
    rows = "".join(
        f"<tr><td>{int(t.theme_id)}</td><td><b>{_e(t.label)}</b></td><td>{int(t.size)}</td>"
        f"<td>{int(t.awaiting_triage)}</td><td>{_e(', '.join(list(t.keywords)[:6]))}</td>"
        f"<td>{_e(', '.join(t.top_teams))}</td>"
        f"<td>{_e(t.representative_key)} {_e(t.representative_title)}</td></tr>"
        for t in themes.sort_values(["size", "theme_id"], ascending=[False, True]).itertuples(index=False))
    table = ("<table class='impacting-themes'><thead><tr><th>#</th><th>Theme</th><th>Requests</th>"
             "<th>Awaiting triage</th><th>Distinctive keywords</th><th>Teams most involved</th>"
             f"<th>Most typical request</th></tr></thead><tbody>{rows}</tbody></table>")
    return f"<section class='impacting-themes'>{table}{trends_chart(themes, trends).html()}</section>"


def request_theme_fragment(theme: dict | None) -> str:
    """A request's theme for its brief, from :func:`~impacting.triage.themes.store.theme_of_request`:
    the label, how typical the request is, the keywords and the theme's most typical request."""
    if not theme:
        return "<p class='impacting-theme'>Theme: none yet (clustered with the next run).</p>"
    typical = "typical of it" if (theme.get("silhouette") or 0) >= 0.1 else "on its edge"
    keywords = ", ".join(list(theme.get("keywords") or [])[:6])
    return (f"<p class='impacting-theme'>Theme: <b>{_e(theme['label'])}</b> "
            f"(#{int(theme['theme_id'])}, {int(theme['size'])} requests; this one is {typical}). "
            f"Keywords: {_e(keywords)}. Most typical: {_e(theme['representative_key'])} "
            f"{_e(theme['representative_title'])}.</p>")


def _short(label: str, words: int = 2) -> str:
    return LABEL_SEPARATOR.join(label.split(LABEL_SEPARATOR)[:words])


def _e(value) -> str:
    return html.escape("" if value is None else str(value))
