"""What reading a document produces: the public `ExtractedText`, and the two ways an
extractor reports back to `extract_text` (an `Extraction`, or a `Rejected` exception)."""

from __future__ import annotations

from dataclasses import dataclass

# The fix for any document we cannot read: turn it into a format we can.
CONVERT_FIX = "convert it to Markdown, text, HTML, DOCX or PDF"


@dataclass(frozen=True)
class ExtractedText:
    """The outcome of reading one document: its clean text, or why there is none."""

    text: str
    format: str
    status: str
    reason: str | None
    headings: tuple[str, ...]
    word_count: int


@dataclass(frozen=True)
class Extraction:
    """What an extractor found: the text (not yet normalised) and its headings."""

    text: str
    headings: tuple[str, ...]


class Rejected(Exception):
    """Raised inside an extractor when the document cannot yield text, for a known reason.

    `status` is "skipped" (nothing wrong with the file, but no text for us: encrypted, a scan)
    or "failed" (the file is broken); `reason` is the message the user sees.
    """

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def not_ok(fmt: str, status: str, reason: str) -> ExtractedText:
    """A result with no text, for a document that was skipped or failed."""
    return ExtractedText("", fmt, status, reason, (), 0)


def describe_error(error: BaseException) -> str:
    """`ClassName: message`, on one line and of bounded length (it ends up in a table cell)."""
    message = " ".join(str(error).split())
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
