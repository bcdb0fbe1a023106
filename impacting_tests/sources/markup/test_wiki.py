"""Jira wiki markup (API v2 descriptions) -> plain text."""

from __future__ import annotations

import pytest

from impacting.sources.markup import wiki_to_text


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
