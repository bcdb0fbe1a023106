"""Where each page of the site lives, relative to the site folder. The layout is a promise:
alerts and other tools link to these paths (`<site url>/briefs/<KEY>.html`).

    index.html             open requests, newest first, with their teams
    briefs/<KEY>.html      one brief per request (and briefs/<KEY>.md, the same in Markdown)
    teams/<team>.html      one inbox per team: the requests it is asked to read
    delivery.html          the delivery report

Names come from Jira (keys, team names), so each is turned into a safe file name: a name made
only of letters, digits, `.`, `_` and `-` that does not start with a dot is kept as it is; anything else
becomes a readable slug plus a short hash of the original, so two names never share a file.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

INDEX = "index.html"
DELIVERY = "delivery.html"
BRIEFS = "briefs"
TEAMS = "teams"

_SAFE = re.compile(r"[A-Za-z0-9._-]{1,100}")


def safe_name(name: str) -> str:
    """A file name (without extension) for `name` that is safe on every file system and URL."""
    if _SAFE.fullmatch(name) and not name.startswith("."):
        return name
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-").lower()[:60] or "team"
    return f"{slug}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


def brief_page(key: str) -> str:
    """`briefs/<KEY>.html`: the page a request's alert links to."""
    return f"{BRIEFS}/{safe_name(key)}.html"


def brief_markdown(key: str) -> str:
    return f"{BRIEFS}/{safe_name(key)}.md"


def team_page(team: str) -> str:
    """`teams/<team>.html`: the team's inbox."""
    return f"{TEAMS}/{safe_name(team)}.html"
