"""Jira wiki markup (descriptions from REST API v2) -> plain text in the shared block shape.

`h1.` headings become `#` lines, `*` / `#` lists become `- ` / `1. ` items, `{code}` and
`{noformat}` become fenced code kept verbatim, `{quote}` and `bq.` become `> ` lines, table
rows become " | "-joined lines, and panel-like macros become paragraph breaks (keeping their
title). Inline effects (*bold*, _italic_...) are reduced to their words, images dropped, and
links keep their target as `text (url)`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from impacting.sources.documents.blocks import (
    fence_code,
    heading_line,
    join_blocks,
    list_item_lines,
)
from impacting.sources.documents.decoding import normalise_text

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
    text = _CODE_BLOCK.sub(lambda match: _stash(verbatim, _code(match)), text)
    return normalise_text(_restore(_convert(text, verbatim), verbatim))


def _stash(verbatim: list[str], block: str) -> str:
    """Put a finished block aside; the token left in its place sits on a line of its own."""
    verbatim.append(block)
    return f"\n\x00{len(verbatim) - 1}\x00\n"


def _restore(text: str, verbatim: list[str]) -> str:
    """`text` with every stash token replaced by its block."""
    return _TOKEN.sub(lambda match: verbatim[int(match.group(1))], text)


def _code(match: re.Match) -> str:
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


def _convert(text: str, verbatim: list[str]) -> str:
    """Wiki markup (code blocks already stashed) as plain text, tokens still in place."""
    text = _QUOTE_BLOCK.sub(lambda match: _stash(verbatim, _quote(match.group(1), verbatim)),
                            text)
    text = _BLOCK_MACRO.sub(_block_macro, text)
    text = _INLINE_MACRO.sub("", text)
    return join_blocks(_Blocks().convert(text))


def _quote(inner: str, verbatim: list[str]) -> str:
    """A {quote} body converted, with every line prefixed `> `."""
    quoted = _restore(_convert(inner, verbatim), verbatim)
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


class _Blocks:
    """Line-by-line conversion of wiki markup into (kind, text) blocks."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, str]] = []
        self._numbers: dict[int, int] = {}

    def convert(self, text: str) -> list[tuple[str, str]]:
        """The blocks of `text`, one line at a time (block macros already resolved)."""
        for line in text.split("\n"):
            self._line(line.strip())
        return self.blocks

    def _add(self, kind: str, text: str) -> None:
        """Append a block; anything but a list item ends the list, so numbering restarts."""
        if kind != "item":
            self._numbers.clear()
        self.blocks.append((kind, text))

    def _line(self, line: str) -> None:
        """One stripped line as a break, stashed block, heading, quote, item, row or text."""
        if not line or _RULE.match(line):
            self._add("break", "")
        elif _TOKEN.fullmatch(line):
            self._add("verbatim", line)
        elif heading := _HEADING.match(line):
            title = " ".join(_inline(heading.group(2)).split())
            self._add("heading", heading_line(int(heading.group(1)), title) if title else "")
        elif quote := _BLOCKQUOTE.match(line):
            self._add("quote", "> " + _inline(quote.group(1)))
        elif item := _LIST_ITEM.match(line):
            self._list_item(item.group(1), item.group(2))
        elif line.startswith("|"):
            cells = [" ".join(_inline(cell).split()) for cell in _cells(line)]
            self._add("row", " | ".join(cells) if any(cells) else "")
        else:
            converted = _inline(line)
            self._add("line", "\n".join(part.strip() for part in converted.split("\n")))

    def _list_item(self, markers: str, text: str) -> None:
        """A `*`/`#`/`-` item; the markers' count is the depth, the last one the kind."""
        depth = len(markers) - 1
        for deeper in [level for level in self._numbers if level > depth]:
            del self._numbers[deeper]
        if markers[-1] == "#":
            self._numbers[depth] = self._numbers.get(depth, 0) + 1
            marker = f"{self._numbers[depth]}. "
        else:
            self._numbers.pop(depth, None)
            marker = "- "
        body = _inline(text)
        self.blocks.append(("item", "\n".join(list_item_lines(body, marker, depth))))


def _cells(line: str) -> list[str]:
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


def _inline(text: str) -> str:
    """One line of wiki text with its inline markup resolved to plain text."""
    protected: list[str] = []

    def protect(value: str) -> str:
        protected.append(value)
        return f"\x02{len(protected) - 1}\x03"

    text = text.replace("\\\\", "\n")
    text = re.sub(r"\\([^\w\s])", lambda match: protect(match.group(1)), text)
    text = _MONOSPACE.sub(lambda match: protect(match.group(1)), text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(lambda match: _link(match.group(1), protect), text)
    text = _BARE_URL.sub(lambda match: protect(match.group(0)), text)
    for _ in range(2):  # a second pass resolves nested effects such as *_both_*
        for effect in _EFFECTS:
            text = effect.sub(r"\1", text)
    while _PROTECTED.search(text):
        text = _PROTECTED.sub(lambda match: protected[int(match.group(1))], text)
    return html.unescape(text)


def _link(content: str, protect: Callable[[str], str]) -> str:
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

