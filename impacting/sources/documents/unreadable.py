"""Kinds of file we recognise only to refuse them, and what to tell the user about each.

Such a kind is named after its extension ("png", "doc", ...), so that the reason can quote
what the user attached, and says why it cannot be read and what to do instead. Recognising
them, rather than trying them as text, is what turns "corrupt" into a useful answer.
"""

from __future__ import annotations

from impacting.sources.documents.format import DocumentFormat, starts_with
from impacting.sources.documents.result import CONVERT_FIX

# The format reported for password-protected Word/Excel/PowerPoint files (an OLE2 wrapper).
ENCRYPTED_OOXML = "encrypted-ooxml"

_IMAGES = "images have no text to read"
_ARCHIVES = "archives are not unpacked"
_SPREADSHEETS = "spreadsheets are not read as documents"
_PRESENTATIONS = "presentations are not read as documents"
_OTHER_DOCUMENTS = "this document type cannot be read"
_MEDIA = "audio and video have no text to read"
_LEGACY_OFFICE = "legacy binary Office files cannot be read"
_UNKNOWN = "files of this type cannot be read"

# Word, Excel and PowerPoint read the modern formats, so a re-save is the easiest fix.
_SAVE_AS_DOCX = "save it as .docx or PDF"


def unsupported_reason(kind: str, why: str = _UNKNOWN, fix: str = CONVERT_FIX) -> str:
    """The reason given for a document of a kind we cannot read."""
    return f"unsupported format '{kind}': {why}; {fix}"


def _kind(name: str, why: str, fix: str = CONVERT_FIX, **detection) -> DocumentFormat:
    """An unreadable kind, claimed by the extension of the same name (and `detection`)."""
    return DocumentFormat(name=name, label=name, extensions=(name,),
                          refusal=unsupported_reason(name, why, fix), **detection)


def _kinds(why: str, *names: str) -> tuple[DocumentFormat, ...]:
    """Unreadable kinds recognised by their extension alone."""
    return tuple(_kind(name, why) for name in names)


ENCRYPTED_OFFICE = DocumentFormat(
    name=ENCRYPTED_OOXML,
    label="encrypted Office document",
    ole2_streams=("EncryptedPackage",),
    refusal="encrypted Office document: the file is password-protected; "
            "attach an unprotected copy saved as .docx or PDF",
)

# The order matters where one container could match several kinds: a ZIP is placed by the
# first kind here whose member it holds, an OLE2 file by the first whose stream it holds.
UNREADABLE_FORMATS: tuple[DocumentFormat, ...] = (
    ENCRYPTED_OFFICE,
    # Office Open XML, OpenDocument and EPUB: ZIP containers.
    _kind("xlsx", _SPREADSHEETS, zip_members=(b"xl/workbook.xml",), mime_types=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)),
    _kind("pptx", _PRESENTATIONS, zip_members=(b"ppt/presentation.xml",), mime_types=(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",)),
    _kind("odt", _OTHER_DOCUMENTS, zip_members=(b"application/vnd.oasis.opendocument.text",),
          mime_types=("application/vnd.oasis.opendocument.text",)),
    _kind("ods", _SPREADSHEETS, zip_members=(b"application/vnd.oasis.opendocument.spreadsheet",),
          mime_types=("application/vnd.oasis.opendocument.spreadsheet",)),
    _kind("odp", _PRESENTATIONS, zip_members=(b"application/vnd.oasis.opendocument.presentation",),
          mime_types=("application/vnd.oasis.opendocument.presentation",)),
    _kind("epub", _OTHER_DOCUMENTS, zip_members=(b"application/epub+zip",),
          mime_types=("application/epub+zip",)),
    # Legacy binary Office files: OLE2 containers.
    _kind("doc", _LEGACY_OFFICE, _SAVE_AS_DOCX, ole2_streams=("WordDocument",),
          mime_types=("application/msword",)),
    _kind("dot", _LEGACY_OFFICE, _SAVE_AS_DOCX),
    # "Book" (Excel 5) is short enough to turn up in ordinary UTF-16 text, so it comes last.
    _kind("xls", _LEGACY_OFFICE, _SAVE_AS_DOCX, ole2_streams=("Workbook", "Book"),
          mime_types=("application/vnd.ms-excel",)),
    _kind("xlt", _LEGACY_OFFICE, _SAVE_AS_DOCX),
    _kind("ppt", _LEGACY_OFFICE, _SAVE_AS_DOCX, ole2_streams=("PowerPoint Document",),
          mime_types=("application/vnd.ms-powerpoint",)),
    *(_kind(name, _LEGACY_OFFICE, _SAVE_AS_DOCX) for name in ("pps", "pot")),
    # Images. Any other image/* MIME type is refused too (see `registry.format_for_mime`).
    _kind("png", _IMAGES, signature=starts_with(b"\x89PNG\r\n\x1a\n")),
    _kind("jpg", _IMAGES, signature=starts_with(b"\xff\xd8\xff")),
    _kind("gif", _IMAGES, signature=starts_with(b"GIF87a", b"GIF89a")),
    _kind("tiff", _IMAGES, signature=starts_with(b"II*\x00", b"MM\x00*")),
    _kind("webp", _IMAGES, signature=lambda content: content[:4] == b"RIFF" and content[8:12] == b"WEBP"),
    *_kinds(_IMAGES, "jpeg", "bmp", "tif", "svg", "heic", "ico"),
    # Archives. A ZIP that holds no kind above is an archive (see `detection`).
    _kind("zip", _ARCHIVES, mime_types=("application/zip",)),
    _kind("gz", _ARCHIVES, signature=starts_with(b"\x1f\x8b"), mime_types=("application/gzip",)),
    _kind("7z", _ARCHIVES, signature=starts_with(b"7z\xbc\xaf\x27\x1c"),
          mime_types=("application/x-7z-compressed",)),
    _kind("rar", _ARCHIVES, signature=starts_with(b"Rar!\x1a\x07"), mime_types=("application/vnd.rar",)),
    *_kinds(_ARCHIVES, "tgz", "tar", "bz2", "xz"),
    # Other spreadsheets, presentations and documents.
    _kind("csv", _SPREADSHEETS, mime_types=("text/csv",)),
    *_kinds(_SPREADSHEETS, "xlsm", "tsv", "numbers"),
    *_kinds(_PRESENTATIONS, "key"),
    _kind("rtf", _OTHER_DOCUMENTS, signature=starts_with(b"{\\rtf"),
          mime_types=("application/rtf", "text/rtf")),
    # "ole2" is the kind of an OLE2 file none of the streams above identify.
    *_kinds(_OTHER_DOCUMENTS, "pages", "wpd", "msg", "eml", "ole2"),
    *_kinds(_MEDIA, "mp3", "mp4", "mov", "wav", "avi", "mkv"),
)
