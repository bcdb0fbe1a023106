"""How much one document may cost: bytes inflated, words kept, seconds and memory to read it.

A design document is at most a few tens of thousands of words. Anything far beyond that is a
mistake or an attack (a 1 MB DOCX that inflates to 400 MB of XML), and must never stall the
nightly run or be embedded whole: it is rejected or truncated, with a reason, here.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from impacting.settings import SourceSettings, var
from impacting.sources.documents.result import Rejected

_DEFAULTS = SourceSettings()


@dataclass(frozen=True)
class ExtractionLimits:
    """Per-document bounds (None: unbounded)."""

    max_uncompressed_bytes: int | None = _DEFAULTS.document_max_uncompressed_bytes
    max_words: int | None = _DEFAULTS.document_max_words
    timeout_seconds: float | None = _DEFAULTS.document_timeout_seconds
    max_memory_bytes: int | None = _DEFAULTS.document_max_memory_mb * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: SourceSettings) -> ExtractionLimits:
        return cls(settings.document_max_uncompressed_bytes, settings.document_max_words,
                   settings.document_timeout_seconds, settings.document_max_memory_mb * 1024 * 1024)


UNBOUNDED = ExtractionLimits(None, None, None, None)


def check_archive(content: bytes, limit: int | None, label: str) -> None:
    """Reject a ZIP-based document (DOCX) whose members would inflate past `limit` bytes.

    The sizes come from the archive's directory; a member that lies about its size cannot
    inflate past what it declares (reading stops there and the checksum fails), so this bound
    holds before a single byte is decompressed.
    """
    if limit is None:
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not an archive: the format's own reader says what is wrong
    inflated = sum(member.file_size for member in archive.infolist())
    if inflated > limit:
        setting_name = var("source.document_max_uncompressed_bytes")
        raise Rejected("skipped",
                       f"too large once unpacked: the {label} file would inflate to {inflated:,} "
                       f"bytes, over the {limit:,}-byte limit ({setting_name}); it may be a "
                       "compression bomb: attach a smaller copy or split the document")


_WORD = re.compile(r"\S+")


def truncate_words(text: str, max_words: int | None) -> tuple[str, int, int]:
    """`text` cut after its `max_words`-th word (lines kept as they are), with the words kept
    and the words it had."""
    if max_words is None:
        return text, -1, -1
    total = 0
    cut = None
    for total, match in enumerate(_WORD.finditer(text), start=1):
        if total == max_words:
            cut = match.end()
        elif total > max_words:
            break
    if cut is None or total <= max_words:
        return text, total, total
    return text[:cut], max_words, len(text.split())


def truncation_reason(kept: int, total: int) -> str:
    return (f"truncated: kept the first {kept:,} of {total:,} words (the limit, "
            f"{var('source.document_max_words')}); split the document or raise the limit to read "
            "all of it")


def out_of_memory(label: str) -> str:
    return (f"too large to read: the {label} file needs more memory than the limit "
            f"({var('source.document_max_memory_mb')}); it may be a compression bomb: attach a "
            "smaller copy or split the document")


def timed_out(seconds: float) -> str:
    return (f"took too long to read: still not done after {seconds:g} s (the limit, "
            f"{var('source.document_timeout_seconds')}); re-save it in a simpler format (e.g. PDF "
            "to DOCX or Markdown) or split it")
