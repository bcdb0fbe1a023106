"""Design documents -> clean text: every format, and every way a document can be unreadable.

Fixtures are built in the tests (python-docx, pypdf, hand-written PDF bytes, literals).
"""

from __future__ import annotations

import io
import random
import zipfile

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from pypdf import PdfReader, PdfWriter

from impacting.sources.documents import (
    DOCUMENT_FORMATS,
    ExtractedText,
    decode_text,
    detect_format,
    extract_text,
    normalise_text,
)

# --------------------------------------------------------------------------------------------
# Fixture builders
# --------------------------------------------------------------------------------------------


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: one Helvetica text line per entry, correct xref offsets."""
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    page_ids = [4 + 2 * index for index in range(len(pages))]
    kids = " ".join(f"{page_id} 0 R" for page_id in page_ids)
    objects[2] = f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode()
    for page_id, lines in zip(page_ids, pages, strict=True):
        operators = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for index, line in enumerate(lines):
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            operators.append(f"({escaped}) Tj" if index == 0 else f"T* ({escaped}) Tj")
        operators.append("ET")
        stream = "\n".join(operators).encode("latin-1") if lines else b""
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>"
        ).encode()
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, objects[number]))
    xref = out.tell()
    size = max(objects) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for number in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[number])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))
    return out.getvalue()


def rewrite_pdf(pdf: bytes, edit) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(build) -> bytes:
    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


DESIGN_PAGES = [
    [
        "Design Overview",
        "This document describes the billing pipeline and the exam-",
        "ple services that depend on it for nightly reconciliation.",
        "It ends here.",
        "Background",
        "The old system was slow.",
        "- first point",
        "- second point",
        "1",
    ],
    ["Rollout", "We ship in three waves starting next quarter with the", "payments team.", "2"],
]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(30)
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def assert_not_ok(result: ExtractedText, status: str, *phrases: str) -> None:
    assert result.status == status, result
    assert result.text == "" and result.headings == () and result.word_count == 0
    for phrase in phrases:
        assert phrase in result.reason, result.reason


# --------------------------------------------------------------------------------------------
# Interface
# --------------------------------------------------------------------------------------------


def test_document_formats_maps_readable_extensions():
    assert DOCUMENT_FORMATS == {
        "md": "markdown", "markdown": "markdown", "txt": "text", "text": "text",
        "html": "html", "htm": "html", "docx": "docx", "pdf": "pdf",
    }


def test_ok_result_counts_words_and_has_no_reason():
    result = extract_text(b"one two\nthree", "notes.txt")
    assert result == ExtractedText("one two\nthree", "text", "ok", None, (), 3)


# --------------------------------------------------------------------------------------------
# Markdown and text
# --------------------------------------------------------------------------------------------


def test_markdown_setext_headings_become_atx_and_fenced_hashes_are_not_headings():
    source = (
        "Billing Redesign\n"
        "================\n"
        "\n"
        "<!-- owner: payments -->\n"
        "Intro text.\n"
        "\n"
        "Scope\n"
        "-----\n"
        "\n"
        "```bash\n"
        "# not a heading\n"
        "echo hi\n"
        "```\n"
        "\n"
        "### Risks ###\n"
        "- data loss\n"
    )
    result = extract_text(source.encode(), "design.md")
    assert result.status == "ok" and result.format == "markdown"
    assert result.text == (
        "# Billing Redesign\n"
        "\n"
        "<!-- owner: payments -->\n"
        "Intro text.\n"
        "\n"
        "## Scope\n"
        "\n"
        "```bash\n"
        "# not a heading\n"
        "echo hi\n"
        "```\n"
        "\n"
        "### Risks ###\n"
        "- data loss"
    )
    assert result.headings == ("Billing Redesign", "Scope", "Risks")


def test_markdown_thematic_break_and_front_matter_are_not_setext_headings():
    source = "---\ntitle: Design\n---\n\nText above.\n\n---\n\n- item\n---\n"
    result = extract_text(source.encode(), "d.markdown")
    assert result.text == "---\ntitle: Design\n---\n\nText above.\n\n---\n\n- item\n---"
    assert result.headings == ()


def test_markdown_multi_line_setext_paragraph_becomes_one_heading():
    result = extract_text(b"Intro\n\nA long\ntitle\n=====\nbody", "x.md")
    assert result.text == "Intro\n\n# A long title\nbody"
    assert result.headings == ("A long title",)


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


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

HTML_PAGE = b"""<!DOCTYPE html>
<html><head><title>Ignored title</title><style>p { color: red }</style></head>
<body><nav><a href="/">Home</a> | <a href="/docs">Docs</a></nav>
<script>alert('x')</script><noscript>Enable JS</noscript>
<h1>Checkout &amp; Payments</h1>
<p>First   paragraph<br>second line with <a href="https://ex.com/d">the doc</a>.</p>
<div>Loose div text</div>
<ul><li>One<ul><li>One.a</li></ul></li><li><p>Two</p></li></ul>
<ol start="2"><li>Second</li><li>Third</li></ol>
<table><thead><tr><th>Team</th><th>Impact</th></tr></thead>
<tbody><tr><td>Payments</td><td><b>High</b></td></tr></tbody></table>
<pre><code class="language-python">def f():
    return 1 &lt; 2
