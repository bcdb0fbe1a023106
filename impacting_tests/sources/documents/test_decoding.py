"""Plain text documents: decoding (BOMs, UTF-16, cp1252, latin-1) and normalisation."""

from __future__ import annotations

import pytest

from impacting.sources.documents import decode_text, extract_text, normalise_text
from impacting_tests.sources.documents.builders import assert_not_ok


def test_text_is_normalised():
    raw = b"\xef\xbb\xbfTitle  \r\nline\x00 two\ttab\x07\r\n\r\n\r\n\r\n\r\nend\x0cpage\r\n\r\n"
    result = extract_text(raw, "notes.txt")
    assert result.text == "Title\nline two\ttab\n\nend\npage"
    assert result.headings == ()


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_text_with_a_bom_is_decoded(codec):
    text = "Café – naïve résumé\nSecond line"
    content = text.encode(codec)
    if codec == "utf-16-be":
        content = b"\xfe\xff" + content
    result = extract_text(content, "notes.txt")
    assert result.status == "ok"
    assert result.text == text


def test_text_in_bomless_utf16_is_decoded():
    assert decode_text("Plain notes here".encode("utf-16-le")) == "Plain notes here"


def test_text_in_cp1252_is_decoded():
    content = "Café – naïve “quotes” €5".encode("cp1252")
    result = extract_text(content, "notes.txt")
    assert result.text == "Café – naïve “quotes” €5"


def test_undecodable_bytes_fall_back_to_latin1():
    # 0x81 is undefined in cp1252, so only latin-1 can read it; the result is a control
    # character, which normalisation then removes.
    assert decode_text(b"caf\xe9 \x81ok") == "caf\xe9 \x81ok"
    assert extract_text(b"caf\xe9 \x81ok", "n.txt").text == "café ok"


def test_normalise_collapses_blank_lines_and_strips_edges():
    assert normalise_text("\n\n a  \n\n\n\nb\u00a0\u2028c\n\n") == " a\n\nb\nc"


def test_binary_named_as_text_fails():
    result = extract_text(bytes(range(256)) * 8, "notes.txt")
    assert_not_ok(result, "failed", "not text", "binary")
