"""Ingest: requests and their design documents from the configured source into the warehouse."""

import dagster as dg
from pydantic import Field

from impacting.defs.metadata import bullet_list, definition_metadata, table_metadata
from impacting.defs.resources import IssueSourceResource, WarehouseResource
from impacting.sources.document_table import build_documents
from impacting.sources.issue_source import SourceError
from impacting.sources.project_table import build_projects, build_status_changes
from impacting.sources.sync import sync_issues, sync_statuses
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import (
    DOCUMENTS,
    PROJECTS,
    RAW_ATTACHMENTS,
    RAW_ISSUES,
    STATUS_CHANGES,
)

GROUP = "ingest"


class JiraIssuesConfig(dg.Config):
    """Run configuration of `jira_issues` (the launchpad, or `impacting run --full`)."""

    full_refresh: bool = Field(
        default=False,
        description="Live Jira only: re-read every issue JIRA_JQL matches, bodies and changelogs, "
        "and remove the ones it no longer matches (reconciliation). Nightly runs are incremental.",
    )


@dg.asset(
    key="jira_issues",
    group_name=GROUP,
    kinds={"jira", "duckdb"},
    description="Jira issue payloads as they arrived (`raw.jira_issues`) and the design-document "
    "attachments they list (`raw.jira_attachments`, content stored once per SHA-256), and Jira's "
    "status list (`raw.jira_statuses`). From a live "
    "Jira, incremental: only issues updated since the last run are fetched.",
    metadata=definition_metadata(RAW_ISSUES),
)
def jira_issues(context: dg.AssetExecutionContext, config: JiraIssuesConfig, warehouse: WarehouseResource,
                issue_source: IssueSourceResource) -> dg.MaterializeResult:
    store = warehouse.open()
    source = issue_source.open(log=context.log)
    context.log.info(f"reading issues from {source.kind} source {source.location}")
    with store.connect() as con:
        try:
            report = sync_issues(source, con, store.blobs, issue_source.document_policy(),
                                 full=config.full_refresh, **issue_source.sync_options())
        except SourceError as error:
            raise dg.Failure(str(error)) from error
        statuses, problem = sync_statuses(source, con)
        if problem:
            report.problems.append(problem)
        for problem in report.problems:
            context.log.warning(problem)
        metadata = table_metadata(con, RAW_ISSUES)
    context.log.info(f"{report.mode} sync: {report.issues_listed} listed, {report.issues_unchanged} "
                     f"unchanged, {report.issues_stored} stored, {report.issues_removed} removed")
    return dg.MaterializeResult(metadata=metadata | {
        "source": f"{source.kind}: {source.location}",
        "sync_mode": report.mode,
        "issues_listed": report.issues_listed,
        "issues_unchanged": report.issues_unchanged,
        "issues_stored": report.issues_stored,
        "issues_removed": report.issues_removed,
        "issues_not_fetched": report.issues_not_fetched,
        "listed_since": report.listed_since.isoformat() if report.listed_since else "everything",
        "cursor": report.cursor.isoformat() if report.cursor else "none",
        "attachments_fetched": report.attachments_fetched,
        "attachments_reused": report.attachments_reused,
        "attachments_unavailable": report.attachments_unavailable,
        "statuses_stored": statuses if statuses is not None else "none (the source has no status list)",
        "problems": dg.MetadataValue.md(bullet_list(report.problems)),
    })


def _payloads(con) -> list[tuple[str, str, str]]:
    return con.execute(f"SELECT key, payload, source FROM {RAW_ISSUES.qualified}").fetchall()


@dg.asset(
    key="projects",
    group_name=GROUP,
    deps=[jira_issues],
    kinds={"duckdb"},
    description="One row per project request: summary, status, dates, teams known so far, links.",
    metadata=definition_metadata(PROJECTS),
)
def projects(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
             issue_source: IssueSourceResource) -> dg.MaterializeResult:
    with warehouse.open().connect() as con:
        counts = dict(con.execute(
            f"SELECT issue_key, count(*) FROM {RAW_ATTACHMENTS.qualified} "
            "WHERE is_document GROUP BY issue_key"
        ).fetchall())
        rows, problems = build_projects(
            _payloads(con), team_field=issue_source.team_field,
            base_url=issue_source.base_url(), document_counts=counts,
        )
        for problem in problems:
            context.log.warning(problem)
        replace_rows(con, PROJECTS, rows)
        metadata = table_metadata(con, PROJECTS, ["key", "summary", "status", "teams"])
        by_category = con.execute(
            f"SELECT coalesce(status_category, 'unknown'), count(*) FROM {PROJECTS.qualified} "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
    return dg.MaterializeResult(metadata=metadata | {
        f"status_{category}": count for category, count in by_category
    } | {"problems": dg.MetadataValue.md(bullet_list(problems))})


@dg.asset(
    key="documents",
    group_name=GROUP,
    deps=[jira_issues],
    kinds={"duckdb"},
    description="One row per design document with its clean text; unreadable documents keep a "
    "row with the reason.",
    metadata=definition_metadata(DOCUMENTS),
)
def documents(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    store = warehouse.open()
    with store.connect() as con:
        rows, stats = build_documents(
            read_table(con, RAW_ATTACHMENTS), store.blobs, read_table(con, DOCUMENTS)
        )
        for problem in stats.problems:
            context.log.warning(problem)
        replace_rows(con, DOCUMENTS, rows)
        metadata = table_metadata(
            con, DOCUMENTS, ["project_key", "file_name", "format", "word_count", "extraction_status"]
        )
        words = con.execute(f"SELECT coalesce(sum(word_count), 0) FROM {DOCUMENTS.qualified}").fetchone()[0]
    return dg.MaterializeResult(metadata=metadata | {
        "documents_extracted": stats.extracted,
        "documents_reused": stats.reused,
        "documents_not_ok": sum(stats.not_ok.values()),
        "total_words": int(words),
        "problems": dg.MetadataValue.md(bullet_list(stats.problems)),
    })


@dg.asset(
    key="status_changes",
    group_name=GROUP,
    deps=[jira_issues],
    kinds={"duckdb"},
    description="Every status transition from the issues' changelogs (feeds delivery reporting).",
    metadata=definition_metadata(STATUS_CHANGES),
)
def status_changes(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.open().connect() as con:
        replace_rows(con, STATUS_CHANGES, build_status_changes(_payloads(con)))
        metadata = table_metadata(con, STATUS_CHANGES)
    return dg.MaterializeResult(metadata=metadata)


ASSETS = [jira_issues, projects, documents, status_changes]
