"""A plain webhook: one JSON document per digest, described by `SCHEMA` (JSON Schema), so any
service can take it apart. `text` is the digest as plain text, so a chat webhook that only
reads `text` still shows something readable.
"""

from __future__ import annotations

from typing import Any

from impacting.people.digests import Digest

KIND = "impacting.digest"
VERSION = 1

_ALERT = {
    "type": "object",
    "required": ["recipient_kind", "recipient", "score", "reason"],
    "properties": {
        "recipient_kind": {"enum": ["team", "person", "review"],
                           "description": "team: the team is impacted; person: they delivered "
                           "similar work; review: the team is unsure, a person decides"},
        "recipient": {"type": "string", "description": "the team, or the person's display name"},
        "recipient_id": {"type": ["string", "null"], "description": "the person's Jira account id "
                         "or user name"},
        "score": {"type": "number", "description": "team/review: probability; person: how much "
                  "of the similar work they did, times its similarity"},
        "reason": {"type": "string", "description": "why this recipient is told"},
        "answer": {"type": ["string", "null"], "description": "review: the command that records "
                   "a decision"},
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "impacting digest, version 1",
    "type": "object",
    "required": ["type", "version", "message_id", "generated_at", "recipient", "text", "requests"],
    "properties": {
        "type": {"const": KIND},
        "version": {"const": VERSION},
        "message_id": {"type": "string", "description": "the same id as `messages.message_id`"},
        "generated_at": {"type": "string", "format": "date-time"},
        "recipient": {"type": "object", "required": ["route", "name"], "properties": {
            "route": {"type": "string", "description": "team NAME, person NAME, triage_lead or fallback"},
            "name": {"type": "string"}}},
        "site_url": {"type": ["string", "null"]},
        "text": {"type": "string", "description": "the whole digest as plain text"},
        "how_to_answer": {"type": ["string", "null"]},
        "requests": {"type": "array", "items": {
            "type": "object", "required": ["key", "alerts"],
            "properties": {
                "key": {"type": "string"},
                "title": {"type": ["string", "null"]},
                "url": {"type": ["string", "null"],
                        "description": "the request's brief, else its Jira issue"},
                "created_at": {"type": ["string", "null"], "format": "date-time"},
                "alerts": {"type": "array", "items": _ALERT, "minItems": 1},
            }}},
    },
}


def payload(digest: Digest) -> dict[str, Any]:
    return {
        "type": KIND,
        "version": VERSION,
        "message_id": digest.message_id,
        "generated_at": digest.generated_at.isoformat(),
        "recipient": {"route": digest.route, "name": digest.audience},
        "site_url": digest.site_url,
        "text": digest.text(),
        "how_to_answer": digest.how_to_answer,
        "requests": [{
            "key": r.key, "title": r.title, "url": r.link,
            "created_at": r.created_at.isoformat() if r.created_at else None,
            "alerts": [{"recipient_kind": e.recipient_kind, "recipient": e.recipient,
                        "recipient_id": e.recipient_id, "score": round(e.score, 4), "reason": e.reason,
                        "answer": e.answer(r.key)} for e in r.entries],
        } for r in digest.requests],
    }
