"""Fixture builders for the document tests: PDFs, Word files and ZIPs made in code (python-docx,
pypdf, hand-written PDF bytes, literals), and the check for a result without text."""

from __future__ import annotations

import io
import zipfile

import docx
from pypdf import PdfReader, PdfWriter

from impacting.sources.documents import ExtractedText


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
