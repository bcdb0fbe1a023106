"""HTML documents: the page's content rendered to blocks, its chrome (navigation, scripts,
footers, forms) dropped.

Headings keep their level; lists, tables, code and quotes take the shared block shape (see
`blocks`); a link keeps its target as `text (url)` when the target says something the text
does not. The page's <title> is the first heading when the body has no <h1>.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

from impacting.sources.documents.blocks import (
    collapse,
    fence_code,
    heading_line,
    join_blocks,
    list_item_lines,
)
from impacting.sources.documents.decoding import decode_document
from impacting.sources.documents.format import DocumentFormat
from impacting.sources.documents.result import Extraction

_DROPPED = frozenset({"script", "style", "noscript", "head", "nav", "footer", "template",
                           "svg", "iframe", "object", "embed", "canvas", "button", "select"})
_BLOCKS = frozenset({"p", "div", "section", "article", "main", "header", "aside", "address",
                          "figure", "figcaption", "form", "fieldset", "details", "summary",
                          "center", "dl", "dt", "dd", "li", "caption", "legend", "hr", "body",
                          "html"})
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_BR = "\x00"  # a <br> inside inline text; NUL cannot survive normalisation, so it is safe


def extract_html(content: bytes) -> Extraction:
    """HTML rendered to blocks; <title> becomes the heading when there is no <h1>."""
    soup = BeautifulSoup(decode_document(content, FORMAT.label), "html.parser")
    renderer = _Renderer()
    renderer.render(soup)
    blocks, headings = renderer.blocks, renderer.headings
    title = collapse(soup.title.get_text()) if soup.title else ""
    if title and not renderer.saw_h1:
        blocks.insert(0, ("heading", heading_line(1, title)))
        headings.insert(0, title)
    return Extraction(join_blocks(blocks), tuple(headings))


class _Renderer:
    """Walks a parsed HTML tree into (kind, text) blocks and the headings met on the way."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, str]] = []
        self.headings: list[str] = []
        self.saw_h1 = False
        self._inline: list[str] = []

    def render(self, node: Tag) -> None:
        """Render `node`'s children, then close the paragraph in progress."""
        for child in node.children:
            self._visit(child)
        self.flush()

    def flush(self) -> None:
        """End the paragraph in progress (if it has any text)."""
        raw, self._inline = "".join(self._inline), []
        text = "\n".join(collapse(part) for part in raw.split(_BR)).strip("\n")
        if text.strip():
            self.blocks.append(("para", text))

    def _visit(self, node) -> None:
        """Text joins the paragraph in progress; an element becomes its block, or is read through."""
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIPPED_STRINGS):
                self._inline.append(str(node))
            return
        if not isinstance(node, Tag):
            return
        name = (node.name or "").lower()
        if name in _DROPPED:
            return
        if re.fullmatch(r"h[1-6]", name):
            self._heading(node, int(name[1]))
        elif name in ("ul", "ol"):
            self.flush()
            self.blocks.append(("list", "\n".join(self._list_lines(node, 0))))
        elif name == "pre" or (name == "code" and "\n" in node.get_text()):
            self.flush()
            self.blocks.append(("code", fence_code(node.get_text(), _code_language(node))))
        elif name == "table":
            self.flush()
            self.blocks.append(("table", "\n".join(_table_rows(node))))
        elif name == "blockquote":
            self._blockquote(node)
        elif name == "br":
            self._inline.append(_BR)
        elif name == "a":
            self._link(node)
        elif name in _BLOCKS:
            self.flush()
            self.render(node)
        else:
            for child in node.children:
                self._visit(child)

    def _heading(self, node: Tag, level: int) -> None:
        """An <hN> as a `#` line (and a heading), unless it has no text."""
        title = collapse(_plain_text(node))
        if not title:
            return
        self.flush()
        self.blocks.append(("heading", heading_line(level, title)))
        self.headings.append(title)
        self.saw_h1 = self.saw_h1 or level == 1

    def _link(self, node: Tag) -> None:
        """A link's words, followed by ` (url)` for a web or mail target the words do not spell."""
        start = len(self._inline)
        for child in node.children:
            self._visit(child)
        text = collapse("".join(self._inline[start:]).replace(_BR, " "))
        href = str(node.get("href") or "").strip()
        if text and re.match(r"(https?|mailto):", href) and href not in (text, f"mailto:{text}"):
            self._inline.append(f" ({href})")

    def _blockquote(self, node: Tag) -> None:
        """A quote rendered on its own, every line prefixed `> `."""
        self.flush()
        inner = _Renderer()
        inner.render(node)
        self.headings.extend(inner.headings)
        quoted = join_blocks(inner.blocks)
        if quoted:
            lines = [f"> {line}".rstrip() for line in quoted.split("\n")]
            self.blocks.append(("quote", "\n".join(lines)))

    def _list_lines(self, node: Tag, depth: int) -> list[str]:
        """A <ul>/<ol> as item lines, nested lists indented under their item; an <ol>
        counts from its `start`."""
        ordered = node.name == "ol"
        number = _int_attribute(node, "start", 1)
        lines: list[str] = []
        for item in node.find_all("li", recursive=False):
            body = _Renderer()
            nested: list[str] = []
            for child in item.children:
                if isinstance(child, Tag) and child.name in ("ul", "ol"):
                    nested.extend(self._list_lines(child, depth + 1))
                else:
                    body._visit(child)
            body.flush()
            self.headings.extend(body.headings)
            marker = f"{number}. " if ordered else "- "
            number += 1
            lines.extend(list_item_lines(join_blocks(body.blocks), marker, depth))
            lines.extend(nested)
        return lines


def _plain_text(node: Tag) -> str:
    """All text under `node` (dropped elements and comments excluded; <br> as a space)."""
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, NavigableString):
            if not isinstance(child, _SKIPPED_STRINGS):
                parts.append(str(child))
        elif isinstance(child, Tag) and child.name not in _DROPPED:
            parts.append(" " if child.name == "br" else _plain_text(child))
    return "".join(parts)


def _table_rows(table: Tag) -> list[str]:
    """One ' | '-joined line per table row with any text, header rows included."""
    rows: list[str] = []
    for section in [table, *table.find_all(["thead", "tbody", "tfoot"], recursive=False)]:
        for row in section.find_all("tr", recursive=False):
            cells = [collapse(_plain_text(cell))
                     for cell in row.find_all(["th", "td"], recursive=False)]
            if any(cells):
                rows.append(" | ".join(cells))
    return rows


def _code_language(node: Tag) -> str:
    """The language a `language-x` / `lang-x` class names on a code block, or ''."""
    for element in [node, *node.find_all("code")]:
        for cls in element.get("class") or []:
            match = re.match(r"(?:language|lang)-([\w+#.-]+)$", cls)
            if match:
                return match.group(1)
    return ""


def _int_attribute(node: Tag, name: str, default: int) -> int:
    """An integer attribute, or `default` when missing or not a number."""
    try:
        return int(str(node.get(name, default)))
    except ValueError:
        return default


FORMAT = DocumentFormat(
    name="html",
    label="HTML",
    extensions=("html", "htm"),
    mime_types=("text/html", "application/xhtml+xml"),
    extract=extract_html,
)
