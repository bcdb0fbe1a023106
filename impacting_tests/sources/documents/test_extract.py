"""`extract_text` as a whole: the result it returns, and the checks every format shares
(empty files, size limit, never raising)."""

from __future__ import annotations

import random

import pytest

from impacting.sources.documents import DOCUMENT_FORMATS, ExtractedText, extract_text
from impacting_tests.sources.documents.builders import assert_not_ok


def test_document_formats_maps_readable_extensions():
    assert DOCUMENT_FORMATS == {
        "md": "markdown", "markdown": "markdown", "txt": "text", "text": "text",
        "html": "html", "htm": "html", "docx": "docx", "pdf": "pdf",
    }


def test_ok_result_counts_words_and_has_no_reason():
    result = extract_text(b"one two\nthree", "notes.txt")
    assert result == ExtractedText("one two\nthree", "text", "ok", None, (), 3)


def test_empty_file_is_skipped():
    assert_not_ok(extract_text(b"", "design.md"), "skipped", "empty:", "0 bytes")


def test_whitespace_only_text_is_skipped():
    result = extract_text(b" \r\n\t \n\n ", "notes.txt")
    assert result.format == "text"
    assert_not_ok(result, "skipped", "empty:", "no text")


def test_max_bytes_skips_large_files_naming_size_and_limit():
    result = extract_text(b"x" * 2048, "big.txt", max_bytes=1000)
    assert result.format == "text"
    assert_not_ok(result, "skipped", "too large", "2,048 bytes", "1,000-byte limit")
    assert extract_text(b"x" * 1000, "ok.txt", max_bytes=1000).status == "ok"


@pytest.mark.parametrize("name", ["a.md", "a.txt", "a.html", "a.docx", "a.pdf", "a.bin", "a"])
def test_random_bytes_never_raise(name):
    generator = random.Random(name)
    for size in (1, 7, 300, 5000):
        content = bytes(generator.randrange(256) for _ in range(size))
        for prefix in (b"", b"%PDF-1.4\n", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
            result = extract_text(prefix + content, name)
            assert result.status in ("ok", "skipped", "failed")
            assert (result.reason is None) == (result.status == "ok")
