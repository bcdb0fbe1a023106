"""Microsoft Teams: an Adaptive Card, in the envelope Teams' Workflows webhooks expect.

```json
{"type": "message",
 "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
   "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
               "type": "AdaptiveCard", "version": "1.4",
               "body": [{"type": "TextBlock", "text": "impacting: 2 new requests for sig-node", ...},
                        {"type": "Container", "items": [...one request...]}, ...],
               "msteams": {"width": "Full"}}}]}
```

Each request is a container: its title (a link to the brief), then a fact per alert. Teams caps
a card at about 28 KB, so reasons are shortened and past 40 requests the rest are listed a line
each.
"""

from __future__ import annotations

from typing import Any

from impacting.people.digests import Digest, RequestNews, shorten

CARD = "application/vnd.microsoft.card.adaptive"
REASON_LIMIT = 300
CONTAINERS = 40


def payload(digest: Digest) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": digest.title, "weight": "Bolder", "size": "Medium", "wrap": True}]
    requests = list(digest.requests)
    body += [_container(r) for r in requests[:CONTAINERS]]
    if requests[CONTAINERS:]:
        body.append({"type": "TextBlock", "wrap": True, "text": "\n\n".join(
            f"- {_title(r)}" for r in requests[CONTAINERS:])})
    if digest.how_to_answer:
        body.append({"type": "TextBlock", "wrap": True, "isSubtle": True, "text": digest.how_to_answer})
    body.append({"type": "TextBlock", "isSubtle": True, "size": "Small", "wrap": True, "text": (
        f"Sent by impacting on {digest.generated_at:%Y-%m-%d %H:%M} UTC · message {digest.message_id}")})
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body, "msteams": {"width": "Full"}}
    return {"type": "message", "attachments": [{"contentType": CARD, "contentUrl": None, "content": card}]}


def _title(request: RequestNews) -> str:
    label = request.label.replace("[", "(").replace("]", ")")
    return f"[{label}]({request.link})" if request.link else label


def _container(request: RequestNews) -> dict[str, Any]:
    facts = []
    for entry in request.entries:
        value = shorten(entry.reason, REASON_LIMIT)
        answer = entry.answer(request.key)
        facts.append({"title": entry.heading, "value": value + (f" — answer: {answer}" if answer else "")})
    return {"type": "Container", "separator": True, "items": [
        {"type": "TextBlock", "text": _title(request), "weight": "Bolder", "wrap": True},
        {"type": "FactSet", "facts": facts}]}
