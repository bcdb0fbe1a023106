"""Which format a document is in, from its bytes, its file name and its MIME type.

The evidence is weighed in order of trust: magic bytes (the content cannot lie about being a
PDF or a ZIP), then the file name's extension (people name files on purpose, while upload
tools guess MIME types), then the MIME type, and last a look at the content itself.
"""

from __future__ import annotations

import re

from impacting.sources.documents.decoding import decode_text, looks_binary
from impacting.sources.documents.registry import (
    FORMATS,
    format_for_extension,
    kind_for_mime,
)
from impacting.sources.documents.unreadable import ENCRYPTED_OFFICE

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


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
    by_extension = format_for_extension(extension)
    if by_extension is not None:
        return by_extension.name
    from_mime = kind_for_mime(mime_type)
    if from_mime is not None:
        return from_mime
    return _sniff_text_format(content)


def _extension(file_name: str | None) -> str:
    """The file name's extension, lower case, without the dot ('' when none)."""
    base = re.split(r"[\\/]", file_name or "")[-1]
    return base.rsplit(".", 1)[-1].strip().lower() if "." in base else ""


def _format_from_magic(content: bytes, extension: str) -> str | None:
    """The format the leading bytes prove, or None when they prove nothing."""
    for fmt in FORMATS:
        if fmt.signature is not None and fmt.signature(content):
            return fmt.name
    if content.startswith(_ZIP_MAGIC):
        return _zip_kind(content, extension)
    if content.startswith(_OLE2_MAGIC):
        return _ole2_kind(content, extension)
    return None


def _zip_kind(content: bytes, extension: str) -> str | None:
    """What a ZIP container holds (docx, xlsx, odt...), from its member names; None to let
    the file name decide."""
    # Member names sit uncompressed in the local headers, so a byte search also works on
    # truncated archives that zipfile cannot open.
    for fmt in FORMATS:
        if any(member in content for member in fmt.zip_members):
            return fmt.name
    # A zip we cannot place: trust a name that claims a ZIP-based document (so that the reader
    # reports a broken .docx as corrupt) or a kind we refuse anyway; otherwise it is an archive.
    claimed = format_for_extension(extension)
    if claimed is not None and (claimed.zip_members or not claimed.readable):
        return None
    return "zip"


def _ole2_kind(content: bytes, extension: str) -> str:
    """What an OLE2 (legacy Office) container is: encrypted OOXML, or doc/xls/ppt..."""
    # Encryption is what the user must hear about, whatever the file is called.
    if _holds_stream(content, ENCRYPTED_OFFICE.ole2_streams[0]):
        return ENCRYPTED_OFFICE.name
    claimed = format_for_extension(extension)
    if claimed is not None and not claimed.readable:  # .doc/.xls/.ppt, or another OLE2 kind (.msg)
        return claimed.name
    # Every format's most telling stream before any format's fallback stream.
    depth = max(len(fmt.ole2_streams) for fmt in FORMATS)
    for rank in range(depth):
        for fmt in FORMATS:
            if fmt is not ENCRYPTED_OFFICE and rank < len(fmt.ole2_streams) \
                    and _holds_stream(content, fmt.ole2_streams[rank]):
                return fmt.name
    return "ole2"


def _holds_stream(content: bytes, stream: str) -> bool:
    """Whether an OLE2 file names `stream` (directory entries are UTF-16-LE)."""
    return stream.encode("utf-16-le") in content


def _sniff_text_format(content: bytes) -> str:
    """'html' or 'text' for readable text, 'unknown' for anything else."""
    if not content:
        return "unknown"
    text = decode_text(content[:65536])
    if looks_binary(text):
        return "unknown"
    head = text[:1024].lstrip().lower()
    if head.startswith(("<!doctype html", "<html")) or "<body" in head:
        return "html"
    return "text"
