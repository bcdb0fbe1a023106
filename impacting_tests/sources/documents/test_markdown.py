"""Markdown documents: kept as written, setext headings as `#` lines, headings as a renderer
sees them."""

from __future__ import annotations

from impacting.sources.documents import extract_text


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


def test_markdown_inline_code_with_three_backticks_does_not_open_a_fence():
    # A backtick fence's info string cannot hold a backtick, so this line is inline code.
    source = "# Design\n\n```--flag``` is set at startup.\n\n## Rollout\n\nText.\n"
    result = extract_text(source.encode(), "d.md")
    assert result.headings == ("Design", "Rollout")
    assert result.text == source.strip()


def test_markdown_closing_fence_indented_less_than_its_list_item_still_closes_it():
    source = "- Details:\n\n  ```\n  key: value\n ```\n\n## Next\n\nLast\n====\n"
    result = extract_text(source.encode(), "d.md")
    assert result.headings == ("Next", "Last")
    assert result.text.endswith("\n ```\n\n## Next\n\n# Last")


def test_markdown_fence_closed_inside_its_list_item_leaves_a_later_unclosed_fence_alone():
    source = "- item\n  ```\n  code\n  ```\n```\n# in the unclosed fence\n"
    assert extract_text(source.encode(), "d.md").headings == ()


def test_markdown_headings_inside_containers_count_but_are_not_rewritten():
    source = "> # Quoted\n\n- Item\n  ---\n\n> Setext in a quote\n> ===\n"
    result = extract_text(source.encode(), "d.md")
    assert result.headings == ("Quoted", "Item", "Setext in a quote")
    assert result.text == source.strip()


def test_markdown_underlines_after_tables_html_and_link_definitions_are_not_headings():
    for source in ("| a | b |\n|---|---|\n| 1 | 2 |\n---",
                   "<div>\nhtml\n</div>\nText\n===",
                   "[spec]: https://example.com/spec\n==="):
        result = extract_text(source.encode(), "d.md")
        assert (result.text, result.headings) == (source, ()), source


def test_markdown_consecutive_setext_headings_and_empty_atx_headings():
    result = extract_text(b"One\n===\nTwo\n---\n\n## ##\n\n#\n\nbody", "d.md")
    assert result.text == "# One\n## Two\n\n## ##\n\n#\n\nbody"
    assert result.headings == ("One", "Two")
