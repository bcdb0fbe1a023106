"""What every source of Jira issues provides, and which attachments count as design documents.

The export folder and the live Jira connector both implement :class:`IssueSource` and yield the
same thing: Jira REST issue payloads, plus attachment bytes on request. Everything downstream
works on that, so it never knows which source ran.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Protocol, runtime_checkable

from impacting.errors import ActionableError
from impacting.settings import var
from impacting.sources.documents import DOCUMENT_FORMATS


class AttachmentUnavailable(Exception):
    """An attachment's content cannot be had; `status` is `missing` or `failed`."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SourceError(ActionableError, RuntimeError):
    """The source as a whole cannot be read (bad folder, bad credentials); the message says why."""


class IssueSource(Protocol):
    """Where issues come from. A source may also offer `statuses() -> list[dict] | None`:
    Jira's status list (`GET /rest/api/2/status`), stored in `raw.jira_statuses` for delivery
    reporting's status categories (optional, so it is not part of the protocol's checks)."""

    kind: str          # "export" or "jira"
    location: str      # where it reads from, safe to log (never a credential)
    complete: bool     # True when every call yields every issue in scope (a snapshot)
    problems: list[str]  # items skipped during the last `issues()` call, each naming item and fix

    def issues(self, updated_since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Issue payloads as Jira's REST API returns them, changelog included when known."""
        ...

    def attachment_content(self, attachment: dict[str, Any]) -> bytes:
        """The bytes of one attachment entry; raises AttachmentUnavailable."""
        ...


@dataclass(frozen=True)
class IssueStamp:
    """An issue as a listing shows it: its key and when it last changed (UTC)."""

    key: str
    updated: datetime


@runtime_checkable
class IncrementalSource(IssueSource, Protocol):
    """A source that can say cheaply what changed, so a sync fetches only that (live Jira).

    `scope` names what a sync cursor belongs to (where, which query, which fields); it is safe
    to store and never holds a credential.
    """

    scope: str

    def listing(self, updated_since: datetime | None = None) -> Iterator[IssueStamp]:
        """Every issue in scope updated at or after `updated_since` (all when None), without bodies."""
        ...

    def fetch(self, keys: Sequence[str]) -> Iterator[dict[str, Any]]:
        """Full payloads (complete changelog) of `keys`; keys that cannot be had are left out
        and named in `problems`."""
        ...


# Formats we cannot read but that are plainly meant as documents: kept and reported, so the
# author learns to attach a readable copy, rather than silently ignored like screenshots.
UNREADABLE_DOCUMENT_EXTENSIONS = frozenset({"doc", "odt", "rtf", "pages", "wpd", "ppt", "pptx", "odp", "key"})

DOCUMENT_MIME_TYPES = frozenset({
    "text/markdown", "text/x-markdown", "text/plain", "text/html", "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
})


@dataclass(frozen=True)
class DocumentPolicy:
    """Which attachments are design documents: by extension or MIME type, and a size limit."""

    extensions: frozenset[str] = field(
        default_factory=lambda: frozenset(DOCUMENT_FORMATS) | UNREADABLE_DOCUMENT_EXTENSIONS
    )
    mime_types: frozenset[str] = DOCUMENT_MIME_TYPES
    max_bytes: int = 50 * 1024 * 1024

    def is_document(self, attachment: dict[str, Any]) -> bool:
        name = PurePosixPath(str(attachment.get("filename") or "")).name.lower()
        extension = name.rsplit(".", 1)[-1] if "." in name else ""
        mime = str(attachment.get("mimeType") or "").split(";")[0].strip().lower()
        return extension in self.extensions or mime in self.mime_types

    def too_large(self, attachment: dict[str, Any]) -> str | None:
        size = attachment.get("size")
        if isinstance(size, int) and size > self.max_bytes:
            return (
                f"{size:,} bytes is over the {self.max_bytes:,}-byte limit for design documents; "
                f"raise {var('source.document_max_bytes')} or attach a smaller copy"
            )
        return None
