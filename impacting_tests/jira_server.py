"""A Jira-compatible HTTP server, Cloud or Data Center, for tests and for trying the connector by hand.

It serves real issue payloads (`fixtures/jira_server_issues.jsonl`, 50 issues of the public
Appcelerator Jira) cloned under new keys up to the number asked for, each with a generated
changelog (status transitions consistent with the issue's status; every tenth issue has more
than 20 entries) and some real design documents (`data/sample` KEP markdown) attached. It
behaves like Jira where the connector can tell:

- `GET /rest/api/2/serverInfo` (no auth) says `deploymentType` Cloud or Server;
  `GET /rest/api/2/myself` gives the user's `timeZone`; `GET /rest/api/2/field` lists fields;
  `GET /rest/api/2/status` the status list.
- Cloud: `GET|POST /rest/api/{2,3}/search/jql` pages with `nextPageToken` and gives no `total`;
  `/rest/api/{2,3}/search` answers 410 Gone. `expand=changelog` embeds at most 20 histories
  (with `total` saying how many there are); `GET /rest/api/2/issue/{key}/changelog` pages the
  rest (`startAt`, `maxResults`, `total`, `isLast`, `values`). Attachment content is at
  `/rest/api/2/attachment/content/{id}`, which redirects (303) to a media URL.
- Data Center: `GET|POST /rest/api/2/search` pages with `startAt`/`maxResults`/`total` and embeds
  the whole changelog; there is no changelog resource; content is at
  `/secure/attachment/{id}/{file name}`.
- JQL (`jira_jql`): dates read in the user's time zone to the minute; a bad query is a 400 with
  Jira's `errorMessages`; `key in (...)` naming a missing issue is a 400 too.
- Comments: `GET|POST /rest/api/{2,3}/issue/{key}/comment` (`startAt`, `maxResults`, `total`,
  `comments`), starting from the real comments the issues came with. REST v2 bodies are wiki
  markup strings, v3 (Cloud only) Atlassian Document Format; a body of the wrong kind is a 400
  as Jira words it. Adding a comment moves the issue's `updated`, as in Jira.
- Auth: Cloud basic (email + API token), Data Center bearer (PAT); a wrong one is a 401.
- Faults, switchable while running: a status (429 with Retry-After in seconds or as an HTTP
  date, 503, 401 ...), a dropped connection (before or in the middle of an answer), a slow
  answer; each for the next N matching requests, after skipping some.
- Counters of what was served (`stats()`, or `GET /_control/stats`): requests per route, issue
  bodies per key (an issue with more than `updated` in it), listings, changelog pages, downloads.

Standalone: `python -m impacting_tests.jira_server --mode cloud --port 8765` prints the
environment to point `impacting run` at it, and the control endpoints:

    curl -s localhost:8765/_control/stats
    curl -s -X POST 'localhost:8765/_control/edit?key=AC-19&summary=New+title'
    curl -s -X POST 'localhost:8765/_control/delete?key=AC-19'
    curl -s -X POST localhost:8765/_control/faults -d '[{"status": 429, "retry_after": "2"}]'
    curl -s -X POST localhost:8765/_control/stats/reset
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from impacting.sources.jira_fields import parse_jira_time
from impacting_tests import jira_jql

FIXTURE = Path(__file__).parent / "fixtures" / "jira_server_issues.jsonl"
SAMPLE_DOCUMENTS = Path(__file__).parents[1] / "data" / "sample" / "attachments"

CLOUD_EMBEDDED_HISTORIES = 20
CHANGELOG_PAGE_CAP = 100
STATUSES = {  # name -> (id, category id, category key, category name)
    "Open": ("1", 2, "new", "To Do"),
    "In Progress": ("3", 4, "indeterminate", "In Progress"),
    "Reopened": ("4", 2, "new", "To Do"),
    "Resolved": ("5", 3, "done", "Done"),
    "Closed": ("6", 3, "done", "Done"),
}
PATHS = {  # how an issue reached its status
    "Open": [], "In Progress": ["In Progress"], "Reopened": ["In Progress", "Resolved", "Reopened"],
    "Resolved": ["In Progress", "Resolved"], "Closed": ["In Progress", "Resolved", "Closed"],
}
GONE_MESSAGE = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
                "A full migration guideline is available at "
                "https://developer.atlassian.com/changelog/#CHANGE-2046")


@dataclass
class Fault:
    """What to do instead of answering, to the next `times` requests (-1: until cleared) whose
    path starts with `path` and whose query string contains `query`, after skipping `after`."""

    kind: str = "status"  # status | drop | drop-mid | slow
    status: int = 503
    retry_after: str | None = None  # "7" (seconds), or "date+7" for an HTTP date 7 s ahead
    path: str = "/rest/"
    query: str = ""
    method: str = ""
    after: int = 0
    times: int = 1
    delay: float = 0.0


def jira_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class JiraServer:
    """The server and its data. `start()` binds a port (0: any free one); `url` is its base."""

    def __init__(self, mode: str = "cloud", *, issues: int = 300, email: str | None = None,
                 token: str | None = None, pat: str | None = None,
                 user_timezone: str = "America/Los_Angeles", page_cap: int | None = None,
                 deployment: str | None = None):
        if mode not in {"cloud", "dc"}:
            raise ValueError("mode is 'cloud' or 'dc'")
        self.mode = mode
        self.cloud = mode == "cloud"
        self.issue_count = issues
        self.email, self.token, self.pat = email, token, pat
        self.zone = ZoneInfo(user_timezone)
        self.page_cap = page_cap
        self.deployment = deployment if deployment is not None else ("Cloud" if self.cloud else "Server")
        self.lock = threading.RLock()
        self.issues: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self.last_comment_id = 900000
        self.reset_stats()
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, port: int = 0, host: str = "127.0.0.1") -> JiraServer:
        self._http = ThreadingHTTPServer((host, port), _Handler)
        self._http.daemon_threads = True
        self._http.jira = self  # type: ignore[attr-defined]
        self.url = f"http://{host}:{self._http.server_address[1]}"
        self._build()
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> JiraServer:
        return self.start() if self._http is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ----------------------------------------------------------------------------

    def reset_stats(self) -> None:
        with self.lock:
            self.requests: Counter[str] = Counter()
            self.bodies: Counter[str] = Counter()
            self.listed: Counter[str] = Counter()
            self.changelog_pages: Counter[str] = Counter()
            self.downloads: Counter[str] = Counter()
            self.comments_added: Counter[str] = Counter()
            self.log: list[tuple[str, str, str]] = []

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "issue_bodies": sum(self.bodies.values()),
                "issue_bodies_by_key": dict(self.bodies),
                "issues_listed": sum(self.listed.values()),
                "changelog_pages": sum(self.changelog_pages.values()),
                "attachment_downloads": sum(self.downloads.values()),
                "downloads_by_id": dict(self.downloads),
                "comments_added": dict(self.comments_added),
            }

    def add_fault(self, **settings: Any) -> Fault:
        fault = Fault(**settings)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def edit(self, key: str, *, summary: str | None = None, status: str | None = None,
             components: list[str] | None = None) -> str:
        """Change an issue as a person in Jira would: `updated` becomes now, history grows."""
        with self.lock:
            issue = self.issues[key]
            fields = issue["fields"]
            now = datetime.now(UTC)
            item: dict[str, Any]
            if components is not None:
                old_names = ", ".join(c["name"] for c in fields.get("components") or [])
                item = {"field": "Component", "fieldtype": "jira", "from": None, "fromString": old_names,
                        "to": None, "toString": ", ".join(components)}
                fields["components"] = [{"self": f"{self.url}/rest/api/2/component/{100 + i}",
                                         "id": str(100 + i), "name": name}
                                        for i, name in enumerate(components)]
            elif status:
                old = fields["status"]["name"]
                item = {"field": "status", "fieldtype": "jira", "from": STATUSES[old][0],
                        "fromString": old, "to": STATUSES[status][0], "toString": status}
                fields["status"] = _status(status)
            else:
                new = summary or f"{fields['summary']} (edited)"
                item = {"field": "summary", "fieldtype": "jira", "from": None,
                        "fromString": fields["summary"], "to": None, "toString": new}
                fields["summary"] = new
            fields["updated"] = jira_time(now)
            histories = issue["_histories"]
            next_id = int(histories[-1]["id"]) + 1 if histories else int(issue["id"]) * 100
            histories.append({"id": str(next_id),
                              "author": fields.get("reporter"), "created": fields["updated"],
                              "items": [item]})
            return fields["updated"]

    def delete(self, key: str) -> None:
        with self.lock:
            del self.issues[key]

    def attach(self, key: str, file_name: str, content: bytes, mime_type: str = "application/octet-stream",
               size: int | None = None) -> str:
        """Attach a file to an issue, as a person uploading it would (`updated` becomes now);
        returns the attachment's id. `size` overrides what Jira reports (a lying header)."""
        with self.lock:
            issue = self.issues[key]
            fields = issue["fields"]
            attachment_id = str(900000 + len(self.contents))
            attachment = self._document(int(attachment_id), file_name, content, fields)
            attachment.update(mimeType=mime_type, size=len(content) if size is None else size)
            attachment["self"] = f"{self.url}/rest/api/2/attachment/{attachment_id}"
            attachment["content"] = self._content_url(attachment)
            fields.setdefault("attachment", []).append(attachment)
            fields["updated"] = jira_time(datetime.now(UTC))
            return attachment_id

    def put_issue(self, issue: dict[str, Any]) -> None:
        """Add (or replace) an issue exactly as given, however odd its fields: what a hostile or
        broken Jira could send. It gets an empty changelog unless it brings `_histories`."""
        with self.lock:
            issue = copy.deepcopy(issue)
            issue.setdefault("_histories", [])
            issue["self"] = f"{self.url}/rest/api/2/issue/{issue.get('id')}"
            self.issues[issue["key"]] = issue

    def issue(self, key: str) -> dict[str, Any]:
        """The stored issue as `GET /issue/{key}?expand=changelog` would show it on Data Center."""
        with self.lock:
            return self._view(self.issues[key], None, "changelog", 2, embed=None, count=False)

    # -- data -------------------------------------------------------------------------------

    def _build(self) -> None:
        real = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line]
        documents = sorted(SAMPLE_DOCUMENTS.glob("*/*.md"))[:16]
        next_attachment = 700000
        for index in range(self.issue_count):
            source = real[index % len(real)]
            generation = index // len(real)
            issue = copy.deepcopy(source)
            if generation:
                project, _, number = source["key"].rpartition("-")
                issue["key"] = f"{project}-{generation * 10000 + int(number)}"
                issue["id"] = str(int(source["id"]) + generation * 1_000_000)
                _shift(issue, timedelta(days=3 * generation, minutes=generation))
            fields = issue["fields"]
            fields["status"] = _status(fields["status"]["name"])
            issue["self"] = f"{self.url}/rest/api/2/issue/{issue['id']}"
            for attachment in fields.get("attachment") or []:
                if generation:
                    attachment["id"] = str(int(attachment["id"]) + generation * 1_000_000)
            if index % 25 == 3 and documents:
                document = documents[(index // 25) % len(documents)]
                next_attachment += 1
                fields["attachment"].append(self._document(next_attachment, document.name,
                                                           document.read_bytes(), fields))
            if index == 3 and documents:  # the same content attached twice: stored once
                next_attachment += 1
                fields["attachment"].append(self._document(next_attachment, "copy-" + documents[0].name,
                                                           documents[0].read_bytes(), fields))
            if index == 5:  # a hostile file name, and a document too large to fetch
                next_attachment += 1
                fields["attachment"].append(self._document(
                    next_attachment, "../../../../tmp/evil.md",
                    b"# Evil\n\nA file name that tries to climb out of the attachment store.\n", fields))
                next_attachment += 1
                huge = self._document(next_attachment, "huge-spec.pdf", b"%PDF-1.4 never fetched", fields)
                huge.update(size=500 * 1024 * 1024, mimeType="application/pdf")
                fields["attachment"].append(huge)
            for attachment in fields.get("attachment") or []:
                attachment["self"] = f"{self.url}/rest/api/2/attachment/{attachment['id']}"
                attachment["content"] = self._content_url(attachment)
            rng = random.Random(issue["key"])
            issue["_histories"] = _changelog(issue, rng, long=index % 10 == 7)
            self.issues[issue["key"]] = issue

    def _document(self, attachment_id: int, name: str, content: bytes, fields: dict[str, Any]) -> dict:
        self.contents[str(attachment_id)] = content
        return {"id": str(attachment_id), "filename": name, "author": fields.get("reporter"),
                "created": fields["created"], "size": len(content), "mimeType": "text/markdown"}

    def _content_url(self, attachment: dict[str, Any]) -> str:
        if self.cloud:
            return f"{self.url}/rest/api/2/attachment/content/{attachment['id']}"
        return f"{self.url}/secure/attachment/{attachment['id']}/{quote(attachment['filename'], safe='')}"

    def content(self, attachment_id: str) -> bytes | None:
        if attachment_id in self.contents:
            return self.contents[attachment_id]
        for issue in self.issues.values():
            for attachment in issue["fields"].get("attachment") or []:
                if attachment["id"] == attachment_id:
                    size = min(int(attachment.get("size") or 0), 256 * 1024)
                    return random.Random(attachment_id).randbytes(size)
        return None

    # -- what the API shows -----------------------------------------------------------------

    def _view(self, issue: dict[str, Any], fields: list[str] | None, expand: str | None,
              version: int, *, embed: int | None, count: bool = True) -> dict[str, Any]:
        wanted = set(fields or ["*all"])
        everything = not wanted or wanted & {"*all", "*navigable"}
        shown = {name: copy.deepcopy(value) for name, value in issue["fields"].items()
                 if everything or name in wanted}
        if version == 3 and isinstance(shown.get("description"), str):
            shown["description"] = _adf(shown["description"])
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue["id"], "self": f"{self.url}/rest/api/{version}/issue/{issue['id']}",
            "key": issue["key"], "fields": shown,
        }
        if expand and "changelog" in expand:
            histories = issue["_histories"]
            embedded = histories if embed is None else histories[:embed]
            out["changelog"] = {"startAt": 0, "maxResults": len(embedded), "total": len(histories),
                                "histories": copy.deepcopy(embedded)}
        if count:
            if set(shown) - {"updated"}:
                self.bodies[issue["key"]] += 1
            else:
                self.listed[issue["key"]] += 1
        return out

    def search(self, params: dict[str, Any], version: int) -> tuple[int, dict[str, Any]]:
        try:
            projects = {issue["fields"]["project"]["key"] for issue in self.issues.values()}
            query = jira_jql.parse(str(params.get("jql") or ""), zone=self.zone, now=datetime.now(UTC),
                                   known_keys=set(self.issues), known_projects=projects)
        except jira_jql.JqlError as error:
            extra = {"warningMessages": []} if self.cloud else {"errors": {}}
            return 400, {"errorMessages": [str(error)], **extra}
        found = query.sort([issue for issue in self.issues.values() if query.matches(issue)])
        fields = _list(params.get("fields"))
        expand = ",".join(_list(params.get("expand")))
        embed = CLOUD_EMBEDDED_HISTORIES if self.cloud else None
        if self.cloud:
            try:
                start = int(base64.urlsafe_b64decode(params["nextPageToken"]).decode()) \
                    if params.get("nextPageToken") else 0
            except (ValueError, UnicodeDecodeError):
                return 400, {"errorMessages": ["The nextPageToken is invalid."], "warningMessages": []}
            size = min(int(params.get("maxResults") or 50), self.page_cap or 100)
            page = found[start:start + size]
            body: dict[str, Any] = {
                "issues": [self._view(i, fields, expand, version, embed=embed) for i in page]}
            if start + size < len(found):
                body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
                body["isLast"] = False
            else:
                body["isLast"] = True
            return 200, body
        start = int(params.get("startAt") or 0)
        size = min(int(params.get("maxResults") or 50), self.page_cap or 1000)
        page = found[start:start + size]
        return 200, {"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(found),
                     "issues": [self._view(i, fields, expand, version, embed=embed) for i in page]}

    def changelog(self, key: str, start: int, size: int) -> dict[str, Any]:
        issue = self._find(key)
        histories = issue["_histories"]
        size = min(size or CHANGELOG_PAGE_CAP, CHANGELOG_PAGE_CAP)
        values = histories[start:start + size]
        self.changelog_pages[issue["key"]] += 1
        return {"self": f"{self.url}/rest/api/2/issue/{key}/changelog?maxResults={size}&startAt={start}",
                "maxResults": size, "startAt": start, "total": len(histories),
                "isLast": start + size >= len(histories), "values": copy.deepcopy(values)}

    def comments(self, key: str, version: int, start: int, size: int) -> dict[str, Any]:
        issue = self._find(key)
        stored = (issue["fields"].get("comment") or {}).get("comments") or []
        size = min(size or 50, 100)
        page = [_comment_view(c, version) for c in stored[start:start + size]]
        return {"startAt": start, "maxResults": size, "total": len(stored), "comments": page}

    def add_comment(self, key: str, body: Any, version: int) -> tuple[int, dict[str, Any]]:
        """Jira's checks of a new comment's body, then the comment as Jira answers it (201)."""
        if version == 3 and not (isinstance(body, dict) and body.get("type") == "doc"
                                 and isinstance(body.get("content"), list)):
            return 400, {"errorMessages": [], "errors": {"comment": "Comment body is not valid!"}}
        if version == 2 and (not isinstance(body, str) or not body.strip()):
            return 400, {"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}}
        issue = self._find(key)
        thread = issue["fields"].setdefault("comment", {"comments": [], "maxResults": 0, "total": 0,
                                                       "startAt": 0})
        now = jira_time(datetime.now(UTC))
        me = self.me()
        self.last_comment_id += 1
        comment = {"id": str(self.last_comment_id),
                   "self": f"{self.url}/rest/api/{version}/issue/{issue['id']}/comment",
                   "author": me, "updateAuthor": me, "body": body, "created": now, "updated": now}
        comment["self"] += f"/{comment['id']}"
        thread["comments"].append(comment)
        thread["total"] = thread["maxResults"] = len(thread["comments"])
        issue["fields"]["updated"] = now
        self.comments_added[issue["key"]] += 1
        return 201, _comment_view(comment, version)

    def me(self) -> dict[str, Any]:
        who = ({"accountId": "5b10ac8d82e05b22cc7d4ef5"} if self.cloud
               else {"name": "impacting", "key": "impacting"})
        return {"displayName": "Impacting Bot", "active": True, **who}

    def _find(self, key_or_id: str) -> dict[str, Any]:
        if key_or_id in self.issues:
            return self.issues[key_or_id]
        for issue in self.issues.values():
            if issue["id"] == key_or_id:
                return issue
        raise KeyError(key_or_id)

    def authorised(self, header: str | None) -> bool:
        allowed = []
        if self.email and self.token:
            allowed.append("Basic " + base64.b64encode(f"{self.email}:{self.token}".encode()).decode())
        if self.pat and not self.cloud:
            allowed.append(f"Bearer {self.pat}")
        return not allowed or header in allowed

    def take_fault(self, method: str, path: str, query: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if not path.startswith(fault.path) or fault.query not in query:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.times == 0:
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.times > 0:
                    fault.times -= 1
                return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Every read from a client socket gives up after this long: a stuck client never hangs a test.
    timeout = 30
    server_version = "FakeJira/1.0"
    # Headers and body in one write: otherwise Nagle and delayed ACKs add ~40 ms per request.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    @property
    def jira(self) -> JiraServer:
        return self.server.jira  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read counters instead
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query  # segments are unquoted one by one: a %2F stays inside
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path.startswith("/_control/"):
            return self._control(method, path, query, body)
        jira = self.jira
        with jira.lock:
            jira.requests[f"{method} {_template(path)}"] += 1
            jira.log.append((method, path, query))
        fault = jira.take_fault(method, path, query)
        if fault is not None and fault.kind == "drop":
            return self._drop()
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "status":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = _retry_after(fault.retry_after)
            messages = {401: "You are not authenticated. Authentication required to perform this operation.",
                        429: "Rate limit exceeded.", 403: "You do not have the permission to see the "
                        "specified issue."}
            said = messages.get(fault.status, "Service unavailable")
            return self._json(fault.status, {"errorMessages": [said]}, headers)
        status, payload, headers = self._route(method, path, query, body)
        if isinstance(payload, bytes):
            return self._send(status, payload, headers.get("Content-Type", "application/octet-stream"),
                              headers, cut=fault is not None and fault.kind == "drop-mid")
        return self._json(status, payload, headers, cut=fault is not None and fault.kind == "drop-mid")

    def _route(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        jira = self.jira
        params: dict[str, Any] = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(query).items()}
        if method == "POST" and body:
            try:
                params.update(json.loads(body))
            except ValueError:
                return 400, {"errorMessages": ["Unexpected character in the request body."]}, {}
        segments = [unquote(s) for s in path.split("/") if s]
        if len(segments) < 4 or segments[:2] != ["rest", "api"] or segments[2] not in {"2", "3", "latest"}:
            return self._media(path)
        version = 3 if segments[2] == "3" else 2
        resource = segments[3:]
        if resource == ["serverInfo"]:
            return 200, self._server_info(), {}
        if not jira.authorised(self.headers.get("Authorization")):
            return 401, {"errorMessages": ["You are not authenticated. Authentication required to perform "
                                           "this operation."], "errors": {}}, \
                {"WWW-Authenticate": 'Basic realm="protected-area"'}
        with jira.lock:
            if resource == ["myself"]:
                return 200, self._myself(), {}
            if resource == ["field"]:
                return 200, _FIELDS, {}
            if resource == ["status"]:
                return 200, [_status(name) | {"self": f"{jira.url}/rest/api/2/status/{_status(name)['id']}"}
                             for name in STATUSES], {}
            if resource == ["search", "jql"]:
                if not jira.cloud:
                    return 404, {"message": f"null for uri: {jira.url}{path}", "status-code": 404}, {}
                status, payload = jira.search(params, version)
                return status, payload, {}
            if resource == ["search"]:
                if jira.cloud:
                    return 410, {"errorMessages": [GONE_MESSAGE], "errors": {}}, {}
                status, payload = jira.search(params, version)
                return status, payload, {}
            if len(resource) >= 2 and resource[0] == "issue":
                try:
                    issue = jira._find(resource[1])
                except KeyError:
                    return 404, {"errorMessages": ["Issue does not exist or you do not have permission "
                                                   "to see it."], "errors": {}}, {}
                if resource[2:] == ["comment"]:
                    if version == 3 and not jira.cloud:
                        return 404, {"message": f"null for uri: {jira.url}{path}", "status-code": 404}, {}
                    if method == "POST":
                        status, payload = jira.add_comment(issue["key"], params.get("body"), version)
                        return status, payload, {}
                    return 200, jira.comments(issue["key"], version, int(params.get("startAt") or 0),
                                              int(params.get("maxResults") or 0)), {}
                if resource[2:] == ["changelog"]:
                    if not jira.cloud:
                        return 404, {"message": f"null for uri: {jira.url}{path}", "status-code": 404}, {}
                    return 200, jira.changelog(issue["key"], int(params.get("startAt") or 0),
                                               int(params.get("maxResults") or 0)), {}
                if len(resource) == 2:
                    fields = _list(params.get("fields"))
                    return 200, jira._view(issue, fields, ",".join(_list(params.get("expand"))), version,
                                           embed=100 if jira.cloud else None), {}
            if resource[:2] == ["attachment", "content"] and len(resource) == 3 and jira.cloud:
                if jira.content(resource[2]) is None:
                    return 404, {"errorMessages": ["The attachment does not exist."]}, {}
                return 303, b"", {"Location": f"{jira.url}/_media/{resource[2]}?token=signed-{resource[2]}"}
        return 404, {"message": f"null for uri: {jira.url}{path}", "status-code": 404}, {}

    def _media(self, path: str) -> tuple[int, Any, dict[str, str]]:
        jira = self.jira
        segments = [unquote(s) for s in path.split("/") if s]
        if segments[:1] == ["_media"] and len(segments) == 2 and jira.cloud:
            attachment_id = segments[1]
        elif segments[:2] == ["secure", "attachment"] and len(segments) >= 3 and not jira.cloud:
            if not jira.authorised(self.headers.get("Authorization")):
                return 401, {"errorMessages": ["You are not authenticated."]}, {}
            attachment_id = segments[2]
        else:
            return 404, {"errorMessages": ["not found"]}, {}
        with jira.lock:
            content = jira.content(attachment_id)
            if content is None:
                return 404, {"errorMessages": ["The attachment does not exist."]}, {}
            jira.downloads[attachment_id] += 1
        return 200, content, {"Content-Type": "application/octet-stream"}

    def _server_info(self) -> dict[str, Any]:
        jira = self.jira
        version = [1001, 0, 0] if jira.cloud else [9, 12, 4]
        info: dict[str, Any] = {
            "baseUrl": jira.url, "version": ".".join(map(str, version)), "versionNumbers": version,
            "buildNumber": 100250 if jira.cloud else 9120004, "buildDate": "2024-01-01T00:00:00.000+0000",
            "serverTime": jira_time(datetime.now(UTC)), "scmInfo": "fake", "serverTitle": "Jira",
        }
        if jira.deployment:
            info["deploymentType"] = jira.deployment
        return info

    def _myself(self) -> dict[str, Any]:
        jira = self.jira
        return jira.me() | {"timeZone": str(jira.zone), "emailAddress": jira.email or "bot@example.com"}

    def _control(self, method: str, path: str, query: str, body: bytes) -> None:
        jira = self.jira
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if body and path != "/_control/faults":
            params.update(json.loads(body))
        try:
            if path == "/_control/stats":
                return self._json(200, jira.stats())
            if path == "/_control/stats/reset" and method == "POST":
                jira.reset_stats()
                return self._json(200, {"reset": True})
            if path == "/_control/edit" and method == "POST":
                components = params.get("components")
                updated = jira.edit(params["key"], summary=params.get("summary"), status=params.get("status"),
                                    components=None if components is None else
                                    [c for c in str(components).split(",") if c.strip()])
                return self._json(200, {"key": params["key"], "updated": updated})
            if path == "/_control/delete" and method == "POST":
                jira.delete(params["key"])
                return self._json(200, {"deleted": params["key"]})
            if path == "/_control/faults" and method == "POST":
                added = [jira.add_fault(**spec) for spec in json.loads(body or b"[]")]
                return self._json(200, {"faults": [asdict(f) for f in added]})
            if path == "/_control/faults/clear" and method == "POST":
                jira.clear_faults()
                return self._json(200, {"faults": []})
        except (KeyError, TypeError, ValueError) as error:
            return self._json(400, {"error": f"{type(error).__name__}: {error}"})
        return self._json(404, {"error": "unknown control endpoint"})

    # -- sending ----------------------------------------------------------------------------

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None,
              cut: bool = False) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json;charset=UTF-8", headers or {}, cut)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str],
              cut: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            if name != "Content-Type":
                self.send_header(name, value)
        self.end_headers()
        if cut:  # the connection breaks halfway through the answer
            self.wfile.write(body[: len(body) // 2])
            return self._drop()
        self.wfile.write(body)
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


_FIELDS = [
    {"id": name, "key": name, "name": title, "custom": False, "navigable": True, "searchable": True,
     "clauseNames": clauses, "schema": {"type": kind, "system": name}}
    for name, title, clauses, kind in [
        ("summary", "Summary", ["summary"], "string"),
        ("description", "Description", ["description"], "string"),
        ("status", "Status", ["status"], "status"),
        ("issuetype", "Issue Type", ["issuetype", "type"], "issuetype"),
        ("project", "Project", ["project"], "project"),
        ("components", "Component/s", ["component"], "array"),
        ("labels", "Labels", ["labels"], "array"),
        ("issuelinks", "Linked Issues", ["issueLink"], "array"),
        ("attachment", "Attachment", ["attachments"], "array"),
        ("updated", "Updated", ["updated", "updatedDate"], "datetime"),
        ("created", "Created", ["created", "createdDate"], "datetime"),
        ("resolutiondate", "Resolved", ["resolved", "resolutiondate"], "datetime"),
    ]
]


def _status(name: str) -> dict[str, Any]:
    status_id, category_id, key, label = STATUSES.get(name, ("1", 2, "new", "To Do"))
    return {"name": name, "id": status_id,
            "statusCategory": {"id": category_id, "key": key, "colorName": "blue-gray", "name": label}}


def _changelog(issue: dict[str, Any], rng: random.Random, long: bool) -> list[dict[str, Any]]:
    """Histories consistent with the issue: its status path (flip-flopping when `long`), plus
    edits of other fields, spread between `created` and `updated`."""
    fields = issue["fields"]
    final = fields["status"]["name"]
    path = list(PATHS.get(final, [final]))
    if long:
        path = ["In Progress", "Open"] * rng.randint(6, 9) + path
    events: list[tuple[str, str | None]] = [("status", s) for s in path]
    for _ in range(rng.randint(14, 22) if long else rng.randint(0, 3)):
        events.insert(rng.randint(0, len(events)), ("labels", None))
    created = parse_jira_time(fields["created"])
    updated = parse_jira_time(fields["updated"])
    span = max((updated - created).total_seconds(), 0)
    author = fields.get("assignee") or fields.get("reporter")
    histories, previous = [], "Open"
    for index, (kind, target) in enumerate(events):
        at = created + timedelta(seconds=span * (index + 1) / len(events)) if span else created
        if kind == "status":
            item = {"field": "status", "fieldtype": "jira", "from": STATUSES[previous][0],
                    "fromString": previous, "to": STATUSES[target][0], "toString": target}
            previous = target
        else:
            item = {"field": "labels", "fieldtype": "jira", "from": None, "fromString": "",
                    "to": None, "toString": f"triaged-{index}"}
        histories.append({"id": str(int(issue["id"]) * 100 + index), "author": author,
                          "created": jira_time(at), "items": [item]})
    return histories


def _shift(issue: dict[str, Any], delta: timedelta) -> None:
    fields = issue["fields"]
    for name in ("created", "updated", "resolutiondate"):
        if fields.get(name):
            fields[name] = jira_time(parse_jira_time(fields[name]) + delta)
    for attachment in fields.get("attachment") or []:
        if attachment.get("created"):
            attachment["created"] = jira_time(parse_jira_time(attachment["created"]) + delta)


def _comment_view(comment: dict[str, Any], version: int) -> dict[str, Any]:
    """A stored comment as REST v2 (wiki markup text) or v3 (ADF) shows it."""
    shown = copy.deepcopy(comment)
    body = shown.get("body")
    if version == 3 and isinstance(body, str):
        shown["body"] = _adf(body)
    elif version == 2 and isinstance(body, dict):
        shown["body"] = _adf_text(body)
    return shown


def _adf_text(node: Any) -> str:
    if isinstance(node, dict):
        inner = "".join(_adf_text(child) for child in node.get("content") or [])
        return (node.get("text") or "") + inner + ("\n" if node.get("type") == "paragraph" else "")
    return ""


def _adf(text: str) -> dict[str, Any]:
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in paragraphs]}


def _list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def _template(path: str) -> str:
    """The route a request took, ids and names replaced, for counting."""
    segments = path.split("/")
    if len(segments) > 5 and segments[4] == "issue":
        segments[5] = "{key}"
    if segments[1:3] == ["secure", "attachment"]:
        segments[3:] = ["{id}", "{name}"]
    if segments[4:6] == ["attachment", "content"]:
        segments[6:] = ["{id}"]
    if segments[1:2] == ["_media"]:
        segments[2:] = ["{id}"]
    return "/".join(segments)


def _retry_after(value: str) -> str:
    if value.startswith("date+"):
        return format_datetime(datetime.now(UTC) + timedelta(seconds=float(value[5:])), usegmt=True)
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A Jira-compatible server with real payloads.")
    parser.add_argument("--mode", choices=["cloud", "dc"], default="cloud")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--issues", type=int, default=300)
    parser.add_argument("--email", default="bot@example.com")
    parser.add_argument("--token", default="local-api-token")
    parser.add_argument("--pat", default="local-pat")
    parser.add_argument("--timezone", default="America/Los_Angeles",
                        help="the user's time zone, in which JQL dates are read")
    parser.add_argument("--page-cap", type=int, default=None, help="most issues per search page")
    args = parser.parse_args(argv)
    server = JiraServer(args.mode, issues=args.issues, email=args.email, token=args.token,
                        pat=args.pat, user_timezone=args.timezone, page_cap=args.page_cap)
    server.start(args.port, args.host)
    auth = (f"JIRA_EMAIL={args.email} JIRA_API_TOKEN={args.token}" if server.cloud
            else f"JIRA_PAT={args.pat}")
    print(f"Fake Jira ({server.deployment}) with {len(server.issues)} issues at {server.url}\n\n"
          f"  export JIRA_URL={server.url} {auth} JIRA_JQL='project in (AC, ALOY, MOD)'\n\n"
          f"  curl -s {server.url}/_control/stats\n"
          f"  curl -s -X POST '{server.url}/_control/edit?key=AC-19'\n", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
