"""Design-document bytes -> clean, Markdown-style plain text.

`extract_text` is the entry point. It never raises for bad content: every problem becomes an
`ExtractedText` with status "skipped" (unsupported, empty, encrypted, too large) or "failed"
(corrupt), and a reason naming the problem and what the user can do about it.

Output conventions, shared by every format (and by `impacting.sources.markup`):
headings are lines `# Title` (`#` x level 1-6), paragraphs are separated by one blank line,
list items are `- item` / `1. item` (nested items indented two spaces per level), code is
fenced with ```, and table rows are one line each with cells joined by " | ".
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

import docx
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction
from docx.oxml.ns import qn
from pypdf import PdfReader
from pypdf.errors import DependencyError

__all__ = [
    "DOCUMENT_FORMATS",
    "ENCRYPTED_OOXML",
    "ExtractedText",
    "decode_text",
    "detect_format",
    "extract_text",
    "fence_code",
    "heading_line",
    "join_blocks",
    "list_item_lines",
    "normalise_text",
]

DOCUMENT_FORMATS: dict[str, str] = {
    "md": "markdown",
    "markdown": "markdown",
    "txt": "text",
    "text": "text",
    "html": "html",
    "htm": "html",
    "docx": "docx",
    "pdf": "pdf",
}

# The format reported for password-protected Word/Excel/PowerPoint files (an OLE2 wrapper).
ENCRYPTED_OOXML = "encrypted-ooxml"

_FORMAT_LABELS = {
    "markdown": "Markdown", "text": "text", "html": "HTML", "docx": "DOCX", "pdf": "PDF",
}

_MIME_FORMATS = {
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}

_UNSUPPORTED_MIME_KINDS = {
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/rtf": "rtf",
    "text/rtf": "rtf",
    "text/csv": "csv",
    "application/zip": "zip",
    "application/gzip": "gz",
    "application/x-7z-compressed": "7z",
    "application/vnd.rar": "rar",
    "application/epub+zip": "epub",
}

# Legacy binary Office files: the fix is a different one ("save it as .docx or PDF").
_LEGACY_OFFICE = frozenset({"doc", "dot", "xls", "xlt", "ppt", "pps", "pot"})

# What we say about a kind we cannot read, keyed by the kind (usually the extension).
_UNSUPPORTED_KINDS: dict[str, str] = {
    **dict.fromkeys(
        ["png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "svg", "heic", "ico"],
        "images have no text to read"),
    **dict.fromkeys(
        ["zip", "gz", "tgz", "tar", "7z", "rar", "bz2", "xz"],
        "archives are not unpacked"),
    **dict.fromkeys(
        ["xlsx", "xlsm", "ods", "csv", "tsv", "numbers"],
        "spreadsheets are not read as documents"),
    **dict.fromkeys(
        ["pptx", "odp", "key"],
        "presentations are not read as documents"),
    **dict.fromkeys(
        ["odt", "rtf", "pages", "wpd", "epub", "msg", "eml", "ole2"],
        "this document type cannot be read"),
    **dict.fromkeys(
        ["mp3", "mp4", "mov", "wav", "avi", "mkv"],
        "audio and video have no text to read"),
    **dict.fromkeys(_LEGACY_OFFICE, "legacy binary Office files cannot be read"),
}

_CONVERT_FIX = "convert it to Markdown, text, HTML, DOCX or PDF"


@dataclass(frozen=True)
class ExtractedText:
    """The outcome of reading one document: its clean text, or why there is none."""

    text: str
    format: str
    status: str
    reason: str | None
    headings: tuple[str, ...]
    word_count: int


class _Rejected(Exception):
    """Raised inside an extractor when the document cannot yield text, for a known reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class _Extraction:
    """What an extractor found: the text (not yet normalised) and its headings."""
    text: str
    headings: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def extract_text(content: bytes, file_name: str, mime_type: str | None = None,
                 max_bytes: int | None = None) -> ExtractedText:
    """Read a design document into clean text; never raises for bad content.

    The format is detected with `detect_format`. Over `max_bytes`, empty, unsupported,
    encrypted or text-less documents are "skipped"; corrupt ones are "failed"; in both cases
    `text` is "" and `reason` says what is wrong and how to fix it.
    """
    content = bytes(content)
    fmt = detect_format(file_name, mime_type, content)
    if max_bytes is not None and len(content) > max_bytes:
        return _not_ok(fmt, "skipped",
                       f"too large: {len(content):,} bytes is over the {max_bytes:,}-byte limit; "
                       "attach a smaller copy or split the document")
    if not content:
        return _not_ok(fmt, "skipped",
                       "empty: the file is 0 bytes; attach the document again with its content")
    rejection = _unsupported_reason(fmt)
    if rejection is not None:
        return _not_ok(fmt, "skipped", rejection)
    try:
        extraction = _EXTRACTORS[fmt](content)
    except _Rejected as rejected:
        return _not_ok(fmt, rejected.status, rejected.reason)
    except Exception as error:  # any parser failure on bad input is the document's problem
        return _not_ok(fmt, "failed",
                       f"corrupt {_FORMAT_LABELS[fmt]} file: {_describe(error)}; "
                       "re-save or re-export the file")
    text = normalise_text(extraction.text)
    words = len(text.split())
    if words == 0:
        return _not_ok(fmt, "skipped",
                       f"empty: the {_FORMAT_LABELS[fmt]} file contains no text; "
                       "attach a version with content")
    return ExtractedText(text, fmt, "ok", None, extraction.headings, words)


