"""A live Jira, Cloud or Data Center, as an :class:`IncrementalSource`, through the `jira` client.

It yields exactly what the export folder yields: Jira REST issue payloads with the complete
changelog merged into `payload["changelog"]["histories"]`.

- Which search: `serverInfo` says the deployment. Cloud searches with `search/jql` and
  `nextPageToken` (the old `/search` answers 410 Gone there); Server and Data Center with
  `/search`, `startAt` and `total`. A 410 from `/search` switches to `search/jql` for good.
- Listing, then bodies: `listing()` asks only for `updated` (cheap), newest first; `fetch()` asks
  for the full fields and changelog of just the keys a sync needs, so an unchanged issue's body
  is never downloaded twice.
- Complete history: Cloud embeds at most a page of changelog in search results; when `total`
  says there is more, the rest is paged from `/issue/{key}/changelog` (or, where that resource
  does not exist, read from the issue itself, which Data Center returns whole).
- Time: JQL dates have minute precision and are read in the token user's time zone, taken from
  `myself` (see `jql.jql_time`).
- Faults: `http_retry` retries 429 (honouring Retry-After), 5xx, dropped connections and
  timeouts; 401/403 and bad JQL fail at once with a message naming the settings to check.
  Credentials never appear in a message: every message is built here, and scrubbed.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from jira import JIRA
from jira.exceptions import JIRAError
from jira.resilientsession import parse_errors

from impacting.settings import Secret, var
from impacting.sources.http_retry import GaveUp, RetryPolicy, call_with_retries
from impacting.sources.issue_source import AttachmentUnavailable, IssueStamp, SourceError
from impacting.sources.jira_fields import parse_jira_time
from impacting.sources.jql import jql_time, keys_in, scoped, without_order_by

LOG = logging.getLogger(__name__)

# What `projects`, `status_changes`, `documents` and later stages read from a payload; the
# team field and `source.jira_extra_fields` are added to it.
DEFAULT_FIELDS = (
    "summary", "description", "status", "issuetype", "project", "priority", "resolution",
    "resolutiondate", "created", "updated", "duedate", "components", "labels", "fixVersions",
    "versions", "assignee", "reporter", "creator", "parent", "subtasks", "issuelinks",
    "attachment", "environment", "comment",
)
CHANGELOG_PAGE_SIZE = 100

# The settings people are told to check, by their environment variables.
EMAIL_VAR = var("source.jira_email")
TOKEN_VAR = var("source.jira_api_token")
PAT_VAR = var("source.jira_pat")
URL_VAR = var("source.jira_url")
JQL_VAR = var("source.jira_jql")
RETRIES_VAR = var("source.jira_max_retries")
TIMEOUT_VAR = var("source.jira_timeout_seconds")


class JiraAuthError(SourceError):
    """Jira refused the credentials or the permission (401/403)."""


class JqlError(SourceError):
    """Jira rejected the query (400); the message carries Jira's own words."""


class _NotFound(SourceError):
    pass


class _Gone(SourceError):
    pass


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class JiraConfig:
    """Where the Jira is, who we are, what to read and how patiently."""

    url: str
    jql: str | None
    email: str | None = None
    api_token: Secret | None = field(default=None, repr=False)
    pat: Secret | None = field(default=None, repr=False)
    team_field: str = "components"
    extra_fields: tuple[str, ...] = ()
    timeout_seconds: float = 30.0
    retry: RetryPolicy = RetryPolicy()
    list_page_size: int = 1000  # Jira caps it lower where it must; paging follows what it returns
    fetch_batch_size: int = 50
    max_attachment_bytes: int = 50 * 1024 * 1024

    @property
    def fields(self) -> list[str]:
        if "*all" in self.extra_fields:
            return ["*all"]
        wanted = [*DEFAULT_FIELDS, self.team_field, *self.extra_fields]
        return list(dict.fromkeys(name for name in wanted if name))

    @property
    def credentials(self) -> str:
        """Which settings hold the credentials in use, for messages that say what to check."""
        if self.email and self.api_token:
            return f"{EMAIL_VAR} and {TOKEN_VAR}"
        if self.pat:
            return f"{PAT_VAR}"
        return (f"the credentials (none are set: {EMAIL_VAR} + {TOKEN_VAR} for Cloud, "
                f"{PAT_VAR} for Data Center)")

    def secrets(self) -> list[str]:
        """Every form in which a credential could be echoed, longest first, for scrubbing."""
        values = [secret.reveal() for secret in (self.api_token, self.pat) if secret]
        if self.email and self.api_token:
            values.append(base64.b64encode(f"{self.email}:{self.api_token.reveal()}".encode()).decode())
        return sorted((value for value in values if len(value) >= 4), key=len, reverse=True)