</code></pre>
<h2>Next&nbsp;steps</h2>
<blockquote><p>Quoted</p></blockquote>
<footer>Copyright 2024</footer><!-- a comment -->
</body></html>"""


def test_html_headings_lists_table_code_and_dropped_chrome():
    result = extract_text(HTML_PAGE, "page.html")
    assert result.status == "ok" and result.format == "html"
    assert result.text == (
        "# Checkout & Payments\n"
        "\n"
        "First paragraph\n"
        "second line with the doc (https://ex.com/d).\n"
        "\n"
        "Loose div text\n"
        "\n"
        "- One\n"
        "  - One.a\n"
        "- Two\n"
        "\n"
        "2. Second\n"
        "3. Third\n"
        "\n"
        "Team | Impact\n"
        "Payments | High\n"
        "\n"
        "```python\n"
        "def f():\n"
        "    return 1 < 2\n"
        "```\n"
        "\n"
        "## Next steps\n"
        "\n"
        "> Quoted"
    )
    assert result.headings == ("Checkout & Payments", "Next steps")
    for dropped in ("alert", "Home", "Enable JS", "Copyright", "color", "comment", "Ignored"):
        assert dropped not in result.text


def test_html_title_is_the_heading_only_without_h1():
    page = (b"<html><head><title>Only Title</title></head>"
            b"<body><p>Body</p><h2>Sub</h2></body></html>")
    result = extract_text(page, "page.htm")
    assert result.text == "# Only Title\n\nBody\n\n## Sub"
    assert result.headings == ("Only Title", "Sub")


def test_html_with_only_script_is_empty():
    result = extract_text(b"<html><body><script>var x = 1;</script></body></html>", "a.html")
    assert_not_ok(result, "skipped", "empty:")


# --------------------------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------------------------


def build_design_docx(document) -> None:
    document.add_heading("Billing Redesign", 0)
    document.add_heading("Scope", 1)
    document.add_paragraph("The new pipeline replaces nightly jobs.")
    document.add_paragraph("Invoices", style="List Bullet")
    document.add_paragraph("Credit notes", style="List Bullet 2")
    document.add_paragraph("Design", style="List Number")
    document.add_paragraph("Build", style="List Number")
    table = document.add_table(rows=2, cols=2)
    for (row, column), text in {(0, 0): "Team", (0, 1): "Impact",
                                (1, 0): "Payments", (1, 1): "High"}.items():
        table.cell(row, column).text = text
    document.add_heading("Risks", 2)
    paragraph = document.add_paragraph("Data loss during ")
    paragraph.add_run("migration").bold = True
    paragraph.add_run(".")
    document.add_paragraph("")


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


def test_encrypted_ooxml_is_skipped():
    content = OLE2 + "EncryptedPackage".encode("utf-16-le") + bytes(64)
    result = extract_text(content, "design.docx")
    assert result.format == "encrypted-ooxml"
    assert_not_ok(result, "skipped", "password-protected", "unprotected copy")


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------


def test_pdf_text_is_joined_into_paragraphs_and_dehyphenated():
    result = extract_text(make_pdf(DESIGN_PAGES), "design.pdf")
    assert result.status == "ok" and result.format == "pdf"
    assert result.text == (
        "Design Overview\n"
        "\n"
        "This document describes the billing pipeline and the example services that "
        "depend on it for nightly reconciliation. It ends here.\n"
        "\n"
        "Background\n"
        "\n"
        "The old system was slow.\n"
        "\n"
        "- first point\n"
        "- second point\n"
        "\n"
        "Rollout\n"
        "\n"
        "We ship in three waves starting next quarter with the payments team."
    )
    assert result.headings == ()


def test_pdf_outline_marks_headings_with_its_depth():
    def add_outline(writer):
        top = writer.add_outline_item(title="Design Overview", page_number=0)
        writer.add_outline_item(title="Background", page_number=0, parent=top)
        writer.add_outline_item(title="Rollout", page_number=1)

    result = extract_text(rewrite_pdf(make_pdf(DESIGN_PAGES), add_outline), "design.pdf")
    assert result.headings == ("Design Overview", "Background", "Rollout")
    assert result.text.startswith("# Design Overview\n\nThis document")
    assert "\n\n## Background\n\nThe old system was slow.\n" in result.text
    assert "\n\n# Rollout\n\nWe ship" in result.text


def test_pdf_hello_world():
    result = extract_text(make_pdf([["Hello world"]]), "hello.pdf")
    assert (result.status, result.text, result.word_count) == ("ok", "Hello world", 2)


def test_encrypted_pdf_is_skipped():
    locked = rewrite_pdf(make_pdf([["Secret plans"]]), lambda writer: writer.encrypt("secret"))
    result = extract_text(locked, "plans.pdf")
    assert result.format == "pdf"
    assert_not_ok(result, "skipped", "encrypted PDF", "password-protected", "unprotected copy")


def test_pdf_with_only_an_owner_password_is_read():
    content = rewrite_pdf(make_pdf([["Open plans"]]),
                          lambda writer: writer.encrypt("", owner_password="owner"))
    result = extract_text(content, "plans.pdf")
    assert (result.status, result.text) == ("ok", "Open plans")


def test_pdf_without_text_layer_is_skipped():
    result = extract_text(make_pdf([[], []]), "scan.pdf")
    assert_not_ok(result, "skipped", "no text layer", "OCR")


def test_truncated_pdf_is_corrupt():
    result = extract_text(make_pdf(DESIGN_PAGES)[:400], "design.pdf")
    assert_not_ok(result, "failed", "corrupt PDF file: Pdf", "re-save or re-export")


# --------------------------------------------------------------------------------------------
# Detection and unreadable input
# --------------------------------------------------------------------------------------------


def test_empty_file_is_skipped():
    assert_not_ok(extract_text(b"", "design.md"), "skipped", "empty:", "0 bytes")


def test_whitespace_only_text_is_skipped():
    result = extract_text(b" \r\n\t \n\n ", "notes.txt")
    assert result.format == "text"
    assert_not_ok(result, "skipped", "empty:", "no text")


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


def test_binary_named_as_text_fails():
    result = extract_text(bytes(range(256)) * 8, "notes.txt")
    assert_not_ok(result, "failed", "not text", "binary")


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
