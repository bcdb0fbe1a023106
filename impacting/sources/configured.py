"""The configured source: the `source` settings → the source object, its document policy and
how an incremental source is synced. The Dagster resource and the command line both use these."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from impacting.settings import SourceSettings
from impacting.sources.http_retry import RetryPolicy
from impacting.sources.issue_source import DocumentPolicy, IssueSource, SourceError

# Backoff between retries doubles from the configured base up to this many seconds (or the
# base itself, when someone sets a base above it).
MAX_BACKOFF_SECONDS = 60.0


def open_source(settings: SourceSettings, log: Any = None) -> IssueSource:
    """The configured source; a live Jira connects on first use, so this never fails on the network."""
    from impacting.sources.jira_export import ExportSource
    from impacting.sources.jira_live import JiraSource

    if settings.kind == "export":
        return ExportSource(settings.export_dir)
    if settings.kind == "jira" and settings.jira_url:
        return JiraSource(jira_config(settings), log=log)
    raise SourceError(f"issue source kind {settings.kind!r} is not available: use 'export', or set "
                      f"{settings.env('jira_url')} for a live Jira")


def jira_config(settings: SourceSettings):
    from impacting.sources.jira_live import JiraConfig

    return JiraConfig(
        url=settings.jira_url, jql=settings.jira_jql, email=settings.jira_email,
        api_token=settings.jira_api_token, pat=settings.jira_pat, team_field=settings.team_field,
        extra_fields=settings.jira_extra_fields, timeout_seconds=settings.jira_timeout_seconds,
        retry=RetryPolicy(max_retries=settings.jira_max_retries,
                          base_delay=settings.jira_retry_base_seconds,
                          max_delay=max(MAX_BACKOFF_SECONDS, settings.jira_retry_base_seconds),
                          max_wait=settings.jira_max_wait_seconds),
        max_attachment_bytes=settings.document_max_bytes,
    )


def document_policy(settings: SourceSettings) -> DocumentPolicy:
    """Which attachments are design documents; an empty list means the built-in one."""
    defaults = DocumentPolicy()
    return DocumentPolicy(
        extensions=frozenset(settings.document_extensions) or defaults.extensions,
        mime_types=frozenset(settings.document_mime_types) or defaults.mime_types,
        max_bytes=settings.document_max_bytes,
    )


def sync_options(settings: SourceSettings) -> dict:
    """How an incremental source is synced: the overlap, and how often to reconcile."""
    return {
        "overlap": timedelta(minutes=settings.jira_overlap_minutes),
        "reconcile_every": (timedelta(days=settings.jira_reconcile_days)
                            if settings.jira_reconcile_days else None),
    }


def jira_base_url(settings: SourceSettings) -> str | None:
    """The Jira issues link to (`<url>/browse/KEY`), or None for an export folder."""
    return settings.jira_url if settings.kind == "jira" else None
