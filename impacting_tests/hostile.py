"""Hostile and broken inputs, built in memory: what a real Jira can send the pipeline.

Each attachment says what the pipeline must make of it (`expect`: the extraction status, or
`truncated`); each issue is a payload a broken Jira or a careless import could produce.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from impacting_tests.sources.documents.builders import OLE2, make_docx, make_pdf, rewrite_pdf


@dataclass(frozen=True)
class Hostile:
    name: str
    content: bytes
    mime: str
    expect: str          # "ok", "truncated", "skipped" or "failed"
    why: str             # a phrase the reason must contain


def docx_bomb(paragraphs: int, words: int = 6) -> bytes:
    """A well-formed DOCX whose document.xml inflates to `paragraphs` paragraphs of about
    `words` words each: small on the wire, huge once unpacked."""
    text = " ".join(f"word{i % 97}" for i in range(words))
    body = "".join(f"<w:p><w:r><w:t>Paragraph {i}: {text}</w:t></w:r></w:p>" for i in range(paragraphs))
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w='
                '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                f"{body}</w:body></w:document>")
    types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
             'package/2006/content-types"><Default Extension="rels" ContentType="application/'
             'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
             '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
             'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
            '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxml'
            'formats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            '</Relationships>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("word/document.xml", document)
    return out.getvalue()


def pdf_bomb(inflated_bytes: int) -> bytes:
    """A PDF whose one page's content stream inflates to `inflated_bytes` of drawing commands."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    stream = DecodedStreamObject()
    stream.set_data(b"0 0 m 1 1 l S\n" * (inflated_bytes // 14))
    compressed = stream.flate_encode()
    page[NameObject("/Contents")] = writer._add_object(compressed)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def hostile_attachments(escape_names: tuple[str, str]) -> list[Hostile]:
    """Every kind of bad file issue 14 lists, with the outcome each must have.

    `escape_names`: a `../` name and an absolute path, which must never be written anywhere."""
    good_docx = make_docx(lambda d: (d.add_heading("Storage design", 1),
                                     d.add_paragraph("The volume controller provisions disks for "
                                                     "every workload in the cluster.")))
    good_pdf = make_pdf([["Capacity plan", "The nodes report their disk pressure every minute."]])
    rng = random.Random(14)
    return [
        Hostile("empty.md", b"", "text/markdown", "skipped", "0 bytes"),
        Hostile("garbage.docx", rng.randbytes(64 * 1024), "application/octet-stream", "failed", "re-save"),
        Hostile("noise.md", bytes(range(256)) * 64, "text/markdown", "failed", "binary"),
        Hostile("truncated.docx", good_docx[: len(good_docx) // 2], "application/octet-stream",
                "failed", "corrupt"),
        Hostile("truncated.pdf", good_pdf[: len(good_pdf) // 2], "application/pdf", "failed", "corrupt"),
        Hostile("locked.pdf", rewrite_pdf(good_pdf, lambda w: w.encrypt("secret")), "application/pdf",
                "skipped", "password-protected"),
        Hostile("locked.docx", OLE2 + "EncryptedPackage".encode("utf-16-le") + bytes(64),
                "application/octet-stream", "skipped", "password-protected"),
        Hostile("one-line.txt", ("volume " * 1_500_000).encode(), "text/plain", "truncated", "truncated"),
        Hostile("actually-a-pdf.md", good_pdf, "text/markdown", "ok", ""),
        Hostile("cyrillic.txt", "Проект хранилища: контроллер томов выделяет диски для каждой "
                "рабочей нагрузки в кластере.".encode("cp1251"), "text/plain", "ok", ""),
        Hostile("bomb.docx", docx_bomb(400_000), "application/octet-stream", "skipped", "compression bomb"),
        Hostile("bomb.pdf", pdf_bomb(120_000_000), "application/pdf", "skipped", ""),
        Hostile(escape_names[0], b"# Escape\n\nA file name that climbs out of the store.\n",
                "text/markdown", "ok", ""),
        Hostile(escape_names[1], b"# Absolute\n\nA file name that is an absolute path.\n",
                "text/markdown", "ok", ""),
    ]


def hostile_issues(project: str, template: dict) -> list[dict]:
    """Issues a broken Jira or import could send, built from a real `template` issue."""
    import copy

    def issue(key: str, number: int, **changes) -> dict:
        made = copy.deepcopy(template)
        made["key"], made["id"] = f"{project}-{number}", str(990000 + number)
        made["fields"]["attachment"] = []
        made["fields"]["issuelinks"] = []
        for name, value in changes.items():
            if value is _DROP:
                made["fields"].pop(name, None)
            else:
                made["fields"][name] = value
        return made

    return [
        issue("missing", 9901, summary=_DROP, created=_DROP, status=_DROP),
        issue("null-description", 9902, description=None, summary="A request without a description"),
        issue("unknown-status", 9903, summary="A request in a status Jira never listed",
              status={"id": "99", "name": "Limbo", "statusCategory": {"id": 99, "key": "limbo",
                                                                      "name": "Limbo"}}),
        issue("outside-links", 9904, summary="A request linked to issues outside the scope",
              issuelinks=[{"id": "1", "type": {"name": "Relates", "inward": "relates to",
                                               "outward": "relates to"},
                           "outwardIssue": {"key": "ZZZ-404", "fields": {"summary": "elsewhere"}}}]),
    ]


_DROP = object()

