"""The optional comment back to Jira: once per triaged request, its decided teams and a link.

Off by default (`people.jira_comment`). For each request awaiting triage with at least one
team decided `notify`, and no comment recorded in `jira_comments`, the issue's comments are
read first: a comment of ours (written by the same Jira user and carrying `MARKER`) counts as
done, so a lost warehouse or a second installation never comments twice. Otherwise one comment
is added with the real `jira` client: Atlassian Document Format through REST API v3 on Cloud,
wiki markup through v2 on Server and Data Center.

The Jira user needs *Browse projects* and *Add Comments* on the requests' projects (on Cloud, a
scoped API token needs `read:jira-work` and `write:jira-work`). A refused or failed comment is
recorded and retried next run (up to `people.max_attempts` runs); it never fails the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from impacting.people.routing import Routing
from impacting.sources.issue_source import SourceError
from impacting.triage.metrics import NOTIFY
from impacting.warehouse.store import missing_as_none, upsert_rows
from impacting.warehouse.tables import JIRA_COMMENTS, PROJECTS, TEAM_PREDICTIONS

MARKER = "[impacting triage]"
POSTED, FOUND, FAILED, GAVE_UP = "posted", "found", "failed", "gave_up"
PAGE = 100


@dataclass
class CommentRun:
    posted: int = 0
    found: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)


def wiki_body(teams: Sequence[str], link: str | None) -> str:
    """The comment in Jira wiki markup (REST API v2)."""
    lines = [f"Teams impacted by this request, as triaged: *{', '.join(teams)}*"]
    if link:
        lines.append(f"Brief: [{link}|{link}]")
    lines.append(f"{MARKER} Written once by the impacting pipeline; the team field and the "
                 "feedback command record corrections.")
    return "\n".join(lines)


def adf_body(teams: Sequence[str], link: str | None) -> dict[str, Any]:
    """The same comment in Atlassian Document Format (REST API v3, Cloud)."""
    content: list[dict[str, Any]] = [{"type": "paragraph", "content": [
        {"type": "text", "text": "Teams impacted by this request, as triaged: "},
        {"type": "text", "text": ", ".join(teams), "marks": [{"type": "strong"}]}]}]
    if link:
        content.append({"type": "paragraph", "content": [
            {"type": "text", "text": "Brief: "},
            {"type": "text", "text": link, "marks": [{"type": "link", "attrs": {"href": link}}]}]})
    content.append({"type": "paragraph", "content": [{"type": "text", "text": (
        f"{MARKER} Written once by the impacting pipeline; the team field and the feedback "
        "command record corrections.")}]})
    return {"type": "doc", "version": 1, "content": content}


def body_text(body: Any) -> str:
    """A comment body's text: wiki markup as it is, ADF with its text nodes joined."""
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        return " ".join([str(body.get("text") or ""), *(body_text(c) for c in body.get("content") or [])])
    if isinstance(body, list):
        return " ".join(body_text(item) for item in body)
    return ""


def identity(user: Any) -> set[str]:
    """The ways a Jira user is named: account id (Cloud), user name and key (Data Center)."""
    if not isinstance(user, dict):
        return set()
    return {str(user[k]) for k in ("accountId", "name", "key") if user.get(k)}


class Commenter:
    """Reads and writes comments through a connected live source (`JiraSource`)."""

    def __init__(self, source: Any):
        self.source = source
        source.client  # noqa: B018 - connecting checks the address and credentials, learns the deployment
        self.cloud = source.deployment == "Cloud"
        self.client = source.new_client("3" if self.cloud else "2")
        me = source.call("read who we are (GET myself)", self.client.myself)
        self.me = identity(me)

    def find(self, key: str) -> str | None:
        """The id of an earlier comment of ours on `key`, if any (every page is read)."""
        start = 0
        while True:
            page = self.source.call(f"read the comments of {key}", self.client.comments, key,
                                    start_at=start, max_results=PAGE)
            for comment in page:
                raw = getattr(comment, "raw", {}) or {}
                mine = not self.me or identity(raw.get("author")) & self.me
                if mine and MARKER in body_text(raw.get("body")):
                    return str(raw.get("id"))
            if len(page) < PAGE:
                return None
            start += len(page)

    def post(self, key: str, teams: Sequence[str], link: str | None) -> str:
        body = adf_body(teams, link) if self.cloud else wiki_body(teams, link)
        comment = self.source.call(f"comment on {key}", self.client.add_comment, key, body)
        return str((getattr(comment, "raw", {}) or {}).get("id") or getattr(comment, "id", ""))


def comment_on_requests(con: duckdb.DuckDBPyConnection, source: Any, routing: Routing, now: datetime,
                        max_attempts: int = 5) -> CommentRun:
    """Comment once on every triaged request not yet commented on; record each outcome."""
    run = CommentRun()
    todo = _requests(con, max_attempts)
    if not len(todo):
        return run
    try:
        commenter = Commenter(source)
    except SourceError as error:
        run.problems.append(f"no Jira comments this run: {error}")
        return run
    for row in todo.to_dict("records"):
        key, teams = row["key"], list(row["teams"])
        link = routing.link(key, missing_as_none(row["url"]))
        record = {"request_key": key, "teams": teams, "link": link,
                  "attempts": int(missing_as_none(row["attempts"]) or 0) + 1, "error": None}
        try:
            found = commenter.find(key)
            if found:
                record |= {"state": FOUND, "comment_id": found, "commented_at": now}
                run.found += 1
            else:
                posted = commenter.post(key, teams, link)
                record |= {"state": POSTED, "comment_id": posted, "commented_at": now}
                run.posted += 1
        except SourceError as error:
            message = (f"could not comment on {key}: {error}. Commenting needs the 'Add Comments' "
                       "permission on the project (Cloud scoped tokens: write:jira-work)")
            state = GAVE_UP if record["attempts"] >= max_attempts else FAILED
            record |= {"state": state, "error": message}
            run.failed += 1
            run.problems.append(message)
        upsert_rows(con, JIRA_COMMENTS, pd.DataFrame([record]))
    return run


def _requests(con: duckdb.DuckDBPyConnection, max_attempts: int) -> pd.DataFrame:
    """Requests with decided teams and no comment of ours yet, with their teams and link."""
    return con.execute(f"""
        SELECT t.request_key AS key, list(t.team ORDER BY t.rank) AS teams, any_value(p.url) AS url,
               any_value(c.attempts) AS attempts
        FROM {TEAM_PREDICTIONS.qualified} t
        JOIN {PROJECTS.qualified} p ON p.key = t.request_key
        LEFT JOIN {JIRA_COMMENTS.qualified} c ON c.request_key = t.request_key
        WHERE t.decision = '{NOTIFY}'
          AND (c.state IS NULL OR (c.state = '{FAILED}' AND c.attempts < {int(max_attempts)}))
        GROUP BY t.request_key ORDER BY t.request_key""").df()
