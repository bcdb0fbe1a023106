"""Plain text documents: the decoded text as it is (normalisation happens in `extract_text`).

Plain text has no markup, so it has no headings either.
"""

from __future__ import annotations

from impacting.sources.documents.decoding import decode_document, normalise_text
from impacting.sources.documents.format import DocumentFormat
from impacting.sources.documents.result import Extraction


def extract_plain_text(content: bytes) -> Extraction:
    """The text as is (normalised), without headings."""
    return Extraction(normalise_text(decode_document(content, FORMAT.label)), ())


FORMAT = DocumentFormat(
    name="text",
    label="text",
    extensions=("txt", "text"),
    mime_types=("text/plain",),
    extract=extract_plain_text,
)