def _not_ok(fmt: str, status: str, reason: str) -> ExtractedText:
    """A result with no text, for a document that was skipped or failed."""
    return ExtractedText("", fmt, status, reason, (), 0)


def _unsupported_reason(fmt: str) -> str | None:
    """Why a detected format cannot be read, or None when an extractor exists for it."""
    if fmt in _EXTRACTORS:
        return None
    if fmt == ENCRYPTED_OOXML:
        return ("encrypted Office document: the file is password-protected; "
                "attach an unprotected copy saved as .docx or PDF")
    if fmt in _LEGACY_OFFICE:
        return f"unsupported format '{fmt}': {_UNSUPPORTED_KINDS[fmt]}; save it as .docx or PDF"
    why = _UNSUPPORTED_KINDS.get(fmt, "files of this type cannot be read")
    return f"unsupported format '{fmt}': {why}; {_CONVERT_FIX}"


def _describe(error: BaseException) -> str:
    """`ClassName: message`, on one line and of bounded length."""
    message = " ".join(str(error).split())
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


# --------------------------------------------------------------------------------------------
# Format detection
# --------------------------------------------------------------------------------------------


def detect_format(file_name: str, mime_type: str | None, content: bytes) -> str:
    """The document's format: a `DOCUMENT_FORMATS` value, or the kind we cannot read.

    Magic bytes win over the file name, the file name's extension over the MIME type; with
    neither, the content is sniffed ("html", "text" or "unknown"). Unreadable kinds are named
    by their extension ("doc", "png", ...), or "encrypted-ooxml" for password-protected
    Office files.
    """
    content = bytes(content)
    extension = _extension(file_name)
    from_magic = _format_from_magic(content, extension)
    if from_magic is not None:
        return from_magic
    if extension in DOCUMENT_FORMATS:
        return DOCUMENT_FORMATS[extension]
    if extension in _UNSUPPORTED_KINDS:
        return extension
    from_mime = _format_from_mime(mime_type)
    if from_mime is not None:
        return from_mime
    return _sniff_text_format(content)


def _extension(file_name: str | None) -> str:
    """The file name's extension, lower case, without the dot ('' when none)."""
    base = re.split(r"[\\/]", file_name or "")[-1]
    return base.rsplit(".", 1)[-1].strip().lower() if "." in base else ""


