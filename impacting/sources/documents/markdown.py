"""Markdown documents: the source kept as written, its structure read by markdown-it-py.

Markdown already is the shape every extractor produces (see `blocks`), so the clean text is
the document itself, normalised, with a single rewrite: top-level setext headings (`Title` over
a line of `===` or `---`) become `# Title` / `## Title`, because the chunking step recognises
headings only as `#` lines. Code fences, lists, tables, HTML comments (template guidance,
which chunking labels as such) and links stay exactly as written; chunking reduces links and
emphasis to their words later, per chunk.

markdown-it-py parses the block structure (CommonMark, plus GFM tables), so what counts as a
heading is what a Markdown renderer would show as one: not a `#` line inside a code block,
an HTML comment or YAML front matter, and not a `---` under a list item or a table row. One
lenience: a closing code fence indented less than its list item still closes the block (see
`_stray_closing_fence`), as its author meant, instead of opening a block that swallows the
rest of the document.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from impacting.sources.documents.blocks import collapse, heading_line
from impacting.sources.documents.decoding import decode_document, normalise_text
from impacting.sources.documents.format import DocumentFormat
from impacting.sources.documents.result import Extraction

# Only the block structure matters, so inline parsing (links, emphasis...) is switched off:
# it is most of the parser's work, and a heading's raw title is what we keep anyway.
_PARSER = MarkdownIt("commonmark").enable("table").disable("inline")


def extract_markdown(content: bytes) -> Extraction:
    """The Markdown source, normalised, with top-level setext headings rewritten as `#`
    lines; the headings are the titles of every heading in the document (in quotes and list
    items too, as for HTML), in order."""
    lines = normalise_text(decode_document(content, FORMAT.label)).split("\n")
    headings: list[str] = []
    rewrites: dict[int, tuple[int, str]] = {}  # first line -> (line after the heading, new line)
    tokens = _parse_body(lines)
    for index, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        setext = token.markup in ("=", "-")
        raw = tokens[index + 1].content
        title = collapse(raw) if setext else raw.strip()
        if title:
            headings.append(title)
        # Only top-level headings are rewritten: inside a list item or a quote the `#` line
        # would need the container's prefix, and chunking would not see it as a heading anyway.
        if setext and token.level == 0 and token.map and title:
            start, end = token.map
            rewrites[start] = (end, heading_line(int(token.tag[1]), title))
    return Extraction("\n".join(_rewrite(lines, rewrites)), tuple(headings))


def _parse_body(lines: list[str]) -> list[Token]:
    """markdown-it's block tokens for the lines, YAML front matter left out and stray
    closing fences taken as closing (see `_stray_closing_fence`).

    Lines left out are parsed as blank lines, so that token line numbers still index `lines`.
    (CommonMark would read front matter's `---` / `title: X` / `---` as a rule and a setext
    heading.)
    """
    tokens: list[Token] = []
    start = _front_matter_end(lines)
    while True:
        parsed = _PARSER.parse("\n" * start + "\n".join(lines[start:]))
        stray = _stray_closing_fence(parsed, lines)
        if stray is None:
            return tokens + parsed
        index, line = stray
        tokens.extend(parsed[:index])
        start = line + 1


def _stray_closing_fence(tokens: list[Token], lines: list[str]) -> tuple[int, int] | None:
    """(token index, line) of the first fence that only exists because the closing fence
    of the code block before it was indented less than its list item, or None.

    CommonMark ends the list item, and so the code block, at that line, and then opens a new
    code block with it that swallows the rest of the document, headings included. Authors
    mean the line to close the block (it happens in real design documents), so we read it so:
    a top-level fence that never closes, opened by a bare fence line right where a code
    block was cut short, is that block's closing line.
    """
    previous: Token | None = None
    for index, token in enumerate(tokens):
        if token.type != "fence" or not token.map:
            continue
        if (previous is not None and previous.map and token.level == 0
                and token.map[0] == previous.map[1]
                and not _fence_closed(previous, lines) and not _fence_closed(token, lines)
                and _closes(previous, lines[token.map[0]])):
            return index, token.map[0]
        previous = token
    return None


def _fence_closed(fence: Token, lines: list[str]) -> bool:
    """Whether a fenced code block ends with a closing fence (rather than its container's or
    the document's end)."""
    if not fence.map:
        return False
    start, end = fence.map
    # Inside a quote the closing line still carries the `>` markers.
    return end - start >= 2 and _closes(fence, lines[end - 1].lstrip(" \t>"))


def _closes(fence: Token, line: str) -> bool:
    """Whether `line`, read on its own, is a closing fence for `fence`."""
    marker = line.strip()
    return len(marker) >= len(fence.markup) and set(marker) == {fence.markup[0]}


def _front_matter_end(lines: list[str]) -> int:
    """The index of the first line after YAML front matter (a `---` first line, up to the
    next `---` or `...` line), or 0 when the document has none."""
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                return index + 1
    return 0


def _rewrite(lines: list[str], rewrites: dict[int, tuple[int, str]]) -> list[str]:
    """`lines` with each range [start, end) in `rewrites` replaced by its one new line."""
    out: list[str] = []
    index = 0
    while index < len(lines):
        if index in rewrites:
            index, line = rewrites[index]
            out.append(line)
        else:
            out.append(lines[index])
            index += 1
    return out


FORMAT = DocumentFormat(
    name="markdown",
    label="Markdown",
    extensions=("md", "markdown"),
    mime_types=("text/markdown", "text/x-markdown"),
    extract=extract_markdown,
)
