"""The frame every page of the site shares, and the only ways text and links enter HTML.

Every page is self-contained (one inline style sheet, no scripts, no fonts or images to fetch),
prints on A4, and carries a Content-Security-Policy that forbids scripts, so even a mistake
could not make text from a document run. Text from Jira or a document only enters a page
through :func:`esc`; a link only through :func:`link`, which drops any address that is not
http(s) or one of the site's own relative paths.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urlsplit

from impacting.people.paths import DELIVERY, INDEX

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
*{box-sizing:border-box}
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2933;
background:#fff;margin:0 auto;max-width:920px;padding:12px 28px 32px;line-height:1.45;font-size:15px}
a{color:#1d4ed8}a:visited{color:#5b21b6}
nav{font-size:13px;color:#52606d;border-bottom:1px solid #e4e7eb;padding:6px 0 8px;margin-bottom:14px}
nav a{margin-right:14px}
.kicker{font-size:13px;color:#52606d;margin:0 0 2px;text-transform:uppercase;letter-spacing:.04em}
h1{font-size:25px;margin:2px 0 6px;line-height:1.25}
h2{font-size:17px;margin:22px 0 6px;padding-bottom:3px;border-bottom:1px solid #e4e7eb}
h3{font-size:15px;margin:0 0 4px}
.facts{color:#3e4c59;font-size:14px;margin:0 0 8px}.facts span{margin-right:14px;white-space:nowrap}
.lead{font-size:17px;background:#f0f7ff;border-left:4px solid #1d4ed8;padding:10px 14px;margin:6px 0}
.note{color:#52606d;font-size:13px;margin:3px 0}
.empty{color:#52606d;font-style:italic;margin:4px 0}
.chips{list-style:none;padding:0;margin:4px 0}.chips li{display:inline-block;background:#eef2f6;
border-radius:12px;padding:1px 10px;margin:0 6px 6px 0;font-size:13px}
.team{border:1px solid #d9e2ec;border-radius:8px;padding:8px 12px;margin:8px 0;break-inside:avoid}
.team.notify{border-left:5px solid #0f766e}.team.unsure{border-left:5px solid #b45309}
.team p{margin:3px 0}.read{background:#fffbea;padding:3px 8px;border-radius:4px;margin:4px 0}
.read ul{margin:2px 0 2px 18px;padding:0}td.key,td.day,.team-name{white-space:nowrap}
.bar{display:inline-block;width:90px;height:9px;background:#e4e7eb;border-radius:5px;
vertical-align:middle;margin-left:8px}.bar span{display:block;height:9px;border-radius:5px;background:#0f766e}
.unsure .bar span{background:#b45309}.p{font-variant-numeric:tabular-nums;font-weight:600}
blockquote{margin:4px 0 4px 6px;padding:2px 10px;border-left:3px solid #cbd2d9;color:#323f4b;font-size:14px}
blockquote cite{display:block;color:#52606d;font-size:12px;font-style:normal}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:4px 0}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f5f7fa;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.problem{color:#9b1c1c}.tag{font-size:12px;border-radius:4px;padding:0 5px;margin-right:4px;
white-space:nowrap}.tag.notify{background:#d1fae5;color:#065f46}.tag.unsure{background:#fef3c7;color:#92400e}
details summary{cursor:pointer;color:#1d4ed8}.print-only{display:none}
footer{margin-top:26px;border-top:1px solid #e4e7eb;padding-top:8px;color:#52606d;font-size:12.5px}
@page{size:A4;margin:14mm 13mm}
@media print{body{max-width:none;padding:0;font-size:11pt}nav,details{display:none}
.print-only{display:block}a{color:#1f2933;text-decoration:none}h2{break-after:avoid}
.lead{background:none}}
"""

_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


def esc(value) -> str:
    """Text as HTML text or attribute value: every `<`, `>`, `&` and quote escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def web_url(url: str | None) -> str | None:
    """`url` if it is an http(s) address (as Jira's issue links are), else None: a
    `javascript:` or `data:` address from Jira must never become a link."""
    if not url:
        return None
    cleaned = _CONTROL.sub("", str(url))
    parts = urlsplit(cleaned)
    return cleaned if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def page_url(path: str, root: str = "") -> str:
    """A link to a page of the site (`briefs/KEP-1.html`) from a page `root` levels below it."""
    return root + quote(path, safe="/")


def link(href: str | None, text: str, title: str | None = None) -> str:
    """`<a>` for a vetted `href` (from :func:`web_url` or :func:`page_url`), else plain text."""
    if not href:
        return esc(text)
    extra = f' title="{esc(title)}"' if title else ""
    return f'<a href="{esc(href)}"{extra}>{esc(text)}</a>'


def nav(root: str) -> str:
    """The site's navigation, from a page `root` levels below the site folder."""
    return (f'<nav>{link(page_url(INDEX, root), "Open requests")}'
            f'{link(page_url(INDEX, root) + "#teams", "Team inboxes")}'
            f'{link(page_url(DELIVERY, root), "Delivery report")}</nav>')


def page(title: str, body: str, root: str | None = "") -> str:
    """A whole page. `root`: the way from this page to the site folder (`""` or `"../"`), or
    None for a page outside the site (no navigation)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{esc(title)}</title>
<style>{STYLE}</style>
</head><body>
{nav(root) if root is not None else ""}{body}
</body></html>
"""


def bar(probability: float | None) -> str:
    """A small bar drawn by CSS only, for a probability."""
    if probability is None:
        return ""
    width = max(0.0, min(1.0, probability)) * 100
    return f'<span class="bar"><span style="width:{width:.0f}%"></span></span>'
