"""Digests: one message per recipient and channel per run, listing all its new requests.

A digest holds, for each request, its title, the link to its brief (or its Jira issue) and
every alert for this recipient about it: why a team is impacted, which past projects make a
person relevant, or, for the triage lead, the teams the model is unsure about with the evidence
and how to answer. Channels render a digest (`channels/`); the plain text here is what every
channel falls back on (email's text part, Slack's notification text, the webhook's `text`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from impacting.people.routing import FALLBACK, PERSON, REVIEW, TEAM, TRIAGE_LEAD

ANSWER = "impacting feedback {key} {team} confirm|reject [--by NAME] [--note TEXT]"


@dataclass(frozen=True)
class Entry:
    """One alert inside a digest."""

    recipient_kind: str
    recipient: str
    recipient_id: str | None
    score: float
    reason: str

    @property
    def heading(self) -> str:
        if self.recipient_kind == TEAM:
            return f"team {self.recipient}"
        if self.recipient_kind == REVIEW:
            return f"unsure: {self.recipient}"
        return self.recipient

    def answer(self, key: str) -> str | None:
        """For the review queue: the command that records a decision."""
        return ANSWER.format(key=key, team=self.recipient) if self.recipient_kind == REVIEW else None


@dataclass(frozen=True)
class RequestNews:
    key: str
    title: str | None
    link: str | None
    created_at: datetime | None
    entries: tuple[Entry, ...]

    @property
    def label(self) -> str:
        return f"{self.key} {self.title}" if self.title else self.key


@dataclass(frozen=True)
class Digest:
    message_id: str
    route: str                   # the routing file's owner: "team sig-storage", "triage_lead", ...
    channel: str                 # slack, teams, webhook or email
    requests: tuple[RequestNews, ...]
    generated_at: datetime
    site_url: str | None = None
    feedback_dir: str | None = None

    @property
    def audience(self) -> str:
        if self.route == TRIAGE_LEAD:
            return "the triage lead"
        if self.route == FALLBACK:
            return "recipients without a route of their own"
        return self.route.split(" ", 1)[1] if " " in self.route else self.route

    @property
    def alerts(self) -> int:
        return sum(len(r.entries) for r in self.requests)

    @property
    def is_review(self) -> bool:
        return any(e.recipient_kind == REVIEW for r in self.requests for e in r.entries)

    @property
    def title(self) -> str:
        n = len(self.requests)
        what = "request" if n == 1 else "requests"
        review = " to triage" if self.route == TRIAGE_LEAD else ""
        return f"impacting: {n} new {what}{review} for {self.audience}"

    @property
    def how_to_answer(self) -> str | None:
        """The review queue's instructions, when the digest asks for decisions."""
        if not self.is_review:
            return None
        where = f" in {self.feedback_dir}" if self.feedback_dir else ""
        return ("Answer each unsure team with `" + ANSWER.format(key="KEY", team="TEAM") + "`, or a "
                f"line `KEY,TEAM,confirmed|rejected,NAME` in a CSV file{where} "
                "(header: request,team,verdict,author). The next run takes the decision into account.")

    def text(self, limit: int | None = None) -> str:
        """The digest as plain text; `limit` shortens each reason (chat channels)."""
        lines = [self.title, ""]
        for request in self.requests:
            lines.append(request.label)
            if request.link:
                lines.append(f"  {request.link}")
            for entry in request.entries:
                lines.append(f"  - {entry.heading}: {shorten(entry.reason, limit)}")
                answer = entry.answer(request.key)
                if answer:
                    lines.append(f"    answer: {answer}")
            lines.append("")
        if self.how_to_answer:
            lines.append(self.how_to_answer.replace("`", ""))
        return "\n".join(lines).rstrip() + "\n"


def shorten(text: str, limit: int | None) -> str:
    text = " ".join(str(text).split())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def message_id(route: str, channel: str, at: datetime) -> str:
    """Stable for a route, channel and run time: the same digest keeps its id if recorded twice."""
    return hashlib.sha256(f"{route}|{channel}|{at.isoformat()}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Pending:
    """An alert waiting to go out on one channel, with what the digest says about its request."""

    request_key: str
    recipient_kind: str
    recipient: str
    recipient_id: str | None
    score: float
    reason: str
    title: str | None
    link: str | None
    created_at: datetime | None


def build_digest(route: str, channel: str, pending: Iterable[Pending], at: datetime,
                 site_url: str | None = None, feedback_dir: str | None = None) -> Digest:
    """One digest of every pending alert for one route and channel: requests oldest first,
    each with its alerts (teams, then people, then unsure teams)."""
    by_request: dict[str, list[Pending]] = {}
    for item in pending:
        by_request.setdefault(item.request_key, []).append(item)
    order = {TEAM: 0, PERSON: 1, REVIEW: 2}
    requests = []
    for key, items in sorted(by_request.items(), key=lambda kv: (_sortable(kv[1][0].created_at), kv[0])):
        items = sorted(items, key=lambda p: (order.get(p.recipient_kind, 3), -p.score, p.recipient))
        first = items[0]
        requests.append(RequestNews(key, first.title, first.link, first.created_at, tuple(
            Entry(p.recipient_kind, p.recipient, p.recipient_id, p.score, p.reason) for p in items)))
    return Digest(message_id(route, channel, at), route, channel, tuple(requests), at, site_url,
                  feedback_dir)


def _sortable(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "~"
