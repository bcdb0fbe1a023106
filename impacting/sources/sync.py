"""Store what a source yields in the `raw` tables and the attachment store.

Writes in batches, so a source that fails midway keeps every batch already stored. An attachment
whose content is already stored (same attachment id, blob present) is not fetched again: Jira
attachments are immutable, a changed file is a new attachment id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from impacting.sources.issue_source import AttachmentUnavailable, DocumentPolicy, IssueSource
from impacting.sources.jira_fields import attachments, parse_jira_time
from impacting.warehouse.store import BlobStore, to_json, upsert_rows
from impacting.warehouse.tables import RAW_ATTACHMENTS, RAW_ISSUES

BATCH_SIZE = 100


@dataclass
class SyncReport:
    issues_stored: int = 0
    issues_removed: int = 0
    attachments_fetched: int = 0
    attachments_reused: int = 0
    attachments_unavailable: int = 0
    problems: list[str] = field(default_factory=list)


def sync_issues(source: IssueSource, con: duckdb.DuckDBPyConnection, blobs: BlobStore,
                policy: DocumentPolicy, updated_since: datetime | None = None) -> SyncReport:
    """Pull issues from `source` into `raw.jira_issues` / `raw.jira_attachments`."""
    report = SyncReport()
    stored = _stored_attachments(con, blobs)
    now = datetime.now(UTC)
    issue_rows: list[dict[str, Any]] = []
    attachment_rows: list[dict[str, Any]] = []
    seen: set[str] = set()

    def flush() -> None:
        if issue_rows:
            upsert_rows(con, RAW_ISSUES, pd.DataFrame(issue_rows))
            report.issues_stored += len(issue_rows)
            # An issue's attachment list is replaced whole: one removed in Jira goes here too.
            _forget_attachments(con, [row["key"] for row in issue_rows])
        if attachment_rows:
            upsert_rows(con, RAW_ATTACHMENTS, pd.DataFrame(attachment_rows))
        issue_rows.clear()
        attachment_rows.clear()

    for raw in source.issues(updated_since=updated_since):
        seen.add(raw["key"])
        issue_rows.append({
            "key": raw["key"],
            "issue_id": str(raw.get("id")) if raw.get("id") is not None else None,
            "updated_at": parse_jira_time(raw["fields"].get("updated") or raw["fields"].get("created")),
            "payload": to_json(raw),
            "source": source.kind,
            "fetched_at": now,
        })
        for attachment in attachments(raw):
            row = _attachment_row(source, attachment, policy, blobs, stored, report, now)
            attachment_rows.append(row)
        if len(issue_rows) >= BATCH_SIZE:
            flush()
    flush()
    report.problems.extend(source.problems)

    if source.complete:
        report.issues_removed = _remove_unseen(con, seen)
    return report


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
    """A complete source no longer lists these issues: drop them and their attachments."""
    keys = pd.DataFrame({"key": sorted(seen)})
    con.register("_seen", keys)
    try:
        gone = con.execute(
            f"SELECT count(*) FROM {RAW_ISSUES.qualified} WHERE key NOT IN (SELECT key FROM _seen)"
        ).fetchone()[0]
        con.execute(f"DELETE FROM {RAW_ISSUES.qualified} WHERE key NOT IN (SELECT key FROM _seen)")
        con.execute(
            f"DELETE FROM {RAW_ATTACHMENTS.qualified} WHERE issue_key NOT IN (SELECT key FROM _seen)"
        )
    finally:
        con.unregister("_seen")
    return gone
