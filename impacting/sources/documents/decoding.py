"""Bytes -> text for the text-based formats, and the normalisation every extracted text gets.

`decode_text` never fails: it always returns some reading of the bytes. Whether that reading
is text at all is a separate question, answered by `looks_binary`.
"""

from __future__ import annotations

import re

from impacting.sources.documents.result import CONVERT_FIX, Rejected

_BOMS = [
    # UTF-32-LE first: its BOM starts with the UTF-16-LE one.
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
]


def decode_text(content: bytes) -> str:
    """Bytes -> str, never failing: BOM, BOM-less UTF-16, UTF-8, then the legacy encoding a
    detector (charset-normalizer) finds (Windows-1251 Cyrillic, Shift-JIS, GB18030, ...), with
    Windows-1252 preferred among the Western code pages it cannot tell apart, then latin-1."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content[len(bom):].decode(codec, errors="replace")
    utf16 = _bomless_utf16(content)
    if utf16 is not None:
        return utf16
    for codec in ("utf-8", *_detected(content)):
        try:
            return content.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    return content.decode("latin-1")


# Single-byte code pages a detector confuses on short Western text; Windows-1252 is by far the
# most common of them, so it is the one used when any of them is detected.
_WESTERN = frozenset({"cp1252", "cp1250", "cp1257", "cp775", "latin_1", "iso8859_2", "iso8859_15",
                      "mac_roman", "mac_latin2", "mac_iceland", "cp437", "cp850", "cp852",
                      "hp_roman8"})
# Multibyte encodings are self-evident when they decode cleanly, even without a known language.
_MULTIBYTE = frozenset({"cp932", "shift_jis", "euc_jp", "iso2022_jp", "gb18030", "gb2312", "gbk",
                        "big5", "big5hkscs", "euc_kr", "cp949"})


def _detected(content: bytes) -> list[str]:
    """Encodings to try after UTF-8, most likely first, as charset-normalizer sees the content."""
    from charset_normalizer import from_bytes

    # A sample is plenty to tell the encoding, and keeps a 50 MB file quick. UTF-16/32 are
    # handled above by their BOM or their NULs; the detector's guesses of them are noise.
    found = [m for m in from_bytes(content[:200_000]) if not m.encoding.startswith("utf")]
    if not found:
        return ["cp1252"]
    best = found[0]
    if best.encoding in _WESTERN:
        return ["cp1252", best.encoding]
    if best.percent_coherence > 0 or best.encoding in _MULTIBYTE:
        return [best.encoding, "cp1252"]
    return ["cp1252"]


def _bomless_utf16(content: bytes) -> str | None:
    """The content read as UTF-16 when it plainly is (no BOM), else None."""
    # ASCII-range UTF-16 is also valid UTF-8 (NULs included), so it must be caught first:
    # one byte of every pair is NUL, and always the same one.
    if len(content) < 4 or len(content) % 2:
        return None
    even_nuls = content[0::2].count(0)
    odd_nuls = content[1::2].count(0)
    half = len(content) // 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return content.decode("utf-16-le", errors="replace")
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return content.decode("utf-16-be", errors="replace")
    return None


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_NEWLINE_LIKE = str.maketrans({"\v": "\n", "\f": "\n", "\u2028": "\n", "\u2029": "\n",
                               "\xa0": " "})


def normalise_text(text: str) -> str:
    """Newlines as \\n, no BOM or control characters (bar \\n and \\t), no trailing spaces,
    at most one blank line in a row, and no blank lines at either end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_NEWLINE_LIKE)
    text = _CONTROL_CHARS.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def looks_binary(text: str) -> bool:
    """True when decoded text is mostly not text (control or replacement characters)."""
    sample = text[:8192]
    if not sample:
        return False
    bad = sum(1 for ch in sample
              if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\n\r\t\f\v"))
    return bad > 0.05 * len(sample)


def decode_document(content: bytes, label: str) -> str:
    """The text of a document in a text-based format (named `label` in messages); raises
    `Rejected` ("failed") when the bytes are not text at all."""
    text = decode_text(content)
    if looks_binary(text):
        raise Rejected("failed",
                       f"not text: the file is named as {label} but holds binary data; {CONVERT_FIX}")
    return text
