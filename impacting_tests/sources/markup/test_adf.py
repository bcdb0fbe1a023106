"""Atlassian Document Format (API v3 descriptions) -> plain text."""

from __future__ import annotations

import pytest

from impacting.sources.markup import adf_to_text
from impacting_tests.sources.markup.adf_nodes import item, link, paragraph, text

ADF_DOCUMENT = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [text("Goal")]},
        paragraph(
            text("See "),
            link("the ", "https://ex.com/spec"),
            link("spec", "https://ex.com/spec", {"type": "strong"}),
            text(" and "),
            link("https://ex.com/raw", "https://ex.com/raw"),
            text(", owner "),
            {"type": "mention", "attrs": {"id": "5b10", "text": "@Jane Doe"}},
            text(" / "),
            {"type": "mention", "attrs": {"id": "77", "text": "Bob"}},
            text(" "),
            {"type": "emoji", "attrs": {"shortName": ":rocket:", "text": "🚀"}},
            {"type": "emoji", "attrs": {"shortName": ":custom:"}},
            {"type": "hardBreak"},
            text("due "),
            {"type": "date", "attrs": {"timestamp": "1700000000000"}},
            text(" status "),
            {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
            text(" "),
            {"type": "inlineCard", "attrs": {"url": "https://jira.example.com/browse/PAY-1"}},
        ),
        {"type": "bulletList", "content": [
            item(paragraph(text("Payments")),
                 {"type": "bulletList", "content": [item(paragraph(text("Refunds")))]}),
            item(paragraph(text("Ledger"))),
        ]},
        {"type": "orderedList", "attrs": {"order": 3}, "content": [
            item(paragraph(text("Design"))), item(paragraph(text("Build"))),
        ]},
        {"type": "codeBlock", "attrs": {"language": "python"},
         "content": [text("def f():\n    return *x*  # h1. not")]},
        {"type": "table", "content": [
            {"type": "tableRow", "content": [
                {"type": "tableHeader", "content": [paragraph(text("Team"))]},
                {"type": "tableHeader", "content": [paragraph(text("Impact"))]},
            ]},
            {"type": "tableRow", "content": [
                {"type": "tableCell", "content": [paragraph(text("Payments"))]},
                {"type": "tableCell", "content": [paragraph(text("High")), paragraph(text("now"))]},
            ]},
        ]},
        {"type": "panel", "attrs": {"panelType": "warning"},
         "content": [paragraph(text("Freeze in December."))]},
        {"type": "expand", "attrs": {"title": "Details"},
         "content": [paragraph(text("Hidden text."))]},
        {"type": "rule"},
        {"type": "mediaSingle",
         "content": [{"type": "media", "attrs": {"id": "m1", "type": "file"}}]},
        {"type": "blockquote", "content": [paragraph(text("Quoted."))]},
        {"type": "futureNodeType", "content": [paragraph(text("Still read."))]},
        {"type": "blockCard", "attrs": {"url": "https://wiki.example.com/page"}},
    ],
}


def test_adf_realistic_document():
    assert adf_to_text(ADF_DOCUMENT) == (
        "## Goal\n"
        "\n"
        "See the spec (https://ex.com/spec) and https://ex.com/raw, "
        "owner @Jane Doe / @Bob 🚀:custom:\n"
        "due 2023-11-14 status IN PROGRESS https://jira.example.com/browse/PAY-1\n"
        "\n"
        "- Payments\n"
        "  - Refunds\n"
        "- Ledger\n"
        "\n"
        "3. Design\n"
        "4. Build\n"
        "\n"
        "```python\n"
        "def f():\n"
        "    return *x*  # h1. not\n"
        "```\n"
        "\n"
        "Team | Impact\n"
        "Payments | High now\n"
        "\n"
        "Freeze in December.\n"
        "\n"
        "Details\n"
        "\n"
        "Hidden text.\n"
        "\n"
        "> Quoted.\n"
        "\n"
        "Still read.\n"
        "\n"
        "https://wiki.example.com/page"
    )


def test_adf_task_list_and_nested_expand():
    document = {"type": "doc", "content": [
        {"type": "taskList", "content": [
            {"type": "taskItem", "attrs": {"state": "DONE"}, "content": [text("Ship it")]},
            {"type": "taskItem", "attrs": {"state": "TODO"}, "content": [text("Tell people")]},
        ]},
        {"type": "nestedExpand", "attrs": {"title": "More"}, "content": [paragraph(text("x"))]},
    ]}
    assert adf_to_text(document) == "- [x] Ship it\n- [ ] Tell people\n\nMore\n\nx"


@pytest.mark.parametrize("document", [
    {},
    {"type": "doc"},
    {"type": "doc", "content": None},
    {"type": "doc", "content": ["garbage", None, 3, {"no": "type"}]},
    {"type": "doc", "content": [{"type": "paragraph", "content": "not a list"}]},
    {"type": "doc", "content": [{"type": "heading", "attrs": {"level": "x"}}]},
    {"type": "doc", "content": [{"type": "date", "attrs": {"timestamp": "soon"}}]},
    {"type": "doc", "content": [{"type": "table", "content": [{"type": "tableRow"}]}]},
    {"type": "doc",
     "content": [{"type": "orderedList", "attrs": None, "content": [{"type": "listItem"}]}]},
])
def test_adf_never_crashes_on_odd_nodes(document):
    assert isinstance(adf_to_text(document), str)


def test_adf_unknown_inline_node_with_text_is_kept():
    document = {"type": "doc", "content": [paragraph(text("a "), {"type": "sparkle", "text": "b"})]}
    assert adf_to_text(document) == "a b"