_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
]
_ARCHIVE_MAGIC = [
    (b"\x1f\x8b", "gz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"{\\rtf", "rtf"),
]


def _format_from_magic(content: bytes, extension: str) -> str | None:
    """The format the leading bytes prove, or None when they prove nothing."""
    if content.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if content.startswith(b"PK\x03\x04"):
        return _zip_kind(content, extension)
    if content.startswith(_OLE2_MAGIC):
        return _ole2_kind(content, extension)
    for magic, kind in _IMAGE_MAGIC + _ARCHIVE_MAGIC:
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp"
    return None


def _zip_kind(content: bytes, extension: str) -> str | None:
    # Member names sit uncompressed in the local headers, so a byte search also works on
    # truncated archives that zipfile cannot open.
    """What a ZIP container holds (docx, xlsx, odt...), from its member names."""
    if b"word/document.xml" in content:
        return "docx"
    for marker, kind in [
        (b"xl/workbook.xml", "xlsx"),
        (b"ppt/presentation.xml", "pptx"),
        (b"application/vnd.oasis.opendocument.text", "odt"),
        (b"application/vnd.oasis.opendocument.spreadsheet", "ods"),
        (b"application/vnd.oasis.opendocument.presentation", "odp"),
        (b"application/epub+zip", "epub"),
    ]:
        if marker in content:
            return kind
    # A zip we cannot place: let a .docx name through so the reader reports it as corrupt.
    if extension == "docx" or extension in _UNSUPPORTED_KINDS:
        return None
    return "zip"


def _ole2_kind(content: bytes, extension: str) -> str:
    """What an OLE2 (legacy Office) container is: encrypted OOXML, or doc/xls/ppt..."""
    if "EncryptedPackage".encode("utf-16-le") in content:
        return ENCRYPTED_OOXML
    if extension in _UNSUPPORTED_KINDS:  # .doc/.xls/.ppt, or another OLE2 kind such as .msg
        return extension
    for stream, kind in [("WordDocument", "doc"), ("Workbook", "xls"),
                         ("PowerPoint Document", "ppt"), ("Book", "xls")]:
        if stream.encode("utf-16-le") in content:
            return kind
    return "ole2"


def _format_from_mime(mime_type: str | None) -> str | None:
    """The format a MIME type names (parameters ignored), or None."""
    mime = (mime_type or "").split(";")[0].strip().lower()
    if mime in _MIME_FORMATS:
        return _MIME_FORMATS[mime]
    if mime in _UNSUPPORTED_MIME_KINDS:
        return _UNSUPPORTED_MIME_KINDS[mime]
    if mime.startswith("image/"):
        return mime.split("/", 1)[1].split("+")[0] or "image"
    return None


def _sniff_text_format(content: bytes) -> str:
    """'html' or 'text' for readable text, 'unknown' for anything else."""
    if not content:
        return "unknown"
    text = decode_text(content[:65536])
    if _looks_binary(text):
        return "unknown"
    head = text[:1024].lstrip().lower()
    if head.startswith(("<!doctype html", "<html")) or "<body" in head:
        return "html"
    return "text"


# --------------------------------------------------------------------------------------------
# Text decoding and normalisation
# --------------------------------------------------------------------------------------------

_BOMS = [
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
]


def decode_text(content: bytes) -> str:
    """Bytes -> str, never failing: BOM, BOM-less UTF-16, UTF-8, then cp1252, then latin-1."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content[len(bom):].decode(codec, errors="replace")
    utf16 = _bomless_utf16(content)
    if utf16 is not None:
        return utf16
    for codec in ("utf-8", "cp1252"):
        try:
            return content.decode(codec)
        except UnicodeDecodeError:
            pass
    return content.decode("latin-1")


def _bomless_utf16(content: bytes) -> str | None:
    # ASCII-range UTF-16 is also valid UTF-8 (NULs included), so it must be caught first:
    # one byte of every pair is NUL, and always the same one.
    if len(content) < 4 or len(content) % 2:
        return None
    even_nuls = content[0::2].count(0)
    odd_nuls = content[1::2].count(0)
    half = len(content) // 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return content.decode("utf-16-le", errors="replace")
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return content.decode("utf-16-be", errors="replace")
    return None


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_NEWLINE_LIKE = str.maketrans({"\v": "\n", "\f": "\n", "\u2028": "\n", "\u2029": "\n",
                               "\xa0": " "})


def normalise_text(text: str) -> str:
    """Newlines as \\n, no BOM or control characters (bar \\n and \\t), no trailing spaces,
    at most one blank line in a row, and no blank lines at either end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_NEWLINE_LIKE)
    text = _CONTROL_CHARS.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def _looks_binary(text: str) -> bool:
    """True when decoded text is mostly not text (control or replacement characters)."""
    sample = text[:8192]
    if not sample:
        return False
    bad = sum(1 for ch in sample
              if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\n\r\t\f\v"))
    return bad > 0.05 * len(sample)


def _decode_document(content: bytes, fmt: str) -> str:
    """The document's text, or a rejection when the bytes are not text at all."""
    text = decode_text(content)
    if _looks_binary(text):
        raise _Rejected("failed",
                        f"not text: the file is named as {_FORMAT_LABELS[fmt]} but holds binary "
                        f"data; {_CONVERT_FIX}")
    return text


# --------------------------------------------------------------------------------------------
# Blocks: the shared shape of rendered output (also used by impacting.sources.markup)
# --------------------------------------------------------------------------------------------

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


def _collapse(text: str) -> str:
    """Runs of whitespace as single spaces, ends stripped."""
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# Markdown and plain text
# --------------------------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(r"^( {0,3}(#{1,6}(\s|$)|>|[-*+]\s|\d{1,9}[.)]\s|`{3,}|~{3,})| {4,}|\t)")


def _extract_text_file(content: bytes) -> _Extraction:
    """Plain text as is (normalised); plain text has no headings."""
    return _Extraction(normalise_text(_decode_document(content, "text")), ())


def _extract_markdown(content: bytes) -> _Extraction:
    """Markdown as is (normalised), setext headings rewritten as `#` lines."""
    text = normalise_text(_decode_document(content, "markdown"))
    text = _setext_to_atx(text)
    return _Extraction(text, tuple(_markdown_headings(text)))


def _verbatim_mask(lines: list[str]) -> list[bool]:
    """True for lines Markdown must not interpret: fenced code (with its fences), YAML front
    matter and multi-line HTML comments."""
    mask = [False] * len(lines)
    i = 0
    if lines and lines[0].strip() == "---":
        for j in range(1, len(lines)):
            if lines[j].strip() in ("---", "..."):
                mask[: j + 1] = [True] * (j + 1)
                i = j + 1
                break
    fence: str | None = None
    in_comment = False
    for index in range(i, len(lines)):
        line = lines[index]
        if fence is not None:
            mask[index] = True
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        if in_comment:
            mask[index] = True
            in_comment = "-->" not in line
            continue
        opened = _FENCE_OPEN.match(line)
        if opened:
            mask[index] = True
            fence = opened.group(1)
        elif line.lstrip().startswith("<!--") and "-->" not in line:
            mask[index] = True
            in_comment = True
    return mask


def _setext_to_atx(text: str) -> str:
    """Rewrite setext headings (`Title` over `===` / `---`) as `# Title` / `## Title`."""
    lines = text.split("\n")
    mask = _verbatim_mask(lines)
    out: list[str] = []
    out_mask: list[bool] = []
    for index, line in enumerate(lines):
        underline = None if mask[index] else _SETEXT_UNDERLINE.match(line)
        start = _setext_paragraph_start(out, out_mask) if underline else None
        if start is None:
            out.append(line)
            out_mask.append(mask[index])
            continue
        title = _collapse(" ".join(out[start:]))
        del out[start:], out_mask[start:]
        out.append(heading_line(1 if underline.group(1)[0] == "=" else 2, title))
        out_mask.append(False)
    return "\n".join(out)


def _setext_paragraph_start(lines: list[str], mask: list[bool]) -> int | None:
    """Index where the paragraph ending `lines` starts, if a setext underline may follow it."""
    start = len(lines)
    while start > 0 and lines[start - 1].strip() and not mask[start - 1] \
            and not _NOT_PARAGRAPH.match(lines[start - 1]):
        start -= 1
    if start == len(lines):
        return None
    # A paragraph continuing a list item or quote is part of it, not a heading.
    if start > 0 and lines[start - 1].strip() and not mask[start - 1]:
        return None
    return start


def _markdown_headings(text: str) -> list[str]:
    """Titles of the ATX headings outside code fences, front matter and comments."""
    lines = text.split("\n")
    headings = []
    for line, verbatim in zip(lines, _verbatim_mask(lines), strict=True):
        match = None if verbatim else _ATX_HEADING.match(line)
        if match and match.group(2) and match.group(2).strip():
            headings.append(match.group(2).strip())
    return headings


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_HTML_DROPPED = frozenset({"script", "style", "noscript", "head", "nav", "footer", "template",
                           "svg", "iframe", "object", "embed", "canvas", "button", "select"})
_HTML_BLOCKS = frozenset({"p", "div", "section", "article", "main", "header", "aside", "address",
                          "figure", "figcaption", "form", "fieldset", "details", "summary",
                          "center", "dl", "dt", "dd", "li", "caption", "legend", "hr", "body",
                          "html"})
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_BR = "\x00"  # a <br> inside inline text; NUL cannot survive normalisation, so it is safe


def _extract_html(content: bytes) -> _Extraction:
    """HTML rendered to blocks; <title> becomes the heading when there is no <h1>."""
    soup = BeautifulSoup(_decode_document(content, "html"), "html.parser")
    renderer = _HtmlRenderer()
    renderer.render(soup)
    blocks, headings = renderer.blocks, renderer.headings
    title = _collapse(soup.title.get_text()) if soup.title else ""
    if title and not renderer.saw_h1:
        blocks.insert(0, ("heading", heading_line(1, title)))
        headings.insert(0, title)
    return _Extraction(join_blocks(blocks), tuple(headings))


class _HtmlRenderer:
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
        text = "\n".join(_collapse(part) for part in raw.split(_BR)).strip("\n")
        if text.strip():
            self.blocks.append(("para", text))

    def _visit(self, node) -> None:
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIPPED_STRINGS):
                self._inline.append(str(node))
            return
        if not isinstance(node, Tag):
            return
        name = (node.name or "").lower()
        if name in _HTML_DROPPED:
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
            self.blocks.append(("table", "\n".join(_html_table_rows(node))))
        elif name == "blockquote":
            self._blockquote(node)
        elif name == "br":
            self._inline.append(_BR)
        elif name == "a":
            self._link(node)
        elif name in _HTML_BLOCKS:
            self.flush()
            self.render(node)
        else:
            for child in node.children:
                self._visit(child)

    def _heading(self, node: Tag, level: int) -> None:
        title = _collapse(_html_plain_text(node))
        if not title:
            return
        self.flush()
        self.blocks.append(("heading", heading_line(level, title)))
        self.headings.append(title)
        self.saw_h1 = self.saw_h1 or level == 1

    def _link(self, node: Tag) -> None:
        start = len(self._inline)
        for child in node.children:
            self._visit(child)
        text = _collapse("".join(self._inline[start:]).replace(_BR, " "))
        href = str(node.get("href") or "").strip()
        if text and re.match(r"(https?|mailto):", href) and href not in (text, f"mailto:{text}"):
            self._inline.append(f" ({href})")

    def _blockquote(self, node: Tag) -> None:
        self.flush()
        inner = _HtmlRenderer()
        inner.render(node)
        self.headings.extend(inner.headings)
        quoted = join_blocks(inner.blocks)
        if quoted:
            lines = [f"> {line}".rstrip() for line in quoted.split("\n")]
            self.blocks.append(("quote", "\n".join(lines)))

    def _list_lines(self, node: Tag, depth: int) -> list[str]:
        ordered = node.name == "ol"
        number = _int_attribute(node, "start", 1)
        lines: list[str] = []
        for item in node.find_all("li", recursive=False):
            body = _HtmlRenderer()
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


def _html_plain_text(node: Tag) -> str:
    """All text under `node` (dropped elements and comments excluded; <br> as a space)."""
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, NavigableString):
            if not isinstance(child, _SKIPPED_STRINGS):
                parts.append(str(child))
        elif isinstance(child, Tag) and child.name not in _HTML_DROPPED:
            parts.append(" " if child.name == "br" else _html_plain_text(child))
    return "".join(parts)


