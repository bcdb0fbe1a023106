"""PDF documents: the text layer regrouped into paragraphs, outline titles as headings."""

from __future__ import annotations

from impacting.sources.documents import extract_text
from impacting_tests.sources.documents.builders import DESIGN_PAGES, assert_not_ok, make_pdf, rewrite_pdf


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
