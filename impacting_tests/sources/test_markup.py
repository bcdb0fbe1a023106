"""Jira descriptions (wiki markup and ADF) -> plain text."""

from __future__ import annotations

import json

import pytest

from impacting.sources.markup import adf_to_text, description_to_text, wiki_to_text

# --------------------------------------------------------------------------------------------
# Wiki markup
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("markup, expected", [
    ("h1. Overview", "# Overview"),
    ("h3. *Bold* heading", "### Bold heading"),
    ("h6.Tight", "###### Tight"),
    ("*bold* _italic_ +ins+ -strike- ^sup^ ~sub~ ??cite??",
     "bold italic ins strike sup sub cite"),
    ("*_bold italic_* and _*italic bold*_", "bold italic and italic bold"),
    ("Use {{some_var_name}} and {{-x-}} here", "Use some_var_name and -x- here"),
    ("See [the spec|https://example.com/a_b-c_d] now",
     "See the spec (https://example.com/a_b-c_d) now"),
    ("[https://example.com/x_y_z]", "https://example.com/x_y_z"),
    ("[https://example.com|https://example.com]", "https://example.com"),
    ("ping [~jane.doe] please", "ping @jane.doe please"),
    ("see [^spec_v2.pdf] attached", "see spec_v2.pdf attached"),
    ("[WIP] title stays", "[WIP] title stays"),
    ("visit https://example.com/some_path_here_x today",
     "visit https://example.com/some_path_here_x today"),
    ("before !image.png! after", "before  after"),
    ("shot: !Screen Shot 2024-01-01 at 10.00.00.png|thumbnail!", "shot:"),
    ("Done! Great!", "Done! Great!"),
    ("{color:red}red text{color} stays", "red text stays"),
    ("a&nbsp;b &amp; c &lt;tag&gt;", "a b & c <tag>"),
    ("line one\\\\line two", "line one\nline two"),
    ("escaped \\*stars\\* stay", "escaped *stars* stay"),
    ("bq. quoted *words*", "> quoted words"),
    ("first\r\nsecond\r\n\r\nthird", "first\nsecond\n\nthird"),
    ("above\n----\nbelow", "above\n\nbelow"),
])
def test_wiki_constructs(markup, expected):
    assert wiki_to_text(markup) == expected


@pytest.mark.parametrize("plain", [
    "A well-known, up-to-date, state-of-the-art design.",
    "Paths /usr/local/my-app_v2/bin and C:/Program Files/app-x/ stay.",
    "Files my_file_name.txt, snake_case_variable and __init__.py stay.",
    "Math 2*3*4 and a * b * c and x - y - z stay.",
    "Flags --verbose and -5 to -3 degrees stay.",
    "C++ and C++ again.",
    "Range Mon-Fri, 2024-01-31, ISO-8601 stay.",
    "Emails first.last@example.com stay.",
])
def test_wiki_leaves_ordinary_punctuation_alone(plain):
    assert wiki_to_text(plain) == plain


def test_wiki_lists_nest_and_number():
    markup = ("* one\n** nested *bold*\n* two\n- dash\n\n"
              "# first\n# second\n## sub\n# third\n*# mixed")
    assert wiki_to_text(markup) == (
        "- one\n"
        "  - nested bold\n"
        "- two\n"
        "- dash\n"
        "\n"
        "1. first\n"
        "2. second\n"
        "  1. sub\n"
        "3. third\n"
        "  1. mixed"
    )


def test_wiki_bold_line_is_not_a_bullet():
    assert wiki_to_text("*Note:* read this") == "Note: read this"


def test_wiki_tables():
    markup = "||Team||Impact||\n|Payments|*High*|\n|Docs|[page|https://x.org/a_b]|\n| | |"
    assert wiki_to_text(markup) == "Team | Impact\nPayments | High\nDocs | page (https://x.org/a_b)"


