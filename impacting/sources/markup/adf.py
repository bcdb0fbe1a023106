"""Atlassian Document Format (descriptions from REST API v3) -> plain text in the shared
block shape.

ADF is a JSON tree, so this is a walk: headings become `#` lines, lists `- ` / `1. ` /
`- [x] ` items, code blocks fenced code, quotes `> ` lines, tables " | "-joined rows, and
cards and links keep their URL. Media, extensions and rules are dropped. The walk never fails
on odd input: unknown nodes are read through, malformed ones skipped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from impacting.sources.documents.blocks import (
    fence_code,
    heading_line,
    join_blocks,
    list_item_lines,
)
from impacting.sources.documents.decoding import normalise_text

_INLINE_TYPES = frozenset({"text", "hardBreak", "mention", "emoji", "inlineCard", "status", "date",
                         "mediaInline", "placeholder", "inlineExtension"})
_LIST_TYPES = frozenset({"bulletList", "orderedList", "taskList", "decisionList"})
_DROPPED_TYPES = frozenset({"mediaSingle", "mediaGroup", "media", "mediaInline", "placeholder",
                          "extension", "inlineExtension", "rule"})
_CONTAINER_TYPES = frozenset({"doc", "panel", "bodiedExtension", "layoutSection",
                             "layoutColumn", "listItem", "taskItem", "decisionItem"})


def adf_to_text(doc: dict) -> str:
    """An Atlassian Document Format document as plain text; never fails on odd nodes."""
    if not isinstance(doc, dict):
        return ""
    return normalise_text(join_blocks(_blocks([doc])))



def adf_from_json(value: str) -> dict | None:
    """The ADF document a string holds as JSON, or None when it is not one."""
    # Cheap checks first: most descriptions are wiki markup and never reach the JSON parser.
    if not value.lstrip().startswith("{") or '"doc"' not in value[:500]:
        return None
    try:
        document = json.loads(value)
    except ValueError:
        return None
    return document if isinstance(document, dict) and document.get("type") == "doc" else None

def _blocks(nodes: Any) -> list[tuple[str, str]]:
    """Blocks for a run of sibling nodes; loose inline nodes form paragraphs."""
    blocks: list[tuple[str, str]] = []
    inline: list[dict] = []
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue
        if node.get("type") in _INLINE_TYPES:
            inline.append(node)
            continue
        if inline:
            blocks.append(("para", _inline(inline)))
            inline = []
        blocks.extend(_block(node))
    if inline:
        blocks.append(("para", _inline(inline)))
    return blocks


def _block(node: dict) -> list[tuple[str, str]]:
    """Blocks for one block-level ADF node; unknown nodes are read through."""
    kind = node.get("type")
    content = node.get("content")
    attrs = _attrs(node)
    if kind in _DROPPED_TYPES:
        return []
    if kind == "paragraph":
        return [("para", _inline(content))]
    if kind == "heading":
        title = " ".join(_inline(content).split())
        return [("heading", heading_line(_int(attrs.get("level"), 1), title) if title else "")]
    if kind in _LIST_TYPES:
        return [("list", "\n".join(_list_lines(node, 0)))]
    if kind == "codeBlock":
        code = "".join(str(child.get("text") or "") for child in _dicts(content))
        return [("code", fence_code(code, str(attrs.get("language") or "")))]
    if kind == "blockquote":
        quoted = join_blocks(_blocks(content))
        return [("quote", "\n".join(f"> {line}".rstrip() for line in quoted.split("\n")))]
    if kind in ("expand", "nestedExpand"):
        return [("para", str(attrs.get("title") or ""))] + _blocks(content)
    if kind == "table":
        return [("table", "\n".join(_table_rows(node)))]
    if kind in ("blockCard", "embedCard"):
        return [("para", _card_url(attrs))]
    if kind in _CONTAINER_TYPES or isinstance(content, list):
        return _blocks(content)
    return [("para", str(node["text"]))] if isinstance(node.get("text"), str) else []


def _list_lines(node: dict, depth: int) -> list[str]:
    """A (nested) ADF list as indented `- ` / `N. ` / `- [x] ` lines."""
    ordered = node.get("type") == "orderedList"
    number = _int(_attrs(node).get("order"), 1)
    lines: list[str] = []
    for item in _dicts(node.get("content")):
        if item.get("type") in _LIST_TYPES:  # task lists nest lists directly, without an item
            lines.extend(_list_lines(item, depth + 1))
            continue
        body: list[dict] = []
        nested: list[str] = []
        for child in _dicts(item.get("content")):
            if child.get("type") in _LIST_TYPES:
                nested.extend(_list_lines(child, depth + 1))
            else:
                body.append(child)
        if ordered:
            marker = f"{number}. "
            number += 1
        elif item.get("type") == "taskItem":
            marker = "- [x] " if _attrs(item).get("state") == "DONE" else "- [ ] "
        else:
            marker = "- "
        lines.extend(list_item_lines(join_blocks(_blocks(body)), marker, depth))
        lines.extend(nested)
    return lines


def _table_rows(table: dict) -> list[str]:
    """One ' | '-joined line per ADF table row with any text."""
    rows = []
    for row in _dicts(table.get("content")):
        cells = [" ".join(join_blocks(_blocks(cell.get("content"))).split())
                 for cell in _dicts(row.get("content"))]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _inline(nodes: Any) -> str:
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
        parts.append(_inline_node(node))
        index += 1
    return "".join(parts)


def _inline_node(node: dict) -> str:
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
        return _date(attrs.get("timestamp"))
    if kind in _DROPPED_TYPES:
        return ""
    if isinstance(node.get("content"), list):
        return _inline(node["content"])
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
    """The URL of a smart card (inline, block or embed), or ""."""
    data = attrs.get("data") if isinstance(attrs.get("data"), dict) else {}
    return str(attrs.get("url") or data.get("url") or "")


def _date(timestamp: Any) -> str:
    """An ADF date (milliseconds since the epoch, as str or int) as YYYY-MM-DD in UTC."""
    try:
        moment = datetime.fromtimestamp(int(str(timestamp)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(timestamp or "")
    return moment.strftime("%Y-%m-%d")


def _attrs(node: dict) -> dict:
    """A node's attrs, or {} when missing or malformed."""
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _dicts(nodes: Any) -> list[dict]:
    """The dict entries of a content list (anything else in it, or a non-list, is ignored)."""
    return [node for node in nodes if isinstance(node, dict)] if isinstance(nodes, list) else []


def _int(value: Any, default: int) -> int:
    """`value` as an int, or `default` when it is not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
