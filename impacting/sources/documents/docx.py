"""Word (.docx) documents: the body in reading order, rendered to blocks.

Headings come from the "Title" / "Heading N" styles or an outline level; list items from
numbering (on the paragraph or its style) or the "List Bullet" / "List Number" styles; code
from code-like paragraph styles. Tables give one row per line; content controls are read
through; deleted tracked changes, text boxes and compatibility fallbacks are left out.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import docx
from docx.oxml.ns import qn

from impacting.sources.documents.blocks import collapse, fence_code, heading_line, join_blocks
from impacting.sources.documents.format import DocumentFormat
from impacting.sources.documents.result import Extraction, Rejected, describe_error

_W_P, _W_TBL, _W_SDT, _W_SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
_W_TR, _W_TC, _W_R = qn("w:tr"), qn("w:tc"), qn("w:r")
_W_T, _W_TAB, _W_BR, _W_CR = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr")
_W_VAL = qn("w:val")
# Text boxes and compatibility fallbacks repeat or float outside the reading order.
_SKIPPED = frozenset({qn("w:txbxContent"), qn("w:pPr"), qn("w:rPr"),
                           "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"})
_CODE_STYLE = re.compile(r"\b(code|preformatted|macro)\b", re.IGNORECASE)


def extract_docx(content: bytes) -> Extraction:
    """A Word document's body in reading order; a bad archive is rejected as corrupt."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(content)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise Rejected("failed", f"corrupt DOCX file: not a readable ZIP archive "
                                 f"({describe_error(error)}); re-save or re-export the file") from None
    if "word/document.xml" not in names:
        raise Rejected("failed", "corrupt DOCX file: the archive has no word/document.xml, so it "
                                 "is not a Word document; re-save or re-export the file as .docx")
    document = docx.Document(io.BytesIO(content))
    renderer = _Renderer(document)
    renderer.render(document.element.body)
    return Extraction(join_blocks(renderer.blocks), tuple(renderer.headings))


class _Renderer:
    """Walks a Word body in document order into (kind, text) blocks and headings."""

    def __init__(self, document) -> None:
        self.blocks: list[tuple[str, str]] = []
        self.headings: list[str] = []
        self._styles = document.styles.element
        self._numbering = _numbering_element(document)
        self._list_numbers: dict[int, int] = {}
        self._code_lines: list[str] = []

    def render(self, container) -> None:
        """Render the paragraphs and tables of a body (or content control) in order."""
        self._render_children(container)
        self._flush_code()

    def _render_children(self, container) -> None:
        """Render a container's paragraphs, tables and content controls, in order."""
        for child in container.iterchildren():
            if child.tag == _W_P:
                self._paragraph(child)
            elif child.tag == _W_TBL:
                self._add("table", "\n".join(_table_rows(child)))
            elif child.tag == _W_SDT:
                # Content controls (a table of contents, a form field) wrap ordinary paragraphs.
                for content in child.iterchildren(_W_SDT_CONTENT):
                    self._render_children(content)

    def _add(self, kind: str, text: str) -> None:
        """Append a block; anything but a list item ends the code run and restarts numbering."""
        self._flush_code()
        if kind != "item":
            self._list_numbers.clear()
        self.blocks.append((kind, text))

    def _flush_code(self) -> None:
        """Emit consecutive code-styled paragraphs as one fenced block."""
        if self._code_lines:
            self.blocks.append(("code", fence_code("\n".join(self._code_lines))))
            self._code_lines = []

    def _paragraph(self, paragraph) -> None:
        """One paragraph as a heading, a code line, a list item or a plain paragraph."""
        text = _paragraph_text(paragraph)
        if not text.strip():
            return
        styles = self._style_chain(paragraph)
        style_name = styles[0].name_val if styles else ""
        level = _heading_level(paragraph, styles)
        if level is not None:
            title = collapse(text)
            self._add("heading", heading_line(level, title))
            self.headings.append(title)
        elif style_name and _CODE_STYLE.search(style_name):
            self._code_lines.append(text.rstrip())
        elif (bullet := self._list_marker(paragraph, styles)) is not None:
            marker, depth = bullet
            self._add("item", "  " * depth + marker + text.strip())
        else:
            self._add("para", text.strip())

    def _style_chain(self, paragraph) -> list:
        """The paragraph's style followed by the styles it is based on."""
        chain = []
        style_id = _child_val(paragraph, "w:pPr", "w:pStyle")
        while style_id and len(chain) < 10:
            style = self._styles.get_by_id(style_id)
            if style is None or style in chain:
                break
            chain.append(style)
            style_id = style.basedOn_val
        return chain

    def _list_marker(self, paragraph, styles: list) -> tuple[str, int] | None:
        """("- " or "N. ", depth) when the paragraph is a list item, else None."""
        num_id = _child_val(paragraph, "w:pPr", "w:numPr", "w:numId")
        ilvl = _child_val(paragraph, "w:pPr", "w:numPr", "w:ilvl")
        for style in styles:
            if num_id is not None:
                break
            num_id = _child_val(style, "w:pPr", "w:numPr", "w:numId")
            ilvl = ilvl or _child_val(style, "w:pPr", "w:numPr", "w:ilvl")
        style_name = styles[0].name_val if styles else ""
        named = re.match(r"list (bullet|number)(?: (\d))?$", style_name or "", re.IGNORECASE)
        if num_id in (None, "0") and not named:
            return None
        depth = int(ilvl) if ilvl and ilvl.isdigit() else 0
        if named and named.group(2) and not ilvl:
            depth = int(named.group(2)) - 1
        if num_id not in (None, "0"):
            ordered = self._is_ordered(num_id, depth)
        else:
            ordered = named.group(1).lower() == "number"
        for deeper in [level for level in self._list_numbers if level > depth]:
            del self._list_numbers[deeper]
        if not ordered:
            return "- ", depth
        self._list_numbers[depth] = self._list_numbers.get(depth, 0) + 1
        return f"{self._list_numbers[depth]}. ", depth

    def _is_ordered(self, num_id: str, ilvl: int) -> bool:
        """Whether numbering `num_id` at level `ilvl` counts (1., a., i.) rather than bullets."""
        if self._numbering is None or not num_id.isdigit():  # the id goes into an XPath
            return False
        abstract = self._numbering.xpath(f'./w:num[@w:numId="{num_id}"]/w:abstractNumId/@w:val')
        if not abstract:
            return False
        formats = self._numbering.xpath(
            f'./w:abstractNum[@w:abstractNumId="{abstract[0]}"]/w:lvl[@w:ilvl="{ilvl}"]'
            "/w:numFmt/@w:val")
        return bool(formats) and formats[0] not in ("bullet", "none")


