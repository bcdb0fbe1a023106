"""Jira descriptions -> plain text, in the same Markdown-style shape as design documents.

Jira hands descriptions over as wiki markup (REST API v2) or as Atlassian Document Format
(ADF, REST API v3). Both become: `#` heading lines, `- ` / `1. ` list items (nested items
indented two spaces per level), fenced code, table rows with cells joined by " | ", and
paragraphs separated by one blank line. Links keep their target as `text (url)`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from impacting.sources.documents import (
    fence_code,
    heading_line,
    join_blocks,
    list_item_lines,
    normalise_text,
)

__all__ = ["adf_to_text", "description_to_text", "wiki_to_text"]


def description_to_text(value: str | dict | None) -> str:
    """A Jira description field as plain text: None -> "", dict -> ADF, str -> wiki markup
    (or ADF, when the string is an ADF document serialised as JSON)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return adf_to_text(value)
    if isinstance(value, str):
        document = _adf_json(value)
        return adf_to_text(document) if document is not None else wiki_to_text(value)
    raise TypeError(f"a Jira description is str, dict or None, not {type(value).__name__}")


def _adf_json(value: str) -> dict | None:
    """The ADF document a string holds as JSON, or None when it is not one."""
    if not value.lstrip().startswith("{") or '"doc"' not in value[:500]:
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, dict) and document.get("type") == "doc" else None


# ============================================================================================
# Wiki markup
# ============================================================================================

_TOKEN = re.compile(r"\x00(\d+)\x00")
_CODE_BLOCK = re.compile(r"\{(code|noformat)(:[^}\n]*)?\}(.*?)(?:\{\1\}|\Z)", re.DOTALL)
_QUOTE_BLOCK = re.compile(r"\{quote\}(.*?)\{quote\}", re.DOTALL)
_BLOCK_MACRO = re.compile(
    r"\{(panel|info|note|tip|warning|section|column|expand|quote)(?::([^}\n]*))?\}")
_INLINE_MACRO = re.compile(r"\{(?:color|anchor)(?::[^}\n]*)?\}")

_HEADING = re.compile(r"^h([1-6])\.\s*(.*)$")
_BLOCKQUOTE = re.compile(r"^bq\.\s*(.*)$")
_LIST_ITEM = re.compile(r"^([*#]+|-)\s+(.*)$")
_RULE = re.compile(r"^-{4,}$")


def wiki_to_text(markup: str) -> str:
    """Jira wiki markup as plain text; code and noformat blocks are kept verbatim."""
    if not markup:
        return ""
    verbatim: list[str] = []
    text = markup.replace("\r\n", "\n").replace("\r", "\n")
    text = _CODE_BLOCK.sub(lambda match: _stash(verbatim, _wiki_code(match)), text)
    return normalise_text(_restore(_wiki_convert(text, verbatim), verbatim))


def _stash(verbatim: list[str], block: str) -> str:
    """Put a finished block aside; the token left in its place sits on a line of its own."""
    verbatim.append(block)
    return f"\n\x00{len(verbatim) - 1}\x00\n"


def _restore(text: str, verbatim: list[str]) -> str:
    """`text` with every stash token replaced by its block."""
    return _TOKEN.sub(lambda match: verbatim[int(match.group(1))], text)


def _wiki_code(match: re.Match) -> str:
    """A {code}/{noformat} match as a fenced block, language from its parameters."""
    language = ""
    if match.group(1) == "code" and match.group(2):
        for parameter in match.group(2)[1:].split("|"):
            key, equals, value = parameter.partition("=")
            if not equals and key.strip():
                language = key.strip()
            elif key.strip().lower() == "language":
                language = value.strip()
    return fence_code(match.group(3), language)


def _wiki_convert(text: str, verbatim: list[str]) -> str:
    """Wiki markup (code blocks already stashed) as plain text, tokens still in place."""
    text = _QUOTE_BLOCK.sub(lambda match: _stash(verbatim, _wiki_quote(match.group(1), verbatim)),
                            text)
    text = _BLOCK_MACRO.sub(_block_macro, text)
    text = _INLINE_MACRO.sub("", text)
    return join_blocks(_WikiBlocks().convert(text))


def _wiki_quote(inner: str, verbatim: list[str]) -> str:
    """A {quote} body converted, with every line prefixed `> `."""
    quoted = _restore(_wiki_convert(inner, verbatim), verbatim)
    return "\n".join(f"> {line}".rstrip() for line in normalise_text(quoted).split("\n"))


