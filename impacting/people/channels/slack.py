"""Slack: an incoming-webhook message with Block Kit blocks.

```json
{"text": "impacting: 2 new requests for sig-storage",
 "blocks": [
   {"type": "header", "text": {"type": "plain_text", "text": "impacting: 2 new requests for sig-storage"}},
   {"type": "section", "text": {"type": "mrkdwn",
     "text": "*<https://…/briefs/KEP-1.html|KEP-1 Volume health>*\n• team sig-storage: …"}},
   {"type": "context", "elements": [{"type": "mrkdwn", "text": "Sent by impacting …"}]}]}
```

`text` is what notifications show. Slack allows 50 blocks and 3,000 characters per section, so
each request gets one section (reasons shortened), and past 45 requests the rest are listed a
line each, so every request is still named.
"""

from __future__ import annotations

from typing import Any

from impacting.people.digests import Digest, RequestNews, shorten

SECTION_LIMIT = 3000
REASON_LIMIT = 400
SECTIONS = 45


def payload(digest: Digest) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": shorten(digest.title, 150)}}]
    requests = list(digest.requests)
    for request in requests[:SECTIONS]:
        blocks.append(_section(_request(request)))
    rest = [f"• {_link(r)}" for r in requests[SECTIONS:]]
    while rest:
        chunk: list[str] = []
        while rest and len("\n".join([*chunk, rest[0]])) <= SECTION_LIMIT:
            chunk.append(rest.pop(0))
        if not chunk:  # one line longer than a section: shortened rather than lost
            chunk = [shorten(rest.pop(0), SECTION_LIMIT)]
        blocks.append(_section("\n".join(chunk)))
    if digest.how_to_answer:
        blocks.append(_section(shorten(digest.how_to_answer, SECTION_LIMIT)))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
        f"Sent by impacting on {digest.generated_at:%Y-%m-%d %H:%M} UTC · message {digest.message_id}")}]})
    return {"text": digest.title, "blocks": blocks[:50], "unfurl_links": False}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": shorten(text, SECTION_LIMIT)}}


def _link(request: RequestNews) -> str:
    label = _escape(request.label)
    return f"*<{request.link}|{label}>*" if request.link else f"*{label}*"


def _request(request: RequestNews) -> str:
    lines = [_link(request)]
    for entry in request.entries:
        lines.append(f"• {_escape(entry.heading)}: {_escape(shorten(entry.reason, REASON_LIMIT))}")
        answer = entry.answer(request.key)
        if answer:
            lines.append(f"   answer: `{_escape(answer)}`")
    return "\n".join(lines)


def _escape(text: str) -> str:
    """Slack's mrkdwn needs &, < and > escaped."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