def _html_table_rows(table: Tag) -> list[str]:
    """One ' | '-joined line per table row with any text, header rows included."""
    rows: list[str] = []
    for section in [table, *table.find_all(["thead", "tbody", "tfoot"], recursive=False)]:
        for row in section.find_all("tr", recursive=False):
            cells = [_collapse(_html_plain_text(cell))
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


# --------------------------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------------------------

_W_P, _W_TBL, _W_SDT, _W_SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
_W_TR, _W_TC, _W_R = qn("w:tr"), qn("w:tc"), qn("w:r")
_W_T, _W_TAB, _W_BR, _W_CR = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr")
_W_VAL = qn("w:val")
# Text boxes and compatibility fallbacks repeat or float outside the reading order.
_DOCX_SKIPPED = frozenset({qn("w:txbxContent"), qn("w:pPr"), qn("w:rPr"),
                           "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"})
_CODE_STYLE = re.compile(r"\b(code|preformatted|macro)\b", re.IGNORECASE)


def _extract_docx(content: bytes) -> _Extraction:
    """A Word document's body in reading order; a bad archive is rejected as corrupt."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(content)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise _Rejected("failed", f"corrupt DOCX file: not a readable ZIP archive "
                                  f"({_describe(error)}); re-save or re-export the file") from None
    if "word/document.xml" not in names:
        raise _Rejected("failed", "corrupt DOCX file: the archive has no word/document.xml, so it "
                                  "is not a Word document; re-save or re-export the file as .docx")
    document = docx.Document(io.BytesIO(content))
    renderer = _DocxRenderer(document)
    renderer.render(document.element.body)
    return _Extraction(join_blocks(renderer.blocks), tuple(renderer.headings))


class _DocxRenderer:
    """Walks a Word body in document order into (kind, text) blocks and headings."""

    def __init__(self, document) -> None:
        self.blocks: list[tuple[str, str]] = []
        self.headings: list[str] = []
        self._styles = document.styles.element
        self._numbering = _numbering_element(document)
        self._list_numbers: dict[int, int] = {}
        self._code_lines: list[str] = []

    def render(self, container) -> None:
        """Render the paragraphs and tables of a body (or content control) in order."""
        self._render_children(container)
        self._flush_code()

    def _render_children(self, container) -> None:
        for child in container.iterchildren():
            if child.tag == _W_P:
                self._paragraph(child)
            elif child.tag == _W_TBL:
                self._add("table", "\n".join(_docx_table_rows(child)))
            elif child.tag == _W_SDT:
                # Content controls (a table of contents, a form field) wrap ordinary paragraphs.
                for content in child.iterchildren(_W_SDT_CONTENT):
                    self._render_children(content)

    def _add(self, kind: str, text: str) -> None:
        self._flush_code()
        if kind != "item":
            self._list_numbers.clear()
        self.blocks.append((kind, text))

    def _flush_code(self) -> None:
        if self._code_lines:
            self.blocks.append(("code", fence_code("\n".join(self._code_lines))))
            self._code_lines = []

    def _paragraph(self, paragraph) -> None:
        text = _docx_paragraph_text(paragraph)
        if not text.strip():
            return
        styles = self._style_chain(paragraph)
        style_name = styles[0].name_val if styles else ""
        level = _docx_heading_level(paragraph, styles)
        if level is not None:
            title = _collapse(text)
            self._add("heading", heading_line(level, title))
            self.headings.append(title)
        elif style_name and _CODE_STYLE.search(style_name):
            self._code_lines.append(text.rstrip())
        elif (bullet := self._list_marker(paragraph, styles)) is not None:
            marker, depth = bullet
            self._add("item", "  " * depth + marker + text.strip())
        else:
            self._add("para", text.strip())

    def _style_chain(self, paragraph) -> list:
        """The paragraph's style followed by the styles it is based on."""
        chain = []
        style_id = _child_val(paragraph, "w:pPr", "w:pStyle")
        while style_id and len(chain) < 10:
            style = self._styles.get_by_id(style_id)
            if style is None or style in chain:
                break
            chain.append(style)
            style_id = style.basedOn_val
        return chain

    def _list_marker(self, paragraph, styles: list) -> tuple[str, int] | None:
        """("- " or "N. ", depth) when the paragraph is a list item, else None."""
        num_id = _child_val(paragraph, "w:pPr", "w:numPr", "w:numId")
        ilvl = _child_val(paragraph, "w:pPr", "w:numPr", "w:ilvl")
        for style in styles:
            if num_id is not None:
                break
            num_id = _child_val(style, "w:pPr", "w:numPr", "w:numId")
            ilvl = ilvl or _child_val(style, "w:pPr", "w:numPr", "w:ilvl")
        style_name = styles[0].name_val if styles else ""
        named = re.match(r"list (bullet|number)(?: (\d))?$", style_name or "", re.IGNORECASE)
        if num_id in (None, "0") and not named:
            return None
        depth = int(ilvl) if ilvl and ilvl.isdigit() else 0
        if named and named.group(2) and not ilvl:
            depth = int(named.group(2)) - 1
        if num_id not in (None, "0"):
            ordered = self._is_ordered(num_id, depth)
        else:
            ordered = named.group(1).lower() == "number"
        for deeper in [level for level in self._list_numbers if level > depth]:
            del self._list_numbers[deeper]
        if not ordered:
            return "- ", depth
        self._list_numbers[depth] = self._list_numbers.get(depth, 0) + 1
        return f"{self._list_numbers[depth]}. ", depth

    def _is_ordered(self, num_id: str, ilvl: int) -> bool:
        """Whether numbering `num_id` at level `ilvl` counts (1., a., i.) rather than bullets."""
        if self._numbering is None or not num_id.isdigit():  # the id goes into an XPath
            return False
        abstract = self._numbering.xpath(f'./w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val')
        if not abstract:
            return False
        formats = self._numbering.xpath(
            f'./w:abstractNum[@w:abstractNumId="{abstract[0]}"]/w:lvl[@w:ilvl="{ilvl}"]'
            "/w:numFmt/@w:val")
        return bool(formats) and formats[0] not in ("bullet", "none")


def _numbering_element(document):
    """The document's numbering definitions (w:numbering), or None without any."""
    try:
        return document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return None


def _child_val(element, *path: str) -> str | None:
    """The w:val of the element at `path` (tag names) under `element`, if present."""
    for tag in path:
        element = element.find(qn(tag)) if element is not None else None
    return element.get(_W_VAL) if element is not None else None


def _docx_heading_level(paragraph, styles: list) -> int | None:
    """Heading level 1-6 from the "Title" / "Heading N" style or an outline level, else None."""
    name = (styles[0].name_val or "") if styles else ""
    if name.lower() == "title":
        return 1
    match = re.match(r"heading\s*(\d)$", name, re.IGNORECASE)
    if match and int(match.group(1)) >= 1:
        return min(int(match.group(1)), 6)
    for element in [paragraph, *styles]:
        outline = _child_val(element, "w:pPr", "w:outlineLvl")
        if outline is not None:
            # Outline level 9 means "body text"; 0-8 are heading levels 1-9.
            return min(int(outline) + 1, 6) if outline.isdigit() and int(outline) < 9 else None
    return None


def _docx_paragraph_text(paragraph) -> str:
    """A paragraph's visible text: runs, tabs and line breaks (not deleted text)."""
    parts: list[str] = []
    for element in _docx_text_elements(paragraph):
        if element.tag == _W_T:
            parts.append(element.text or "")
        elif element.tag == _W_TAB:
            parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


def _docx_text_elements(element) -> Iterator:
    """The w:t / w:tab / w:br / w:cr run elements under `element`, in reading order."""
    for child in element.iterchildren():
        if child.tag in _DOCX_SKIPPED:
            continue
        if child.tag in (_W_T, _W_TAB, _W_BR, _W_CR) and child.getparent().tag == _W_R:
            yield child
        else:
            yield from _docx_text_elements(child)


def _docx_table_rows(table) -> list[str]:
    """One ' | '-joined line per table row with any text; merged cells once."""
    rows = []
    for row in table.iter(_W_TR):
        if row.getparent() is not table:
            continue  # a nested table's rows: their text is already in the outer cell
        cells = [_collapse(" ".join(_docx_paragraph_text(p) for p in cell.iter(_W_P)))
                 for cell in row.iterchildren(_W_TC)]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d+(?:\s*(?:of|/)\s*\d+)?$|^[-\u2013]\s*\d+\s*[-\u2013]$",
                          re.IGNORECASE)
