"""`DocumentFormat`: everything the pipeline knows about one kind of file, in one object.

Each readable format's module defines its `FORMAT`; `unreadable` defines the kinds we
recognise only to refuse them; `registry` collects both and is the only place that maps
extensions, MIME types and magic bytes to a format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from impacting.sources.documents.result import Extraction

# Reads a document's bytes; raises `Rejected` for a known problem, anything else for corruption.
Extractor = Callable[[bytes], Extraction]


@dataclass(frozen=True)
class DocumentFormat:
    """One kind of file: how to recognise it, and how to read it or what to say instead.

    `name` is what `ExtractedText.format` reports; `label` is how messages name the format.
    `extensions` and `mime_types` are the names that claim it. The content proves it by a
    `signature` (a test on the leading bytes), or, inside a ZIP or OLE2 container, by holding
    one of `zip_members` (byte strings: member names or an ODF mimetype) or `ole2_streams`
    (stream names, most telling first). A readable format has `extract`; one without has
    `refusal`, the reason the user is given.
    """

    name: str
    label: str
    extensions: tuple[str, ...] = ()
    mime_types: tuple[str, ...] = ()
    signature: Callable[[bytes], bool] | None = None
    zip_members: tuple[bytes, ...] = ()
    ole2_streams: tuple[str, ...] = ()
    extract: Extractor | None = None
    refusal: str = ""

    def __post_init__(self) -> None:
        if (self.extract is None) == (not self.refusal):
            raise ValueError(f"format {self.name!r} needs exactly one of extract and refusal")

    @property
    def readable(self) -> bool:
        """Whether we can extract text from this format."""
        return self.extract is not None


def starts_with(*magics: bytes) -> Callable[[bytes], bool]:
    """A signature test: the content starts with one of `magics`."""
    return lambda content: content.startswith(magics)
