"""Format detection: magic bytes, then the extension, then the MIME type, then the content."""

from __future__ import annotations

import pytest

from impacting.sources.documents import detect_format, extract_text
from impacting_tests.sources.documents.builders import (
    OLE2,
    PNG,
    build_design_docx,
    make_docx,
    make_pdf,
    make_zip,
)


@pytest.mark.parametrize("content, name, expected", [
    (make_pdf([["Hello world"]]), "notes.txt", "pdf"),
    (make_docx(build_design_docx), "design.md", "docx"),
    (PNG, "design.pdf", "png"),
    (OLE2 + "WordDocument".encode("utf-16-le"), "design.docx", "doc"),
    (make_zip({"xl/workbook.xml": b"<x/>"}), "design.docx", "xlsx"),
    (make_zip({"a.txt": b"x"}), "design.md", "zip"),
    (OLE2 + "__substg1.0_0037001F".encode("utf-16-le"), "mail.msg", "msg"),
    (OLE2, "mystery", "ole2"),
])
def test_magic_bytes_beat_the_file_name(content, name, expected):
    assert detect_format(name, "text/plain", content) == expected


def test_pdf_named_as_text_is_read_as_pdf():
    result = extract_text(make_pdf([["Hello world"]]), "notes.txt", "text/plain")
    assert (result.format, result.status, result.text) == ("pdf", "ok", "Hello world")


@pytest.mark.parametrize("name, mime, content, expected", [
    ("README", "text/markdown", b"# Title", "markdown"),
    ("design", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     b"junk", "docx"),
    ("page", "text/html; charset=utf-8", b"x", "html"),
    ("notes.txt", "text/html", b"x", "text"),
    ("blob", None, b"<!doctype html><p>x</p>", "html"),
    ("blob", "application/octet-stream", b"plain words", "text"),
    ("blob.xyz", None, bytes(range(256)) * 4, "unknown"),
    ("photo", "image/jpeg", b"\x00\x01", "jpeg"),
])
def test_extension_then_mime_then_content(name, mime, content, expected):
    assert detect_format(name, mime, content) == expected