class JiraSource:
    """Issues from a live Jira; connects on first use, so constructing it is free."""

    kind = "jira"
    complete = False  # a sync lists the whole scope itself when it needs to remove issues

    def __init__(self, config: JiraConfig, *, sleep: Callable[[float], None] = time.sleep,
                 log: Any = None):
        self.config = config
        self.location = config.url
        self.problems: list[str] = []
        self.scope = (f"jira {config.url} | jql: {without_order_by(config.jql or '')} | "
                      f"fields: {','.join(sorted(config.fields))}")
        self.deployment: str | None = None  # "Cloud", "Server" or "DataCenter" once connected
        self._sleep = sleep
        self._log = log or LOG
        self._client: JIRA | None = None
        self._cloud = False
        self._zone: ZoneInfo | None = None

    # -- the IssueSource / IncrementalSource interface ---------------------------------------

    def listing(self, updated_since: datetime | None = None) -> Iterator[IssueStamp]:
        since = jql_time(updated_since, self._time_zone()) if updated_since else None
        # Newest first: with offset paging (Data Center) an issue edited while we list moves to
        # page one, already read, so it repeats an issue at most instead of skipping one.
        jql = scoped(self._jql(), updated_since=since, order="updated DESC")
        for raw in self._search(jql, ["updated"], None, self.config.list_page_size, "list issues"):
            updated = parse_jira_time((raw.get("fields") or {}).get("updated"))
            if raw.get("key") and updated is not None:
                yield IssueStamp(raw["key"], updated)

    def fetch(self, keys: Sequence[str]) -> Iterator[dict[str, Any]]:
        size = max(1, self.config.fetch_batch_size)
        for start in range(0, len(keys), size):
            batch = list(keys[start:start + size])
            try:
                found = list(self._search(keys_in(batch), self.config.fields, "changelog",
                                          len(batch), f"read {len(batch)} issues"))
            except JqlError:
                # Jira rejects `key in (...)` naming an issue that no longer exists: one by one.
                found = [raw for key in batch if (raw := self._issue(key)) is not None]
            returned = {raw.get("key") for raw in found}
            for key in batch:
                if key not in returned:
                    self.problems.append(
                        f"{key} was listed but Jira no longer returns it (deleted, moved, or "
                        "hidden from the token's user); the stored copy stays until the next full "
                        "sync (`impacting run --full`) confirms it is gone")
            for raw in found:
                yield self._with_full_changelog(raw)

    def issues(self, updated_since: datetime | None = None) -> Iterator[dict[str, Any]]:
        since = jql_time(updated_since, self._time_zone()) if updated_since else None
        jql = scoped(self._jql(), updated_since=since, order="updated ASC")
        for raw in self._search(jql, self.config.fields, "changelog", self.config.fetch_batch_size,
                                "read issues"):
            yield self._with_full_changelog(raw)

    def attachment_content(self, attachment: dict[str, Any]) -> bytes:
        attachment_id = str(attachment.get("id") or "")
        what = f"download attachment {attachment_id} of {attachment.get('issue_key')}"
        if not attachment_id.isdigit():
            raise AttachmentUnavailable("failed", f"{what}: {attachment_id!r} is not a Jira attachment id")
        try:
            url = self._attachment_url(attachment)
            return call_with_retries(lambda: self._download(url), what=what, policy=self.config.retry,
                                     sleep=self._sleep, warn=self._warn)
        except GaveUp as error:
            raise AttachmentUnavailable("failed", self._scrub(
                f"could not {error.what}: {error.reason} ({error.attempts} attempts); the next run "
                "tries again")) from None
        except _TooLarge:
            raise AttachmentUnavailable("too_large", (
                f"the content is over the {self.config.max_attachment_bytes:,}-byte limit for design "
                f"documents; raise {var('source.document_max_bytes')} or attach a smaller copy")) from None
        except JIRAError as error:
            if error.status_code == 401:
                self._raise_http(what, error)
            if error.status_code == 404:
                raise AttachmentUnavailable("missing", (
                    "Jira has no content for it (HTTP 404): it was probably deleted; ask the "
                    "reporter to attach it again")) from None
            if error.status_code == 403:
                raise AttachmentUnavailable("failed", (
                    "Jira refused the download (HTTP 403): the token's user needs permission to see "
                    "the issue and its attachments ('Browse projects', and any issue security "
                    "level on it)")) from None
            raise AttachmentUnavailable("failed", self._scrub(
                f"{what}: HTTP {error.status_code} {self._messages(error)}")) from None
        except requests.RequestException as error:
            raise AttachmentUnavailable("failed", self._scrub(
                f"{what}: {type(error).__name__}")) from None

    def statuses(self) -> list[dict[str, Any]] | None:
        found = self.call("read the status list (GET status)", self.client._get_json, "status")
        return [status for status in found if isinstance(status, dict)] \
            if isinstance(found, list) else None

    # -- connecting -----------------------------------------------------------------------

    @property
    def client(self) -> JIRA:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> JIRA:
        config = self.config
        parts = urlsplit(config.url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise SourceError(f"{URL_VAR} must be the web address of the Jira, e.g. "
                              "https://yourcompany.atlassian.net or https://jira.example.com/jira")
        client = self.new_client()
        info = self.call("read serverInfo", client.server_info)
        if not isinstance(info, dict) or "versionNumbers" not in info:
            raise SourceError(f"{config.url} does not answer like Jira (no serverInfo): check {URL_VAR} "
                              "is the base address, with the context path if there is one (…/jira)")
        client.deploymentType = info.get("deploymentType")  # what the library's own search reads
        self.deployment = info.get("deploymentType") or "Server"
        self._cloud = self.deployment == "Cloud"
        if (config.email and config.api_token) or config.pat:
            # Fails fast on bad credentials, and tells us the zone Jira reads JQL dates in.
            me = self.call("check the credentials (GET myself)", client.myself)
            self._zone = _zone(me.get("timeZone") if isinstance(me, dict) else None)
        else:
            half = f" ({EMAIL_VAR} is set but {TOKEN_VAR} is not)" if config.email else ""
            self._warn(f"no Jira credentials set{half}: reading anonymously, which sees only public "
                       f"projects; set {EMAIL_VAR} + {TOKEN_VAR} (Cloud) or {PAT_VAR} (Data Center)")
        self._log.info(f"connected to Jira {self.deployment} {info.get('version', '')} at {config.url}")
        return client

    def new_client(self, version: str = "2") -> JIRA:
        """A client for REST API `version` ("3": Cloud's ADF) with these credentials."""
        config, auth = self.config, {}
        if config.email and config.api_token:
            auth = {"basic_auth": (config.email, config.api_token.reveal())}
        elif config.pat:
            auth = {"token_auth": config.pat.reveal()}
        # get_server_info=False and max_retries=0: the first request goes through our retry
        # policy too, and the library's own 429/503 loop (fixed sleeps, no HTTP dates) is off.
        return JIRA(server=config.url, options={"check_update": False, "rest_api_version": version},
                    get_server_info=False, max_retries=0, timeout=config.timeout_seconds, **auth)

    def _time_zone(self) -> ZoneInfo | None:
        self.client  # noqa: B018 - connecting learns the zone
        return self._zone

    def _jql(self) -> str:
        if not (self.config.jql or "").strip():
            raise SourceError(
                f"{JQL_VAR} is not set: set it to the project requests to read, e.g. "
                "'project = REQ AND issuetype in (Epic, \"New Feature\")'")
        return self.config.jql

    # -- searching --------------------------------------------------------------------------

    def _search(self, jql: str, fields: list[str], expand: str | None, page_size: int,
                what: str) -> Iterator[dict[str, Any]]:
        client = self.client
        if not self._cloud:
            try:
                yield from self._search_by_offset(client, jql, fields, expand, page_size, what)
                return
            except _Gone:
                self._warn("Jira answered 410 Gone for /rest/api/2/search: it is Jira Cloud, "
                           "switching to search/jql")
                self._cloud = True
                client.deploymentType = "Cloud"
        yield from self._search_by_token(client, jql, fields, expand, page_size, what)

    def _search_by_token(self, client: JIRA, jql: str, fields: list[str], expand: str | None,
                         page_size: int, what: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        seen: set[str] = set()
        page = 0
        while True:
            page += 1
            result = self.call(f"{what} (search/jql page {page})", client.enhanced_search_issues,
                                jql_str=jql, nextPageToken=token, maxResults=page_size,
                                fields=list(fields), expand=expand, json_result=True, kind="search")
            yield from result.get("issues") or []
            token = result.get("nextPageToken")
            if not token or result.get("isLast") is True:
                return
            if token in seen:
                raise SourceError(f"Jira returned the same nextPageToken twice while trying to {what}; "
                                  "stopping rather than looping")
            seen.add(token)

    def _search_by_offset(self, client: JIRA, jql: str, fields: list[str], expand: str | None,
                          page_size: int, what: str) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            result = self.call(f"{what} (search from {start})", client.search_issues, jql_str=jql,
                                startAt=start, maxResults=page_size, fields=list(fields),
                                expand=expand, json_result=True, kind="search")
            issues = result.get("issues") or []
            yield from issues
            start += len(issues)
            total = result.get("total")
            if not issues or (isinstance(total, int) and start >= total):
                return

    def _issue(self, key: str) -> dict[str, Any] | None:
        try:
            issue = self.call(f"read {key}", self.client.issue, key,
                               fields=",".join(self.config.fields), expand="changelog")
        except _NotFound:
            return None
        return issue.raw

    # -- changelog --------------------------------------------------------------------------

    def _with_full_changelog(self, raw: dict[str, Any]) -> dict[str, Any]:
        changelog = raw.get("changelog")
        histories = list((changelog or {}).get("histories") or [])
        total = (changelog or {}).get("total")
        if changelog is None or (isinstance(total, int) and total > len(histories)):
            histories = self._changelog(raw["key"])
        unique = {str(history.get("id")): history for history in histories}
        ordered = sorted(unique.values(), key=lambda h: (parse_jira_time(h.get("created")) or _EPOCH,
                                                         _numeric(h.get("id"))))
        raw["changelog"] = {"startAt": 0, "maxResults": len(ordered), "total": len(ordered),
                            "histories": ordered}
        return raw

    def _changelog(self, key: str) -> list[dict[str, Any]]:
        client = self.client
        out: list[dict[str, Any]] = []
        try:
            while True:
                page = self.call(f"read the changelog of {key} from entry {len(out)}", client._get_json,
                                  f"issue/{quote(key)}/changelog",
                                  params={"startAt": len(out), "maxResults": CHANGELOG_PAGE_SIZE})
                values = page.get("values") or []
                out.extend(values)
                total = page.get("total")
                if not values or page.get("isLast") is True or (isinstance(total, int) and len(out) >= total):
                    return out
        except _NotFound:
            # No changelog resource (Data Center): the issue itself carries its whole changelog.
            issue = self.call(f"read the changelog of {key}", client.issue, key, fields="updated",
                               expand="changelog")
            return list((issue.raw.get("changelog") or {}).get("histories") or [])

    # -- attachments ------------------------------------------------------------------------

    def _attachment_url(self, attachment: dict[str, Any]) -> str:
        self.client  # noqa: B018 - connecting says which deployment, hence which URL
        base = urlsplit(self.config.url)
        content = attachment.get("content")
        if isinstance(content, str):
            target = urlsplit(content)
            # Credentials go only to the configured Jira, whatever URL a payload names.
            if (target.scheme, target.netloc) == (base.scheme, base.netloc):
                return content
        attachment_id = quote(str(attachment["id"]))
        if self._cloud:
            return f"{self.config.url}/rest/api/2/attachment/content/{attachment_id}"
        name = quote(str(attachment.get("filename") or "file"), safe="")
        return f"{self.config.url}/secure/attachment/{attachment_id}/{name}"

    def _download(self, url: str) -> bytes:
        limit = self.config.max_attachment_bytes
        # requests.Session.request on the client's own session (same auth, headers, TLS
        # settings): ResilientSession.request would read the whole body before returning,
        # defeating the size limit on a file whose declared size is wrong.
        response = requests.Session.request(self.client._session, "GET", url,
                                            headers={"Accept": "*/*"}, stream=True,
                                            timeout=self.config.timeout_seconds)
        with closing(response):
            if not response.ok:
                response.content  # noqa: B018 - an error body is small; read it before closing
                raise JIRAError(status_code=response.status_code, url=url, response=response)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _TooLarge()
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise _TooLarge()
                chunks.append(chunk)
        return b"".join(chunks)

    # -- calling Jira -----------------------------------------------------------------------

    def call(self, what: str, function: Callable[..., Any], *args: Any, kind: str = "",
              **kwargs: Any) -> Any:
        """`function(*args, **kwargs)` under the retry policy; failures become SourceErrors."""
        try:
            return call_with_retries(lambda: function(*args, **kwargs), what=what,
                                     policy=self.config.retry, sleep=self._sleep, warn=self._warn)
        except GaveUp as error:
            raise SourceError(self._scrub(
                f"Jira at {self.config.url} kept failing to {error.what}: {error.reason} "
                f"({error.attempts} attempts). Everything stored so far is kept and the sync "
                "cursor stays before anything not stored, so the next run resumes; if this "
                f"persists check Jira's status, or raise {RETRIES_VAR} / {TIMEOUT_VAR}")) from None
        except JIRAError as error:
            self._raise_http(what, error, kind)
        except requests.RequestException as error:
            raise SourceError(self._scrub(
                f"cannot {what} at {self.config.url}: {type(error).__name__}; check {URL_VAR} and "
                "that this machine can reach it (proxy, TLS certificate)")) from None
        except ValueError:
            raise SourceError(self._scrub(
                f"Jira at {self.config.url} answered '{what}' with something that is not JSON (a "
                f"login page or a proxy?); check {URL_VAR}")) from None

    def _raise_http(self, what: str, error: JIRAError, kind: str = "") -> NoReturn:
        status = error.status_code
        said = self._messages(error)
        where = f"Jira at {self.config.url}"
        if status == 401:
            raise JiraAuthError(self._scrub(
                f"{where} refused the credentials (HTTP 401) when trying to {what}: check "
                f"{self.config.credentials}. Cloud: {EMAIL_VAR} is the Atlassian account's email and "
                f"{TOKEN_VAR} an API token made at id.atlassian.com; Data Center: {PAT_VAR} is a "
                "personal access token (profile → Personal Access Tokens)")) from None
        if status == 403:
            raise JiraAuthError(self._scrub(
                f"{where} refused to {what} (HTTP 403{': ' + said if said else ''}): the user behind "
                f"{self.config.credentials} needs 'Browse projects' on every project {JQL_VAR} "
                "selects (and after repeated failed logins Jira may ask for a CAPTCHA: log in once "
                "in a browser)")) from None
        if status == 400 and kind == "search":
            raise JqlError(self._scrub(
                f"{where} rejected the query (HTTP 400): {said or 'no reason given'}. Fix {JQL_VAR} "
                f"(now: {self.config.jql})")) from None
        if status == 404:
            raise _NotFound(self._scrub(f"{where}: not found when trying to {what}")) from None
        if status == 410 and kind == "search":
            raise _Gone(self._scrub(f"{where}: gone when trying to {what}")) from None
        raise SourceError(self._scrub(
            f"{where} answered HTTP {status} when trying to {what}: {said or 'no reason given'}")) from None

    @staticmethod
    def _messages(error: JIRAError) -> str:
        if error.response is not None:
            try:
                return "; ".join(parse_errors(error.response))[:500]
            except Exception:  # a body that is neither JSON nor text says nothing useful
                return ""
        return (error.text or "")[:500]

    def _scrub(self, message: str) -> str:
        for secret in self.config.secrets():
            message = message.replace(secret, "***")
        return message

    def _warn(self, message: str) -> None:
        self._log.warning(self._scrub(message))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _numeric(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
