"""PDF documents: the text layer, regrouped into paragraphs and list items.

pypdf gives one line of text per line on the page; lines are joined back into paragraphs
(re-joining words hyphenated at line ends), page numbers dropped, bullets made list items,
and lines matching a bookmark title made headings at the bookmark's depth. A PDF without a
text layer (a scan) or with a real password is skipped with a reason, not failed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from functools import partial

from pypdf import PdfReader
from pypdf.errors import DependencyError

from impacting.sources.documents.blocks import collapse, heading_line, join_blocks
from impacting.sources.documents.format import DocumentFormat
from impacting.sources.documents.result import Extraction, Rejected

_PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d+(?:\s*(?:of|/)\s*\d+)?$|^[-\u2013]\s*\d+\s*[-\u2013]$",
                          re.IGNORECASE)
_BULLET = re.compile(
    r"^(?:[\u2022\u25e6\u25aa\u2023\u2043\u25cf*\u2013-]|(\d{1,3})[.)])\s+(.*)$")
_SENTENCE_END = (".", "!", "?", ":", ";")


def extract_pdf(content: bytes) -> Extraction:
    """A PDF's text layer regrouped into paragraphs, with outline titles as headings."""
    reader = PdfReader(io.BytesIO(content), strict=False)
    _unlock(reader)
    outline = _Outline(reader)
    page_texts = _page_texts(reader)
    if not any(text.strip() for text in page_texts):
        if not page_texts:
            raise Rejected("skipped", "empty: the PDF has no pages; attach a version with content")
        raise Rejected("skipped", "no text layer: the PDF holds only images (a scan?); "
                                  "attach an OCR'd or text-based PDF")
    blocks: list[tuple[str, str]] = []
    headings: list[str] = []
    for index, text in enumerate(page_texts):
        blocks.extend(_page_blocks(text, partial(outline.match, page=index), headings))
    return Extraction(join_blocks(blocks), tuple(headings))


def _unlock(reader: PdfReader) -> None:
    """Open an encrypted PDF with the empty password, or reject it as password-protected."""
    if not reader.is_encrypted:
        return
    try:
        unlocked = bool(reader.decrypt(""))
    except DependencyError:
        raise Rejected("skipped", "encrypted PDF: the file uses AES encryption that cannot be "
                                  "opened here; attach an unprotected copy") from None
    except Exception:  # a broken encryption dictionary: as locked as a real password
        unlocked = False
    if not unlocked:
        raise Rejected("skipped", "encrypted PDF: the file is password-protected; "
                                  "attach an unprotected copy")


def _page_texts(reader: PdfReader) -> list[str]:
    """Text of every page, by page index; a page that cannot be read counts as empty, unless
    none can be read, in which case the first page's error is raised."""
    texts: list[str] = []
    errors: list[Exception] = []
    for page in reader.pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception as error:  # one bad page should not lose the rest
            texts.append("")
            errors.append(error)
    if errors and len(errors) == len(texts):
        raise errors[0]
    return texts


class _Outline:
    """Bookmark titles by page, so that matching text lines can be marked as headings."""

    def __init__(self, reader: PdfReader) -> None:
        self._by_page: dict[int | None, list[tuple[str, str, int]]] = {}
        try:
            self._walk(reader, reader.outline, 1)
        except Exception:  # a broken outline only costs us the headings
            self._by_page = {}

    def _walk(self, reader: PdfReader, items: list, depth: int) -> None:
        """Index the bookmarks in `items` (a nested list is one level deeper) by page."""
        for item in items:
            if isinstance(item, list):
                self._walk(reader, item, depth + 1)
                continue
            title = collapse(str(getattr(item, "title", "") or ""))
            if not title:
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # a dangling destination: match the title on any page
                page = None
            page = page if isinstance(page, int) and page >= 0 else None
            self._by_page.setdefault(page, []).append((title.casefold(), title, min(depth, 6)))

    def match(self, line: str, page: int) -> tuple[str, int] | None:
        """(title, level) of the first unmatched bookmark on `page` (or of unknown page)
        whose title is `line`; it is then used up."""
        key = collapse(line).casefold()
        for candidates in (self._by_page.get(page, []), self._by_page.get(None, [])):
            for index, (folded, title, level) in enumerate(candidates):
                if folded == key:
                    del candidates[index]
                    return title, level
        return None


def _page_blocks(text: str, match_heading: Callable[[str], tuple[str, int] | None],
                     headings: list[str]) -> list[tuple[str, str]]:
    """One page's lines regrouped into paragraphs, list items and outline headings
    (`match_heading` says which lines are bookmarked headings; they are added to `headings`)."""
    lines = _drop_page_numbers([line.strip() for line in text.replace("\r", "\n").split("\n")])
    typical = _typical_line_length(lines)
    blocks: list[tuple[str, str]] = []
    current: list[str] = []
    kind = "para"

    def flush() -> None:
        if current:
            blocks.append((kind, _join_lines(current)))
            current.clear()

    previous = None
    for line in lines:
        heading = match_heading(line) if line else None
        bullet = _BULLET.match(line)
        if not line or heading:
            flush()
            if heading:
                blocks.append(("heading", heading_line(heading[1], heading[0])))
                headings.append(heading[0])
            previous = None
            continue
        if bullet:
            flush()
            kind = "item"
            marker = f"{bullet.group(1)}. " if bullet.group(1) else "- "
            current.append(marker + bullet.group(2))
        else:
            if current and previous and _ends_paragraph(previous, line, typical):
                flush()
            if not current:
                kind = "para"
            current.append(line)
        previous = line
    flush()
    return blocks


def _drop_page_numbers(lines: list[str]) -> list[str]:
    """The page's lines without blank edges or a page-number first/last line."""
    while lines and not lines[0]:
        lines = lines[1:]
    while lines and not lines[-1]:
        lines = lines[:-1]
    if lines and _PAGE_NUMBER.match(lines[-1]):
        lines = lines[:-1]
    if lines and _PAGE_NUMBER.match(lines[0]):
        lines = lines[1:]
    return lines


def _typical_line_length(lines: list[str]) -> int:
    """The length of a full line on the page (80th percentile of lengths)."""
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return 1
    return max(1, lengths[int(0.8 * (len(lengths) - 1))])


def _ends_paragraph(previous: str, line: str, typical: int) -> bool:
    """Whether a paragraph ends after `previous`: a short line that closes a sentence, or a
    short line followed by one that starts like a new paragraph."""
    if len(previous) >= 0.75 * typical:
        return False
    return previous.endswith(_SENTENCE_END) or line[:1].isupper() or line[:1].isdigit()


def _join_lines(lines: list[str]) -> str:
    """Lines of one paragraph as one line, re-joining words hyphenated across line ends."""
    text = lines[0]
    for line in lines[1:]:
        if text.endswith("\xad"):
            text = text[:-1] + line
        elif len(text) > 1 and text[-1] == "-" and text[-2].isalpha() and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return text


def _is_pdf(content: bytes) -> bool:
    """Whether the content starts with the PDF header."""
    # Readers tolerate whitespace before the header, and so do we.
    return content.lstrip()[:5] == b"%PDF-"


FORMAT = DocumentFormat(
    name="pdf",
    label="PDF",
    extensions=("pdf",),
    mime_types=("application/pdf",),
    signature=_is_pdf,
    extract=extract_pdf,
)
