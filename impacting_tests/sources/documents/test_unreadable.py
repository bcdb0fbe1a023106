"""Kinds we recognise only to refuse: each gets a reason that says what to do instead."""

from __future__ import annotations

import pytest

from impacting.sources.documents import extract_text
from impacting_tests.sources.documents.builders import OLE2, PNG, assert_not_ok


def test_encrypted_ooxml_is_skipped():
    content = OLE2 + "EncryptedPackage".encode("utf-16-le") + bytes(64)
    result = extract_text(content, "design.docx")
    assert result.format == "encrypted-ooxml"
    assert_not_ok(result, "skipped", "password-protected", "unprotected copy")


def test_png_is_unsupported():
    result = extract_text(PNG, "screenshot.png", "image/png")
    assert result.format == "png"
    assert_not_ok(result, "skipped", "unsupported format 'png'",
                  "convert it to Markdown, text, HTML, DOCX or PDF")


def test_legacy_doc_is_unsupported_with_its_own_fix():
    result = extract_text(OLE2 + "WordDocument".encode("utf-16-le"), "old.doc")
    assert result.format == "doc"
    assert_not_ok(result, "skipped", "unsupported format 'doc'", "save it as .docx or PDF")


@pytest.mark.parametrize("name", ["design.odt", "design.rtf", "archive.zip", "sheet.xlsx",
                                  "deck.pptx", "photo.jpeg"])
def test_other_document_archive_and_image_kinds_are_unsupported(name):
    result = extract_text(b"not really that format", name)
    kind = name.rsplit(".", 1)[1]
    assert result.format == kind
    assert_not_ok(result, "skipped", f"unsupported format '{kind}'", "convert it to Markdown")