def test_wiki_code_blocks_are_untouched_and_fenced():
    markup = (
        "Before\n"
        "{code:java}\n"
        "int *x* = -y- + _z_; // h1. not a heading\n"
        "* not a bullet [a|b] {{mono}} &amp;\n"
        "{code}\n"
        "{noformat}\n"
        "raw _text_ -- [~nobody]\n"
        "{noformat}\n"
        "{code:title=Build.sh|borderStyle=solid}make all{code}\n"
        "After"
    )
    assert wiki_to_text(markup) == (
        "Before\n"
        "\n"
        "```java\n"
        "int *x* = -y- + _z_; // h1. not a heading\n"
        "* not a bullet [a|b] {{mono}} &amp;\n"
        "```\n"
        "\n"
        "```\n"
        "raw _text_ -- [~nobody]\n"
        "```\n"
        "\n"
        "```\n"
        "make all\n"
        "```\n"
        "\n"
        "After"
    )


def test_wiki_unclosed_code_block_runs_to_the_end():
    assert wiki_to_text("Text\n{code:sql}\nSELECT *\nFROM t") == (
        "Text\n\n```sql\nSELECT *\nFROM t\n```")


def test_wiki_quote_and_panel():
    markup = (
        "{quote}\nmulti *line*\nquote with {code}x = 1{code}\n{quote}\n"
        "{panel:title=Heads up|borderStyle=dashed}\npanel _content_\n{panel}\n"
        "{panel}plain panel{panel}"
    )
    assert wiki_to_text(markup) == (
        "> multi line\n"
        "> quote with\n"
        ">\n"
        "> ```\n"
        "> x = 1\n"
        "> ```\n"
        "\n"
        "Heads up\n"
        "\n"
        "panel content\n"
        "\n"
        "plain panel"
    )


def test_wiki_realistic_description():
    markup = (
        "h2. Summary\r\n"
        "We need to *replace* the nightly billing job.\r\n"
        "\r\n"
        "h2. Impacted teams\r\n"
        "* Payments ([~jsmith])\r\n"
        "* Ledger\r\n"
        "\r\n"
        "!diagram.png|width=600!\r\n"
        "See [design doc|https://wiki.example.com/x] for details.\r\n"
    )
    assert wiki_to_text(markup) == (
        "## Summary\n"
        "\n"
        "We need to replace the nightly billing job.\n"
        "\n"
        "## Impacted teams\n"
        "\n"
        "- Payments (@jsmith)\n"
        "- Ledger\n"
        "\n"
        "See design doc (https://wiki.example.com/x) for details."
    )


def test_wiki_empty():
    assert wiki_to_text("") == ""
    assert wiki_to_text(" \r\n \n") == ""


# --------------------------------------------------------------------------------------------
# ADF
# --------------------------------------------------------------------------------------------


def text(value: str, **extra) -> dict:
    return {"type": "text", "text": value, **extra}


def paragraph(*content: dict) -> dict:
    return {"type": "paragraph", "content": list(content)}


def item(*content: dict) -> dict:
    return {"type": "listItem", "content": list(content)}


def link(value: str, href: str, *marks: dict) -> dict:
    return text(value, marks=[*marks, {"type": "link", "attrs": {"href": href}}])


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


# --------------------------------------------------------------------------------------------
# description_to_text
# --------------------------------------------------------------------------------------------


def test_description_dispatches_on_type():
    assert description_to_text(None) == ""
    assert description_to_text("h1. Title\n*bold*") == "# Title\n\nbold"
    assert description_to_text({"type": "doc", "content": [paragraph(text("hi"))]}) == "hi"


def test_description_string_holding_adf_json_is_read_as_adf():
    serialised = json.dumps({"type": "doc", "version": 1, "content": [paragraph(text("hi"))]})
    assert description_to_text(serialised) == "hi"
    assert description_to_text('{"type": "doc" is not json') == '{"type": "doc" is not json'


def test_description_rejects_other_types():
    with pytest.raises(TypeError):
        description_to_text(42)  # type: ignore[arg-type]