_PDF_BULLET = re.compile(
    r"^(?:[\u2022\u25e6\u25aa\u2023\u2043\u25cf*\u2013-]|(\d{1,3})[.)])\s+(.*)$")
_SENTENCE_END = (".", "!", "?", ":", ";")


def _extract_pdf(content: bytes) -> _Extraction:
    """A PDF's text layer regrouped into paragraphs, with outline titles as headings."""
    reader = PdfReader(io.BytesIO(content), strict=False)
    _unlock_pdf(reader)
    outline = _PdfOutline(reader)
    page_texts = _pdf_page_texts(reader)
    if not any(text.strip() for text in page_texts):
        if not page_texts:
            raise _Rejected("skipped", "empty: the PDF has no pages; attach a version with content")
        raise _Rejected("skipped", "no text layer: the PDF holds only images (a scan?); "
                                   "attach an OCR'd or text-based PDF")
    blocks: list[tuple[str, str]] = []
    headings: list[str] = []
    for index, text in enumerate(page_texts):
        blocks.extend(_pdf_page_blocks(text, partial(outline.match, page=index), headings))
    return _Extraction(join_blocks(blocks), tuple(headings))


def _unlock_pdf(reader: PdfReader) -> None:
    """Open an encrypted PDF with the empty password, or reject it as password-protected."""
    if not reader.is_encrypted:
        return
    try:
        unlocked = bool(reader.decrypt(""))
    except DependencyError:
        raise _Rejected("skipped", "encrypted PDF: the file uses AES encryption that cannot be "
                                   "opened here; attach an unprotected copy") from None
    except Exception:  # a broken encryption dictionary: as locked as a real password
        unlocked = False
    if not unlocked:
        raise _Rejected("skipped", "encrypted PDF: the file is password-protected; "
                                   "attach an unprotected copy")


