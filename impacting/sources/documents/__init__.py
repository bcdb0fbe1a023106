"""Design-document bytes -> clean, Markdown-style plain text.

`extract_text` is the entry point. It never raises for bad content: every problem becomes an
`ExtractedText` with status "skipped" (unsupported, empty, encrypted, too large) or "failed"
(corrupt), and a reason naming the problem and what the user can do about it.

Output conventions, shared by every format (and by `impacting.sources.markup`), are those of
`blocks`: `#` heading lines, blank lines between paragraphs, `- ` / `1. ` list items, fenced
code, and table rows with cells joined by " | ".

Layout: one module per format (`markdown`, `plain_text`, `html`, `docx`, `pdf`, and
`unreadable` for the kinds we refuse), each describing itself as a `DocumentFormat`;
`registry` lists them all; `detection` picks one for a file; `extract` runs it. `decoding`,
`blocks` and `result` are shared by the formats.
"""

from impacting.sources.documents.blocks import (
    fence_code,
    heading_line,
    join_blocks,
    list_item_lines,
)
from impacting.sources.documents.decoding import decode_text, normalise_text
from impacting.sources.documents.detection import detect_format
from impacting.sources.documents.extract import extract_text
from impacting.sources.documents.registry import DOCUMENT_FORMATS
from impacting.sources.documents.result import ExtractedText
from impacting.sources.documents.unreadable import ENCRYPTED_OOXML

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
