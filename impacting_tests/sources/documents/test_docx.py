"""Word documents: body in reading order, and every way a .docx can be broken."""

from __future__ import annotations

import io
import zipfile

from docx.oxml import parse_xml
from docx.oxml.ns import qn

from impacting.sources.documents import extract_text
from impacting_tests.sources.documents.builders import (
    assert_not_ok,
    build_design_docx,
    make_docx,
    make_zip,
)


def test_docx_headings_lists_and_table_in_document_order():
    result = extract_text(make_docx(build_design_docx), "design.docx")
    assert result.status == "ok" and result.format == "docx"
    assert result.text == (
        "# Billing Redesign\n"
        "\n"
        "# Scope\n"
        "\n"
        "The new pipeline replaces nightly jobs.\n"
        "\n"
        "- Invoices\n"
        "  - Credit notes\n"
        "1. Design\n"
        "2. Build\n"
        "\n"
        "Team | Impact\n"
        "Payments | High\n"
        "\n"
        "## Risks\n"
        "\n"
        "Data loss during migration."
    )
    assert result.headings == ("Billing Redesign", "Scope", "Risks")
    assert result.word_count == len(result.text.split())


def test_docx_merged_cells_are_not_repeated_and_line_breaks_kept():
    def build(document):
        table = document.add_table(rows=2, cols=3)
        table.cell(0, 0).merge(table.cell(0, 2)).text = "Summary"
        for column, text in enumerate(["a", "b", "c"]):
            table.cell(1, column).text = text
        paragraph = document.add_paragraph("first line")
        paragraph.add_run().add_break()
        paragraph.add_run("second line")

    result = extract_text(make_docx(build), "t.docx")
    assert result.text == "Summary\na | b | c\n\nfirst line\nsecond line"


def test_docx_outline_level_marks_a_heading():
    def build(document):
        paragraph = document.add_paragraph("Custom heading")
        properties = paragraph._p.get_or_add_pPr()
        outline = properties.makeelement(qn("w:outlineLvl"), {qn("w:val"): "2"})
        properties.append(outline)
        document.add_paragraph("Body.")

    result = extract_text(make_docx(build), "o.docx")
    assert result.text == "### Custom heading\n\nBody."
    assert result.headings == ("Custom heading",)


W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def style_num_id(document, style_id: str) -> str:
    num_pr = document.styles.element.get_by_id(style_id).pPr.find(qn("w:numPr"))
    return num_pr.find(qn("w:numId")).get(qn("w:val"))


def test_docx_numbering_on_the_paragraph_makes_list_items():
    def build(document):
        numbered = style_num_id(document, "ListNumber")
        bullets = style_num_id(document, "ListBullet")
        for text, num_id, level in [("Alpha", numbered, 0), ("Alpha one", bullets, 1),
                                    ("Beta", numbered, 0)]:
            properties = document.add_paragraph(text)._p.get_or_add_pPr()
            properties.append(parse_xml(
                f'<w:numPr {W_NS}><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'))
        document.add_paragraph("After the list.")

    result = extract_text(make_docx(build), "n.docx")
    assert result.text == "1. Alpha\n  - Alpha one\n2. Beta\n\nAfter the list."


def test_docx_content_controls_and_tracked_changes():
    def build(document):
        paragraph = document.add_paragraph("Inside a content control")
        control = parse_xml(f"<w:sdt {W_NS}><w:sdtPr/><w:sdtContent/></w:sdt>")
        paragraph._p.addprevious(control)
        control.find(qn("w:sdtContent")).append(paragraph._p)
        paragraph = document.add_paragraph("Kept ")
        paragraph._p.append(parse_xml(
            f'<w:del {W_NS} w:id="1" w:author="a">'
            "<w:r><w:delText>deleted </w:delText></w:r></w:del>"))
        paragraph._p.append(parse_xml(
            f'<w:ins {W_NS} w:id="2" w:author="a"><w:r><w:t>inserted</w:t></w:r></w:ins>'))

    result = extract_text(make_docx(build), "c.docx")
    assert result.text == "Inside a content control\n\nKept inserted"


def test_docx_zip_without_word_document_is_corrupt():
    content = make_zip({"[Content_Types].xml": b"<Types/>", "notes.txt": b"hello"})
    result = extract_text(content, "design.docx")
    assert result.format == "docx"
    assert_not_ok(result, "failed", "corrupt DOCX", "word/document.xml", "re-save or re-export")


def test_truncated_docx_is_corrupt():
    content = make_docx(build_design_docx)[:300]
    result = extract_text(content, "design.docx")
    assert result.format == "docx"
    assert_not_ok(result, "failed", "corrupt DOCX", "BadZipFile", "re-save or re-export")


def test_docx_with_broken_xml_reports_the_parser_error():
    content = make_docx(build_design_docx)
    source = zipfile.ZipFile(io.BytesIO(content))
    members = {name: source.read(name) for name in source.namelist()}
    members["word/document.xml"] = members["word/document.xml"][:200]
    result = extract_text(make_zip(members), "design.docx")
    assert_not_ok(result, "failed", "corrupt DOCX file: XMLSyntaxError", "re-save or re-export")