def _block_macro(match: re.Match) -> str:
    """A panel-like macro tag becomes a paragraph break, plus its title when it has one."""
    title = ""
    for parameter in (match.group(2) or "").split("|"):
        key, equals, value = parameter.partition("=")
        if equals and key.strip().lower() == "title":
            title = value.strip()
        elif not equals and match.group(1) == "expand":
            title = key.strip()
    return f"\n\n{title}\n\n" if title else "\n\n"


class _WikiBlocks:
    """Line-by-line conversion of wiki markup into (kind, text) blocks."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, str]] = []
        self._numbers: dict[int, int] = {}

    def convert(self, text: str) -> list[tuple[str, str]]:
        for line in text.split("\n"):
            self._line(line.strip())
        return self.blocks

    def _add(self, kind: str, text: str) -> None:
        if kind != "item":
            self._numbers.clear()
        self.blocks.append((kind, text))

    def _line(self, line: str) -> None:
        if not line or _RULE.match(line):
            self._add("break", "")
        elif _TOKEN.fullmatch(line):
            self._add("verbatim", line)
        elif heading := _HEADING.match(line):
            title = " ".join(_wiki_inline(heading.group(2)).split())
            self._add("heading", heading_line(int(heading.group(1)), title) if title else "")
        elif quote := _BLOCKQUOTE.match(line):
            self._add("quote", "> " + _wiki_inline(quote.group(1)))
        elif item := _LIST_ITEM.match(line):
            self._list_item(item.group(1), item.group(2))
        elif line.startswith("|"):
            cells = [" ".join(_wiki_inline(cell).split()) for cell in _wiki_cells(line)]
            self._add("row", " | ".join(cells) if any(cells) else "")
        else:
            converted = _wiki_inline(line)
            self._add("line", "\n".join(part.strip() for part in converted.split("\n")))

    def _list_item(self, markers: str, text: str) -> None:
        depth = len(markers) - 1
        for deeper in [level for level in self._numbers if level > depth]:
            del self._numbers[deeper]
        if markers[-1] == "#":
            self._numbers[depth] = self._numbers.get(depth, 0) + 1
            marker = f"{self._numbers[depth]}. "
        else:
            self._numbers.pop(depth, None)
            marker = "- "
        body = _wiki_inline(text)
        self.blocks.append(("item", "\n".join(list_item_lines(body, marker, depth))))


def _wiki_cells(line: str) -> list[str]:
    """The cells of a `||head||head||` or `|cell|cell|` row; pipes inside [links] or after a
    backslash do not split."""
    cells: list[str] = []
    current: list[str] = []
    depth = 0
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\" and index + 1 < len(line):
            current.append(line[index:index + 2])
            index += 2
            continue
        if char == "|" and depth == 0:
            cells.append("".join(current))
            current = []
            index += 2 if line.startswith("||", index) else 1
            continue
        depth += (char == "[") - (char == "]" and depth > 0)
        current.append(char)
        index += 1
    cells.append("".join(current))
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


# Inline markup -----------------------------------------------------------------------------

_PROTECTED = re.compile(r"\x02(\d+)\x03")
_MONOSPACE = re.compile(r"\{\{(.+?)\}\}")
_IMAGE = re.compile(r"!(?!\s)[^!\n|]*?\.[A-Za-z0-9]{2,5}(?:\|[^!\n]*)?!")
_LINK = re.compile(r"\[([^\[\]\n]+)\]")
_BARE_URL = re.compile(r"\b(?:https?|ftp|file)://[^\s<>\"]+|\bmailto:[^\s<>\"]+")
_URL_LIKE = re.compile(r"(?:https?|ftp|file|mailto):|www\.", re.IGNORECASE)


def _effect(marker: str) -> re.Pattern:
    """Text effect `<m>inner<m>` -> inner. The opening marker must follow the start of the line,
    a space or an opening bracket, the closing one precede the end, a space or punctuation, and
    the inner text must not hold the marker or start or end with a space, so hyphenated words,
    snake_case and __dunder__ names and file paths are left alone. (Keeping the marker out of
    the inner text also keeps matching linear on long lines full of markers.)"""
    m, c = re.escape(marker), re.escape(marker[0])
    return re.compile(
        rf"(?<![^\s(\[{{\"'>|\x03]){m}(?=[^\s{c}])([^{c}\n]+?)(?<=[^\s{c}]){m}"
        rf"(?![^\s)\]}}\"'.,;:!?|\x02])"
    )


_EFFECTS = [_effect(marker) for marker in ("_", "*", "+", "-", "^", "~", "??")]


def _wiki_inline(text: str) -> str:
    """One line of wiki text with its inline markup resolved to plain text."""
    protected: list[str] = []

    def protect(value: str) -> str:
        protected.append(value)
        return f"\x02{len(protected) - 1}\x03"

    text = text.replace("\\\\", "\n")
    text = re.sub(r"\\([^\w\s])", lambda match: protect(match.group(1)), text)
    text = _MONOSPACE.sub(lambda match: protect(match.group(1)), text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(lambda match: _wiki_link(match.group(1), protect), text)
    text = _BARE_URL.sub(lambda match: protect(match.group(0)), text)
    for _ in range(2):  # a second pass resolves nested effects such as *_both_*
        for effect in _EFFECTS:
            text = effect.sub(r"\1", text)
    while _PROTECTED.search(text):
        text = _PROTECTED.sub(lambda match: protected[int(match.group(1))], text)
    return html.unescape(text)


def _wiki_link(content: str, protect: Callable[[str], str]) -> str:
    """`[text|url]` -> `text (url)`, `[url]` -> url, `[~user]` -> @user; other brackets stay."""
    if content.startswith("~"):
        return protect("@" + content[1:])
    if "|" in content:
        text, target = (part.strip() for part in content.split("|")[:2])
        target = target[1:] if target[:1] in ("^", "#") else target
        target = "@" + target[1:] if target.startswith("~") else target
        if not text or text == target:
            return protect(target)
        return f"{text} ({protect(target)})" if target else text
    if content[:1] in ("^", "#"):
        return protect(content[1:])
    if _URL_LIKE.match(content.strip()):
        return protect(content.strip())
    return protect(f"[{content}]")


# ============================================================================================
# Atlassian Document Format
# ============================================================================================

_ADF_INLINE = frozenset({"text", "hardBreak", "mention", "emoji", "inlineCard", "status", "date",
                         "mediaInline", "placeholder", "inlineExtension"})
_ADF_LISTS = frozenset({"bulletList", "orderedList", "taskList", "decisionList"})
_ADF_DROPPED = frozenset({"mediaSingle", "mediaGroup", "media", "mediaInline", "placeholder",
                          "extension", "inlineExtension", "rule"})
_ADF_CONTAINERS = frozenset({"doc", "panel", "bodiedExtension", "layoutSection",
                             "layoutColumn", "listItem", "taskItem", "decisionItem"})


def adf_to_text(doc: dict) -> str:
    """An Atlassian Document Format document as plain text; never fails on odd nodes."""
    if not isinstance(doc, dict):
        return ""
    return normalise_text(join_blocks(_adf_blocks([doc])))


def _adf_blocks(nodes: Any) -> list[tuple[str, str]]:
    """Blocks for a run of sibling nodes; loose inline nodes form paragraphs."""
    blocks: list[tuple[str, str]] = []
    inline: list[dict] = []
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue
        if node.get("type") in _ADF_INLINE:
            inline.append(node)
            continue
        if inline:
            blocks.append(("para", _adf_inline(inline)))
            inline = []
        blocks.extend(_adf_block(node))
    if inline:
        blocks.append(("para", _adf_inline(inline)))
    return blocks


def _adf_block(node: dict) -> list[tuple[str, str]]:
    """Blocks for one block-level ADF node; unknown nodes are read through."""
    kind = node.get("type")
    content = node.get("content")
    attrs = _attrs(node)
    if kind in _ADF_DROPPED:
        return []
    if kind == "paragraph":
        return [("para", _adf_inline(content))]
    if kind == "heading":
        title = " ".join(_adf_inline(content).split())
        return [("heading", heading_line(_int(attrs.get("level"), 1), title) if title else "")]
    if kind in _ADF_LISTS:
        return [("list", "\n".join(_adf_list_lines(node, 0)))]
    if kind == "codeBlock":
        code = "".join(str(child.get("text") or "") for child in _dicts(content))
        return [("code", fence_code(code, str(attrs.get("language") or "")))]
    if kind == "blockquote":
        quoted = join_blocks(_adf_blocks(content))
        return [("quote", "\n".join(f"> {line}".rstrip() for line in quoted.split("\n")))]
    if kind in ("expand", "nestedExpand"):
        return [("para", str(attrs.get("title") or ""))] + _adf_blocks(content)
    if kind == "table":
        return [("table", "\n".join(_adf_table_rows(node)))]
    if kind in ("blockCard", "embedCard"):
        return [("para", _card_url(attrs))]
    if kind in _ADF_CONTAINERS or isinstance(content, list):
        return _adf_blocks(content)
    return [("para", str(node["text"]))] if isinstance(node.get("text"), str) else []


def _adf_list_lines(node: dict, depth: int) -> list[str]:
    """A (nested) ADF list as indented `- ` / `N. ` / `- [x] ` lines."""
    ordered = node.get("type") == "orderedList"
    number = _int(_attrs(node).get("order"), 1)
    lines: list[str] = []
    for item in _dicts(node.get("content")):
        if item.get("type") in _ADF_LISTS:  # task lists nest lists directly, without an item
            lines.extend(_adf_list_lines(item, depth + 1))
            continue
        body: list[dict] = []
        nested: list[str] = []
        for child in _dicts(item.get("content")):
            if child.get("type") in _ADF_LISTS:
                nested.extend(_adf_list_lines(child, depth + 1))
            else:
                body.append(child)
        if ordered:
            marker = f"{number}. "
            number += 1
        elif item.get("type") == "taskItem":
            marker = "- [x] " if _attrs(item).get("state") == "DONE" else "- [ ] "
        else:
            marker = "- "
        lines.extend(list_item_lines(join_blocks(_adf_blocks(body)), marker, depth))
        lines.extend(nested)
    return lines


def _adf_table_rows(table: dict) -> list[str]:
    """One ' | '-joined line per ADF table row with any text."""
    rows = []
    for row in _dicts(table.get("content")):
        cells = [" ".join(join_blocks(_adf_blocks(cell.get("content"))).split())
                 for cell in _dicts(row.get("content"))]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _adf_inline(nodes: Any) -> str:
    """Inline nodes as text; a link keeps its target as `text (href)` unless they match."""
    parts: list[str] = []
    nodes = list(_dicts(nodes))
    index = 0
    while index < len(nodes):
        node = nodes[index]
        href = _link_href(node)
        if href:
            # One link is often split into several text nodes by other marks (bold, code...).
            end = index
            while end < len(nodes) and _link_href(nodes[end]) == href:
                end += 1
            text = "".join(str(n.get("text") or "") for n in nodes[index:end])
            parts.append(f"{text} ({href})" if text.strip() and text.strip() != href else href)
            index = end
            continue
        parts.append(_adf_inline_node(node))
        index += 1
    return "".join(parts)


def _adf_inline_node(node: dict) -> str:
    """One inline ADF node (other than a linked text) as text."""
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        name = str(attrs.get("text") or attrs.get("displayName") or attrs.get("id") or "")
        return name if not name or name.startswith("@") else "@" + name
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind == "inlineCard":
        return _card_url(attrs)
    if kind == "status":
        return str(attrs.get("text") or "")
    if kind == "date":
        return _adf_date(attrs.get("timestamp"))
    if kind in _ADF_DROPPED:
        return ""
    if isinstance(node.get("content"), list):
        return _adf_inline(node["content"])
    return str(node.get("text") or "")


def _link_href(node: dict) -> str | None:
    """The href of a text node's link mark, or None."""
    if node.get("type") != "text":
        return None
    for mark in _dicts(node.get("marks")):
        if mark.get("type") == "link":
            href = _attrs(mark).get("href")
            return str(href) if href else None
    return None


def _card_url(attrs: dict) -> str:
    data = attrs.get("data") if isinstance(attrs.get("data"), dict) else {}
    return str(attrs.get("url") or data.get("url") or "")


def _adf_date(timestamp: Any) -> str:
    """An ADF date (milliseconds since the epoch, as str or int) as YYYY-MM-DD in UTC."""
    try:
        moment = datetime.fromtimestamp(int(str(timestamp)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(timestamp or "")
    return moment.strftime("%Y-%m-%d")


def _attrs(node: dict) -> dict:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _dicts(nodes: Any) -> list[dict]:
    return [node for node in nodes if isinstance(node, dict)] if isinstance(nodes, list) else []


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
