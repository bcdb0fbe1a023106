"""Every warehouse table, declared once: name, schema, columns and what they mean.

The DDL, the analyst documentation (`docs/tables.md`), the DuckDB column comments and the
column schema shown in the Dagster UI are all generated from these declarations, so they
cannot drift apart. Schemas:

- ``main``: what analysts query (published);
- ``raw``: payloads exactly as they arrived, so anything can be re-derived (published);
- ``internal``: working state such as sync cursors and caches (never published).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    schema: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def published(self) -> bool:
        return self.schema != "internal"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def ddl(self) -> str:
        columns = ",\n    ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.qualified} (\n    {columns}\n)"


def _cols(*rows: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*row) for row in rows)


LINK = "STRUCT(key VARCHAR, type VARCHAR, direction VARCHAR, relation VARCHAR)"

# --- ingest ------------------------------------------------------------------------------------

RAW_ISSUES = Table(
    "jira_issues",
    "raw",
    "Every Jira issue payload exactly as the source returned it (REST API JSON), latest version "
    "per issue, with the complete changelog merged in. Everything in `projects` and "
    "`status_changes` is derived from here.",
    _cols(
        ("key", "VARCHAR", "Jira issue key, e.g. `KEP-3157`."),
        ("issue_id", "VARCHAR", "Jira's numeric issue id (stable across key changes)."),
        ("updated_at", "TIMESTAMPTZ", "The issue's `updated` field, UTC."),
        ("payload", "JSON", "The issue JSON as received (`fields`, `changelog`, ...)."),
        ("source", "VARCHAR", "`export` (a folder of JSON) or `jira` (a live Jira)."),
        ("fetched_at", "TIMESTAMPTZ", "When this version was stored, UTC."),
    ),
    key=("key",),
)

RAW_ATTACHMENTS = Table(
    "jira_attachments",
    "raw",
    "Every attachment the issues list, and for design documents whether their content was "
    "fetched. Content is stored once per SHA-256 in the working folder, never in DuckDB.",
    _cols(
        ("attachment_id", "VARCHAR", "Jira's attachment id."),
        ("issue_key", "VARCHAR", "The issue the attachment belongs to."),
        ("file_name", "VARCHAR", "File name as Jira reports it (never used as a path)."),
        ("mime_type", "VARCHAR", "MIME type as Jira reports it."),
        ("size_bytes", "BIGINT", "Size as Jira reports it."),
        ("created_at", "TIMESTAMPTZ", "When it was attached, UTC."),
        ("is_document", "BOOLEAN", "Chosen as a design document (by extension, MIME type, size)."),
        ("sha256", "VARCHAR", "SHA-256 of the content, when fetched."),
        ("fetch_status", "VARCHAR", "`stored`, `not_a_document`, `too_large`, `missing` or `failed`."),
        ("fetch_reason", "VARCHAR", "Why it was not stored, and what to do about it."),
        ("fetched_at", "TIMESTAMPTZ", "When the content was stored, UTC."),
    ),
    key=("attachment_id",),
)

PROJECTS = Table(
    "projects",
    "main",
    "One row per project request (Jira issue), current state.",
    _cols(
        ("key", "VARCHAR", "Jira issue key, e.g. `KEP-3157`."),
        ("issue_id", "VARCHAR", "Jira's numeric issue id."),
        ("project", "VARCHAR", "Jira project key."),
        ("issue_type", "VARCHAR", "Issue type name (Epic, Story, ...)."),
        ("summary", "VARCHAR", "The issue's title."),
        ("description", "VARCHAR", "The description as plain text (wiki markup / ADF converted)."),
        ("status", "VARCHAR", "Current status name."),
        ("status_category", "VARCHAR", "Jira's status category key: `new` (To Do), "
         "`indeterminate` (In Progress) or `done` (Done)."),
        ("resolution", "VARCHAR", "Resolution name, null while unresolved."),
        ("priority", "VARCHAR", "Priority name."),
        ("created_at", "TIMESTAMPTZ", "Created, UTC."),
        ("updated_at", "TIMESTAMPTZ", "Last updated, UTC."),
        ("resolved_at", "TIMESTAMPTZ", "Resolution date, UTC; null while unresolved."),
        ("teams", "VARCHAR[]", "Teams known so far to be involved: the configured team field "
         "(`IMPACTING_TEAM_FIELD`, default components). Empty for a new request."),
        ("components", "VARCHAR[]", "Jira components."),
        ("labels", "VARCHAR[]", "Jira labels."),
        ("assignee", "VARCHAR", "Assignee display name."),
        ("assignee_id", "VARCHAR", "Assignee account id (Cloud) or user name (Data Center)."),
        ("reporter", "VARCHAR", "Reporter display name."),
        ("reporter_id", "VARCHAR", "Reporter account id or user name."),
        ("parent_key", "VARCHAR", "Parent issue or epic key, if any."),
        ("links", f"{LINK}[]", "Issue links: linked key, link type, `inward`/`outward`, and the "
         "relation as Jira words it from this issue's side (e.g. `blocks`)."),
        ("url", "VARCHAR", "Where to open the issue in Jira."),
        ("source", "VARCHAR", "`export` or `jira`."),
        ("document_count", "INTEGER", "Design documents attached (rows in `documents`)."),
    ),
    key=("key",),
)

DOCUMENTS = Table(
    "documents",
    "main",
    "One row per design document attached to a request, with its text. Documents that could "
    "not be read are kept with `extraction_status` and the reason, so nothing vanishes silently.",
    _cols(
        ("document_id", "VARCHAR", "Jira attachment id of the document."),
        ("project_key", "VARCHAR", "The request it belongs to (`projects.key`)."),
        ("file_name", "VARCHAR", "File name as attached."),
        ("mime_type", "VARCHAR", "MIME type as Jira reports it."),
        ("format", "VARCHAR", "Detected format: markdown, text, html, docx, pdf, or the "
         "unsupported kind."),
        ("size_bytes", "BIGINT", "Content size."),
        ("sha256", "VARCHAR", "SHA-256 of the content."),
        ("word_count", "INTEGER", "Words in `text`."),
        ("headings", "VARCHAR[]", "The document's headings, in order."),
        ("text", "VARCHAR", "Clean text, Markdown-style: headings as `#` lines."),
        ("extraction_status", "VARCHAR", "`ok`, `skipped` (unsupported, empty, encrypted, too "
         "large, missing) or `failed` (corrupt)."),
        ("extraction_reason", "VARCHAR", "For skipped/failed: what is wrong and how to fix it."),
        ("attached_at", "TIMESTAMPTZ", "When it was attached, UTC."),
        ("extractor_version", "VARCHAR", "Version of the text extraction that produced `text`."),
    ),
    key=("document_id",),
)

STATUS_CHANGES = Table(
    "status_changes",
    "main",
    "Every status transition from the issues' changelogs, oldest first.",
    _cols(
        ("project_key", "VARCHAR", "The issue (`projects.key`)."),
        ("changed_at", "TIMESTAMPTZ", "When the status changed, UTC."),
        ("from_status", "VARCHAR", "Status before."),
        ("to_status", "VARCHAR", "Status after."),
        ("author", "VARCHAR", "Who changed it (display name)."),
        ("history_id", "VARCHAR", "Jira changelog history id."),
    ),
)

WAREHOUSE_INFO = Table(
    "warehouse_info",
    "main",
    "One row describing this published file: when and by which run it was published.",
    _cols(
        ("published_at", "TIMESTAMPTZ", "When this file was published, UTC."),
        ("run_id", "VARCHAR", "The Dagster run that published it."),
        ("source", "VARCHAR", "Where the requests came from (`export` folder or `jira` URL)."),
        ("tables", "MAP(VARCHAR, BIGINT)", "Row count of every published table."),
    ),
)

INGEST_TABLES = (RAW_ISSUES, RAW_ATTACHMENTS, PROJECTS, DOCUMENTS, STATUS_CHANGES)

# Later stages declare their tables above this line and add them here.
ALL_TABLES: tuple[Table, ...] = (*INGEST_TABLES, WAREHOUSE_INFO)


def table(qualified_or_name: str) -> Table:
    """Look a declared table up by `schema.name` or bare name."""
    for candidate in ALL_TABLES:
        if qualified_or_name in (candidate.qualified, candidate.name):
            return candidate
    raise KeyError(f"no declared table {qualified_or_name!r}")
