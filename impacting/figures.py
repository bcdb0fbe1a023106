"""Static charts, drawn once with matplotlib and rendered three ways: PNG bytes for the Dagster
UI (asset metadata shows images but runs no JavaScript), inline SVG for HTML fragments that a
page embeds as they are (no script, no network, text kept as text), and the same SVG inside the
delivery report.

matplotlib's object API only (no pyplot): no global state, no display, safe in any process.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

from matplotlib import rc_context
from matplotlib.figure import Figure


def new_figure(rows: int = 1, height: float = 3.4, width: float = 9.0, columns: int = 1
               ) -> tuple[Figure, list]:
    """A figure of `rows` × `columns` light-gridded panels."""
    fig = Figure(figsize=(width, height * rows), dpi=90)
    fig.subplots_adjust(hspace=0.45, wspace=0.3)
    axes = [fig.add_subplot(rows, columns, i + 1) for i in range(rows * columns)]
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, axes


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # "tight" trims the margins to the labels in one extra pass; matplotlib's constrained
    # layout would cost three times as long for these small charts.
    fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.1)
    return buffer.getvalue()


_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)


def svg(fig: Figure, title: str = "") -> str:
    """The figure as an inline `<svg>` element (no XML prologue), text as text, scaling to the
    width of its container; `title` becomes its accessible name."""
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.1)
    text = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                  r'<svg\1 style="max-width:100%;height:auto" role="img"', text, count=1)
    if title:
        text = text.replace(">", f"><title>{html.escape(title)}</title>", 1)
    return text


def figure_html(key: str, title: str, caption: str, picture: str, extra: str = "") -> str:
    """A self-contained `<figure>`: heading, inline SVG picture, caption, and any `extra` HTML
    (escaped by its maker). `key` becomes its id (letters, digits and dashes kept)."""
    ident = re.sub(r"[^A-Za-z0-9_-]+", "-", key)
    return (f'<figure class="impacting-figure" id="{ident}" style="margin:12px 0">'
            f'<h3 style="margin:0 0 4px;font-size:16px">{html.escape(title)}</h3>{picture}'
            f'<figcaption style="color:#52606d;font-size:13px">{html.escape(caption)}</figcaption>'
            f"{extra}</figure>")


@dataclass(frozen=True)
class StaticChart:
    """A chart drawn by `draw`, with what a reader needs to read it."""

    key: str
    title: str
    caption: str
    draw: Callable[[], Figure]

    def png(self) -> bytes:
        return png(self.draw())

    def html(self, extra: str = "") -> str:
        """The chart as a self-contained `<figure>` fragment (inline SVG, no script)."""
        return figure_html(self.key, self.title, self.caption, svg(self.draw(), self.title), extra)
