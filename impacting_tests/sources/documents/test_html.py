"""HTML documents: content rendered to blocks, page chrome dropped."""

from __future__ import annotations

from impacting.sources.documents import extract_text
from impacting_tests.sources.documents.builders import assert_not_ok

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
