"""The registry of document formats: the one place that maps names, extensions and MIME types
to a `DocumentFormat`, readable or not.

Adding a format means writing its module (with a `FORMAT`) and listing it in `FORMATS`;
detection, extraction and the messages all follow from the format object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from impacting.sources.documents import docx, html, markdown, pdf, plain_text
from impacting.sources.documents.format import DocumentFormat
from impacting.sources.documents.unreadable import UNREADABLE_FORMATS, unsupported_reason

# Readable formats first. Order is detection priority where a container could match several
# formats (see `detection`), and the order of `DOCUMENT_FORMATS`.
FORMATS: tuple[DocumentFormat, ...] = (
    markdown.FORMAT,
    plain_text.FORMAT,
    html.FORMAT,
    docx.FORMAT,
    pdf.FORMAT,
    *UNREADABLE_FORMATS,
)


def _index(keys: Callable[[DocumentFormat], Iterable[str]]) -> dict[str, DocumentFormat]:
    """Formats by each of their keys; a key claimed twice is a bug in the table above."""
    index: dict[str, DocumentFormat] = {}
    for fmt in FORMATS:
        for key in keys(fmt):
            if key in index:
                raise ValueError(f"{key!r} claimed by both {index[key].name!r} and {fmt.name!r}")
            index[key] = fmt
    return index


_BY_NAME = _index(lambda fmt: (fmt.name,))
_BY_EXTENSION = _index(lambda fmt: fmt.extensions)
_BY_MIME = _index(lambda fmt: fmt.mime_types)

# The extensions we can read, and the format each one names (part of the public API).
DOCUMENT_FORMATS: dict[str, str] = {
    extension: fmt.name for fmt in FORMATS if fmt.readable for extension in fmt.extensions
}


def format_named(name: str) -> DocumentFormat | None:
    """The registered format called `name`, or None."""
    return _BY_NAME.get(name)


def format_for_extension(extension: str) -> DocumentFormat | None:
    """The format a (lower-case, dot-less) extension claims, or None."""
    return _BY_EXTENSION.get(extension)


def kind_for_mime(mime_type: str | None) -> str | None:
    """The format or kind a MIME type names (parameters ignored), or None."""
    mime = (mime_type or "").split(";")[0].strip().lower()
    if mime in _BY_MIME:
        return _BY_MIME[mime].name
    # Every image is refused; the subtype names the kind ("image/svg+xml" -> "svg").
    if mime.startswith("image/"):
        return mime.split("/", 1)[1].split("+")[0] or "image"
    return None


def refusal(kind: str) -> str:
    """What to tell the user about a kind we cannot read (registered or not)."""
    fmt = _BY_NAME.get(kind)
    return fmt.refusal if fmt is not None and fmt.refusal else unsupported_reason(kind)