def _numbering_element(document):
    """The document's numbering definitions (w:numbering), or None without any."""
    try:
        return document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return None


def _child_val(element, *path: str) -> str | None:
    """The w:val of the element at `path` (tag names) under `element`, if present."""
    for tag in path:
        element = element.find(qn(tag)) if element is not None else None
    return element.get(_W_VAL) if element is not None else None


def _heading_level(paragraph, styles: list) -> int | None:
    """Heading level 1-6 from the "Title" / "Heading N" style or an outline level, else None."""
    name = (styles[0].name_val or "") if styles else ""
    if name.lower() == "title":
        return 1
    match = re.match(r"heading\s*(\d)$", name, re.IGNORECASE)
    if match and int(match.group(1)) >= 1:
        return min(int(match.group(1)), 6)
    for element in [paragraph, *styles]:
        outline = _child_val(element, "w:pPr", "w:outlineLvl")
        if outline is not None:
            # Outline level 9 means "body text"; 0-8 are heading levels 1-9.
            return min(int(outline) + 1, 6) if outline.isdigit() and int(outline) < 9 else None
    return None


def _paragraph_text(paragraph) -> str:
    """A paragraph's visible text: runs, tabs and line breaks (not deleted text)."""
    parts: list[str] = []
    for element in _text_elements(paragraph):
        if element.tag == _W_T:
            parts.append(element.text or "")
        elif element.tag == _W_TAB:
            parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


def _text_elements(element) -> Iterator:
    """The w:t / w:tab / w:br / w:cr run elements under `element`, in reading order."""
    for child in element.iterchildren():
        if child.tag in _SKIPPED:
            continue
        if child.tag in (_W_T, _W_TAB, _W_BR, _W_CR) and child.getparent().tag == _W_R:
            yield child
        else:
            yield from _text_elements(child)


def _table_rows(table) -> list[str]:
    """One ' | '-joined line per table row with any text; merged cells once."""
    rows = []
    for row in table.iter(_W_TR):
        if row.getparent() is not table:
            continue  # a nested table's rows: their text is already in the outer cell
        cells = [collapse(" ".join(_paragraph_text(p) for p in cell.iter(_W_P)))
                 for cell in row.iterchildren(_W_TC)]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


FORMAT = DocumentFormat(
    name="docx",
    label="DOCX",
    extensions=("docx",),
    mime_types=("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
    zip_members=(b"word/document.xml",),
    extract=extract_docx,
)
