"""Store what a source yields in the `raw` tables and the attachment store.

Writes in batches, so a source that fails midway keeps every batch already stored. An attachment
whose content is already stored (same attachment id, blob present) is not fetched again: Jira
attachments are immutable, a changed file is a new attachment id.

Two ways in:

- A snapshot source (the export folder) yields every issue each time; issues it no longer
  yields are removed.
- An incremental source (live Jira) is synced with a cursor kept in `internal.sync_cursors`:
  list the issues updated since the cursor minus an overlap (cheap: no bodies), fetch only those
  whose `updated` differs from what is stored, oldest first, and move the cursor after each
  stored batch up to, never past, the first issue not yet stored. A failed run therefore keeps
  everything stored and the next run resumes where it stopped. The first run of a scope and
  `full=True` re-read everything; that, and a periodic reconciliation, lists the whole scope
  and removes issues it no longer matches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from impacting.sources.issue_source import (
    AttachmentUnavailable,
    DocumentPolicy,
    IncrementalSource,
    IssueSource,
    SourceError,
)
from impacting.sources.jira_fields import attachments, parse_jira_time
from impacting.warehouse.store import BlobStore, replace_rows, to_json, upsert_rows
from impacting.warehouse.tables import RAW_ATTACHMENTS, RAW_ISSUES, RAW_STATUSES, SYNC_CURSORS

BATCH_SIZE = 100
FETCH_BATCH_SIZE = 50
DEFAULT_OVERLAP = timedelta(minutes=5)
DEFAULT_RECONCILE_EVERY = timedelta(days=7)


@dataclass
class SyncReport:
    mode: str = "snapshot"  # snapshot | full | resumed full | reconcile | incremental
    issues_listed: int = 0
    issues_unchanged: int = 0
    issues_stored: int = 0
    issues_removed: int = 0
    issues_not_fetched: int = 0
    listed_since: datetime | None = None
    cursor: datetime | None = None
    attachments_fetched: int = 0
    attachments_reused: int = 0
    attachments_unavailable: int = 0
    problems: list[str] = field(default_factory=list)


def sync_issues(source: IssueSource, con: duckdb.DuckDBPyConnection, blobs: BlobStore,
                policy: DocumentPolicy, updated_since: datetime | None = None, *,
                full: bool = False, overlap: timedelta = DEFAULT_OVERLAP,
                reconcile_every: timedelta | None = DEFAULT_RECONCILE_EVERY,
                now: datetime | None = None) -> SyncReport:
    """Pull issues from `source` into `raw.jira_issues` / `raw.jira_attachments`.

    Incremental sources go through the cursor (`full`, `overlap`, `reconcile_every` apply to
    them); others are read as a snapshot, `updated_since` limiting what is read.
    """
    now = now or datetime.now(UTC)
    if isinstance(source, IncrementalSource):
        return _sync_incremental(source, con, blobs, policy, full=full, overlap=overlap,
                                 reconcile_every=reconcile_every, now=now)
    report = SyncReport()
    writer = _Writer(source, con, blobs, policy, report, now)
    for raw in source.issues(updated_since=updated_since):
        writer.add(raw)
        if writer.pending >= BATCH_SIZE:
            writer.flush()
    writer.flush()
    report.problems.extend(source.problems)
    if source.complete:
        report.issues_removed = _remove_unseen(con, writer.stored_keys)
    return report


def sync_statuses(source: IssueSource, con: duckdb.DuckDBPyConnection,
                  now: datetime | None = None) -> tuple[int | None, str | None]:
    """Replace `raw.jira_statuses` with the source's status list.

    Returns (statuses stored, problem). A source without a status list stores nothing and
    keeps what an earlier run stored; so does one that fails, with the reason as the problem
    (delivery reporting falls back to the issues' own statuses, so it is not fatal).
    """
    reader = getattr(source, "statuses", None)
    if reader is None:
        return None, None
    try:
        found = reader()
    except SourceError as error:
        return None, (f"could not read Jira's status list ({error}); delivery reporting keeps the "
                      "status categories stored before, or the issues' own")
    if found is None:
        return None, None
    now = now or datetime.now(UTC)
    rows = [{
        "status_id": str(status.get("id") or "") or None,
        "name": status.get("name"),
        "category": (status.get("statusCategory") or {}).get("key"),
        "payload": to_json(status), "source": source.kind, "fetched_at": now,
    } for status in found if status.get("name")]
    replace_rows(con, RAW_STATUSES, pd.DataFrame(rows))
    return len(rows), None


# -- incremental --------------------------------------------------------------------------------

@dataclass
class _Cursor:
    cursor_at: datetime | None = None
    full_started_at: datetime | None = None
    last_full_at: datetime | None = None
    issues_in_scope: int | None = None


def _sync_incremental(source: IncrementalSource, con: duckdb.DuckDBPyConnection, blobs: BlobStore,
                      policy: DocumentPolicy, *, full: bool, overlap: timedelta,
                      reconcile_every: timedelta | None, now: datetime) -> SyncReport:
    saved = read_cursor(con, source.scope)
    state = saved or _Cursor()
    if full or saved is None:
        mode, state.full_started_at = "full", now
    elif state.full_started_at is not None:
        mode = "resumed full"
    elif state.cursor_at is None or state.last_full_at is None or (
            reconcile_every is not None and now - state.last_full_at >= reconcile_every):
        mode = "reconcile"
    else:
        mode = "incremental"
    report = SyncReport(mode=mode)
    whole_scope = mode != "incremental"
    report.listed_since = None if whole_scope else state.cursor_at - overlap

    listed: dict[str, datetime] = {}
    for stamp in source.listing(report.listed_since):
        # Offset paging can show an issue twice when it changes mid-listing: keep the newest.
        if stamp.key not in listed or stamp.updated > listed[stamp.key]:
            listed[stamp.key] = stamp.updated
    report.issues_listed = len(listed)
    if mode == "full":
        write_cursor(con, source.scope, state, now)  # from here a failed full read is resumed

    stored = _stored_versions(con, listed)
    refetch_before = state.full_started_at if mode in {"full", "resumed full"} else None

    def current(key: str) -> bool:
        version = stored.get(key)
        if mode == "full" or version is None or version[0] != listed[key]:
            return False
        return refetch_before is None or version[1] >= refetch_before

    todo = sorted((key for key in listed if not current(key)), key=lambda key: (listed[key], key))
    report.issues_unchanged = len(listed) - len(todo)

    writer = _Writer(source, con, blobs, policy, report, now)
    writer.retry_failed_attachments(exclude=set(todo))

    def frontier() -> datetime | None:
        """The cursor that is true now: before the oldest listed issue not yet stored."""
        for key in todo:
            if key not in writer.stored_keys:
                return listed[key]
        newest = max(listed.values(), default=None)
        if state.cursor_at is None:
            return newest
        return state.cursor_at if newest is None else max(state.cursor_at, newest)

    try:
        for start in range(0, len(todo), FETCH_BATCH_SIZE):
            batch = todo[start:start + FETCH_BATCH_SIZE]
            for raw in source.fetch(batch):
                writer.add(raw)
            writer.flush()
            state.cursor_at = frontier()
            write_cursor(con, source.scope, state, now)
    except BaseException:
        # Keep the complete payloads already in hand, and a cursor that says what is stored.
        try:
            writer.flush()
        finally:
            state.cursor_at = frontier()
            write_cursor(con, source.scope, state, now)
        raise

    missing = [key for key in todo if key not in writer.stored_keys]
    report.issues_not_fetched = len(missing)
    state.cursor_at = frontier()
    if whole_scope:
        report.issues_removed = _remove_unseen(con, set(listed) | writer.stored_keys)
        state.last_full_at = now
        state.issues_in_scope = len(listed)
        # An issue that could not be fetched keeps the full read open, so the next run retries it.
        state.full_started_at = state.full_started_at if missing and mode != "reconcile" else None
    write_cursor(con, source.scope, state, now)
    report.cursor = state.cursor_at
    report.problems.extend(source.problems)
    return report


def read_cursor(con: duckdb.DuckDBPyConnection, scope: str) -> _Cursor | None:
    rows = con.execute(
        f"SELECT cursor_at, full_started_at, last_full_at, issues_in_scope "
        f"FROM {SYNC_CURSORS.qualified} WHERE scope = ?", [scope]).fetchall()
    return _Cursor(*rows[0]) if rows else None


def write_cursor(con: duckdb.DuckDBPyConnection, scope: str, state: _Cursor, now: datetime) -> None:
    upsert_rows(con, SYNC_CURSORS, pd.DataFrame([{
        "scope": scope, "cursor_at": state.cursor_at, "full_started_at": state.full_started_at,
        "last_full_at": state.last_full_at, "issues_in_scope": state.issues_in_scope,
        "last_run_at": now,
    }]))


def _stored_versions(con: duckdb.DuckDBPyConnection,
                     keys: Sequence[str] | dict[str, Any]) -> dict[str, tuple[datetime, datetime]]:
    """`updated_at` and `fetched_at` of the stored issues among `keys`."""
    if not keys:
        return {}
    frame = pd.DataFrame({"key": list(keys)})
    con.register("_listed", frame)
    try:
        rows = con.execute(
            f"SELECT key, updated_at, fetched_at FROM {RAW_ISSUES.qualified} "
            "WHERE key IN (SELECT key FROM _listed)").fetchall()
    finally:
        con.unregister("_listed")
    return {key: (updated, fetched) for key, updated, fetched in rows}


# -- writing ------------------------------------------------------------------------------------

class _Writer:
    """Issue and attachment rows, stored a batch at a time; `stored_keys` is what is stored."""

    def __init__(self, source: IssueSource, con: duckdb.DuckDBPyConnection, blobs: BlobStore,
                 policy: DocumentPolicy, report: SyncReport, now: datetime):
        self.source, self.con, self.blobs, self.policy = source, con, blobs, policy
        self.report, self.now = report, now
        self.stored_attachments = _stored_attachments(con, blobs)
        self.issue_rows: list[dict[str, Any]] = []
        self.attachment_rows: list[dict[str, Any]] = []
        self.stored_keys: set[str] = set()

    @property
    def pending(self) -> int:
        return len(self.issue_rows)

    def add(self, raw: dict[str, Any]) -> None:
        # Attachments first: if a download raises, the issue is not counted as stored.
        rows = [_attachment_row(self.source, attachment, self.policy, self.blobs,
                                self.stored_attachments, self.report, self.now)
                for attachment in attachments(raw)]
        self.attachment_rows.extend(rows)
        self.issue_rows.append({
            "key": raw["key"],
            "issue_id": str(raw.get("id")) if raw.get("id") is not None else None,
            "updated_at": parse_jira_time(raw["fields"].get("updated") or raw["fields"].get("created")),
            "payload": to_json(raw),
            "source": self.source.kind,
            "fetched_at": self.now,
        })

    def flush(self) -> None:
        if self.issue_rows:
            keys = [row["key"] for row in self.issue_rows]
            upsert_rows(self.con, RAW_ISSUES, pd.DataFrame(self.issue_rows))
            self.report.issues_stored += len(self.issue_rows)
            # An issue's attachment list is replaced whole: one removed in Jira goes here too.
            _forget_attachments(self.con, keys)
            if self.attachment_rows:
                upsert_rows(self.con, RAW_ATTACHMENTS, pd.DataFrame(self.attachment_rows))
            self.stored_keys.update(keys)
        self.issue_rows.clear()
        self.attachment_rows.clear()

    def retry_failed_attachments(self, exclude: set[str]) -> None:
        """Try again the documents whose download failed on an earlier run, for issues that
        will not be fetched again this run (an unchanged issue is otherwise never revisited)."""
        rows = self.con.execute(
            f"SELECT a.attachment_id, i.key, i.payload FROM {RAW_ATTACHMENTS.qualified} a "
            f"JOIN {RAW_ISSUES.qualified} i ON i.key = a.issue_key "
            "WHERE a.fetch_status = 'failed' AND a.is_document").fetchall()
        retried = []
        for attachment_id, key, payload in rows:
            if key in exclude:
                continue
            entry = next((a for a in attachments(json.loads(payload)) if str(a["id"]) == attachment_id),
                         None)
            if entry is not None:
                retried.append(_attachment_row(self.source, entry, self.policy, self.blobs,
                                               self.stored_attachments, self.report, self.now))
        if retried:
            upsert_rows(self.con, RAW_ATTACHMENTS, pd.DataFrame(retried))


def _attachment_row(source: IssueSource, attachment: dict[str, Any], policy: DocumentPolicy,
                    blobs: BlobStore, stored: dict[str, tuple[str, datetime]],
                    report: SyncReport, now: datetime) -> dict[str, Any]:
    attachment_id = str(attachment["id"])
    row: dict[str, Any] = {
        "attachment_id": attachment_id,
        "issue_key": attachment["issue_key"],
        "file_name": attachment.get("filename"),
        "mime_type": attachment.get("mimeType"),
        "size_bytes": attachment.get("size"),
        "created_at": parse_jira_time(attachment.get("created")),
        "is_document": policy.is_document(attachment),
    }
    if not row["is_document"]:
        return row | {"fetch_status": "not_a_document"}
    if attachment_id in stored:
        sha, fetched_at = stored[attachment_id]
        report.attachments_reused += 1
        return row | {"sha256": sha, "fetch_status": "stored", "fetched_at": fetched_at}
    too_large = policy.too_large(attachment)
    if too_large:
        report.attachments_unavailable += 1
        return row | {"fetch_status": "too_large", "fetch_reason": too_large}
    try:
        content = source.attachment_content(attachment)
    except AttachmentUnavailable as error:
        report.attachments_unavailable += 1
        report.problems.append(f"{attachment['issue_key']}: {error.reason}")
        return row | {"fetch_status": error.status, "fetch_reason": error.reason}
    sha = blobs.put(content)
    report.attachments_fetched += 1
    stored[attachment_id] = (sha, now)
    return row | {"sha256": sha, "fetch_status": "stored", "fetched_at": now,
                  "size_bytes": len(content)}


def _stored_attachments(con: duckdb.DuckDBPyConnection,
                        blobs: BlobStore) -> dict[str, tuple[str, datetime]]:
    rows = con.execute(
        f"SELECT attachment_id, sha256, fetched_at FROM {RAW_ATTACHMENTS.qualified} "
        "WHERE fetch_status = 'stored' AND sha256 IS NOT NULL"
    ).fetchall()
    return {aid: (sha, fetched) for aid, sha, fetched in rows if blobs.has(sha)}


def _forget_attachments(con: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    con.execute(f"DELETE FROM {RAW_ATTACHMENTS.qualified} WHERE list_contains(?, issue_key)", [keys])


def _remove_unseen(con: duckdb.DuckDBPyConnection, seen: set[str]) -> int:
    """The source no longer lists these issues: drop them and their attachments."""
    keys = pd.DataFrame({"key": sorted(seen)}, dtype="object")
    con.register("_seen", keys)
    try:
        [(gone,)] = con.execute(
            f"SELECT count(*) FROM {RAW_ISSUES.qualified} WHERE key NOT IN (SELECT key FROM _seen)"
        ).fetchall()
        con.execute(f"DELETE FROM {RAW_ISSUES.qualified} WHERE key NOT IN (SELECT key FROM _seen)")
        con.execute(
            f"DELETE FROM {RAW_ATTACHMENTS.qualified} WHERE issue_key NOT IN (SELECT key FROM _seen)"
        )
    finally:
        con.unregister("_seen")
    return gone