def _pdf_page_texts(reader: PdfReader) -> list[str]:
    """Text of every page, by page index; a page that cannot be read counts as empty, unless
    none can be read, in which case the first page's error is raised."""
    texts: list[str] = []
    errors: list[Exception] = []
    for page in reader.pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception as error:  # one bad page should not lose the rest
            texts.append("")
            errors.append(error)
    if errors and len(errors) == len(texts):
        raise errors[0]
    return texts


class _PdfOutline:
    """Bookmark titles by page, so that matching text lines can be marked as headings."""

    def __init__(self, reader: PdfReader) -> None:
        self._by_page: dict[int | None, list[tuple[str, str, int]]] = {}
        try:
            self._walk(reader, reader.outline, 1)
        except Exception:  # a broken outline only costs us the headings
            self._by_page = {}

    def _walk(self, reader: PdfReader, items: list, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                self._walk(reader, item, depth + 1)
                continue
            title = _collapse(str(getattr(item, "title", "") or ""))
            if not title:
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:
                page = None
            page = page if isinstance(page, int) and page >= 0 else None
            self._by_page.setdefault(page, []).append((title.casefold(), title, min(depth, 6)))

    def match(self, line: str, page: int) -> tuple[str, int] | None:
        """(title, level) of the first unmatched bookmark on `page` (or of unknown page)
        whose title is `line`; it is then used up."""
        key = _collapse(line).casefold()
        for candidates in (self._by_page.get(page, []), self._by_page.get(None, [])):
            for index, (folded, title, level) in enumerate(candidates):
                if folded == key:
                    del candidates[index]
                    return title, level
        return None


def _pdf_page_blocks(text: str, match_heading: Callable[[str], tuple[str, int] | None],
                     headings: list[str]) -> list[tuple[str, str]]:
    """One page's lines regrouped into paragraphs, list items and outline headings
    (`match_heading` says which lines are bookmarked headings; they are added to `headings`)."""
    lines = _drop_page_numbers([line.strip() for line in text.replace("\r", "\n").split("\n")])
    typical = _typical_line_length(lines)
    blocks: list[tuple[str, str]] = []
    current: list[str] = []
    kind = "para"

    def flush() -> None:
        if current:
            blocks.append((kind, _join_pdf_lines(current)))
            current.clear()

    previous = None
    for line in lines:
        heading = match_heading(line) if line else None
        bullet = _PDF_BULLET.match(line)
        if not line or heading:
            flush()
            if heading:
                blocks.append(("heading", heading_line(heading[1], heading[0])))
                headings.append(heading[0])
            previous = None
            continue
        if bullet:
            flush()
            kind = "item"
            marker = f"{bullet.group(1)}. " if bullet.group(1) else "- "
            current.append(marker + bullet.group(2))
        else:
            if current and previous and _ends_paragraph(previous, line, typical):
                flush()
            if not current:
                kind = "para"
            current.append(line)
        previous = line
    flush()
    return blocks


def _drop_page_numbers(lines: list[str]) -> list[str]:
    """The page's lines without blank edges or a page-number first/last line."""
    while lines and not lines[0]:
        lines = lines[1:]
    while lines and not lines[-1]:
        lines = lines[:-1]
    if lines and _PAGE_NUMBER.match(lines[-1]):
        lines = lines[:-1]
    if lines and _PAGE_NUMBER.match(lines[0]):
        lines = lines[1:]
    return lines


def _typical_line_length(lines: list[str]) -> int:
    """The length of a full line on the page (80th percentile of lengths)."""
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return 1
    return max(1, lengths[int(0.8 * (len(lengths) - 1))])


def _ends_paragraph(previous: str, line: str, typical: int) -> bool:
    """Whether a paragraph ends after `previous`: a short line that closes a sentence, or a
    short line followed by one that starts like a new paragraph."""
    if len(previous) >= 0.75 * typical:
        return False
    return previous.endswith(_SENTENCE_END) or line[:1].isupper() or line[:1].isdigit()


def _join_pdf_lines(lines: list[str]) -> str:
    """Lines of one paragraph as one line, re-joining words hyphenated across line ends."""
    text = lines[0]
    for line in lines[1:]:
        if text.endswith("\xad"):
            text = text[:-1] + line
        elif len(text) > 1 and text[-1] == "-" and text[-2].isalpha() and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return text


_EXTRACTORS: dict[str, Callable[[bytes], _Extraction]] = {
    "markdown": _extract_markdown,
    "text": _extract_text_file,
    "html": _extract_html,
    "docx": _extract_docx,
    "pdf": _extract_pdf,
}
