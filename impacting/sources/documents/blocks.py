"""The shape of rendered output, shared by every format and by `impacting.sources.markup`.

Renderers emit (kind, text) blocks and `join_blocks` lays them out: headings are lines
`# Title` (`#` x level 1-6), paragraphs are separated by one blank line, list items are
`- item` / `1. item` (nested items indented two spaces per level), code is fenced with ```,
and table rows are one line each with cells joined by " | ". The chunking step reads this
shape back, so it must not drift between formats.
"""

from __future__ import annotations

from collections.abc import Iterable

# Consecutive blocks of these kinds belong together: one line each, no blank line between.
_TIGHT_KINDS = frozenset({"item", "row", "line"})


def join_blocks(blocks: Iterable[tuple[str, str]]) -> str:
    """Join (kind, text) blocks: blank lines between blocks, except inside runs of one
    tight kind (list items, table rows, lines of one paragraph). A block with no text
    ends such a run."""
    out: list[str] = []
    previous = None
    for kind, text in blocks:
        if not text.strip():
            previous = None
            continue
        if out:
            out.append("\n" if kind == previous and kind in _TIGHT_KINDS else "\n\n")
        out.append(text)
        previous = kind
    return "".join(out)


def fence_code(code: str, language: str = "") -> str:
    """`code` fenced with ```, outer blank lines dropped, content otherwise kept."""
    return f"```{language}\n{code.strip(chr(10))}\n```"


def heading_line(level: int, title: str) -> str:
    """`# title` with one `#` per level, the level clamped to 1-6."""
    return "#" * max(1, min(level, 6)) + " " + title


def list_item_lines(body: str, marker: str, depth: int) -> list[str]:
    """An item's text as lines: the marker on the first, later lines indented under it."""
    if not body.strip():
        return []
    indent = "  " * depth
    first, *rest = body.split("\n")
    return [indent + marker + first] + [f"{indent}  {line}" if line else "" for line in rest]


def collapse(text: str) -> str:
    """Runs of whitespace as single spaces, ends stripped."""
    return " ".join(text.split())
