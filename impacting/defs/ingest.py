"""Ingest: requests and their design documents from the configured source into the warehouse."""

import dagster as dg
from pydantic import Field

from impacting.defs.errors import failures
from impacting.defs.metadata import (
    definition_metadata,
    problems_metadata,
    table_key,
    table_metadata,
    table_spec,
)
from impacting.defs.resources import WAREHOUSE_POOL, IssueSourceResource, WarehouseResource
from impacting.sources.configured import document_policy, jira_base_url, sync_options
from impacting.sources.document_table import build_documents
from impacting.sources.documents.limits import ExtractionLimits
from impacting.sources.project_table import build_projects, build_status_changes
from impacting.sources.sync import sync_issues, sync_statuses
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import (
    DOCUMENT_EXTRACTIONS,
    DOCUMENTS,
    PROJECTS,
    RAW_ATTACHMENTS,
    RAW_ISSUES,
    RAW_STATUSES,
    STATUS_CHANGES,
    SYNC_CURSORS,
)

GROUP = "ingest"


class JiraSyncConfig(dg.Config):
    """Run configuration of the Jira sync (the launchpad, or `impacting run --full`)."""

    full_refresh: bool = Field(
        default=False,
        description="Live Jira only: re-read every issue the JQL matches, bodies and changelogs, "
        "and remove the ones it no longer matches (reconciliation). Nightly runs are incremental.",
    )


RAW_TABLES = (RAW_ISSUES, RAW_ATTACHMENTS, RAW_STATUSES, SYNC_CURSORS)


@dg.multi_asset(pool=WAREHOUSE_POOL, 
    name="jira_sync",
    specs=[table_spec(declared, group_name=GROUP, kinds={"jira", "duckdb"}) for declared in RAW_TABLES],
    description="One sync of the configured source: issue payloads as they arrived "
    "(`raw.jira_issues`), the attachments they list (`raw.jira_attachments`; design documents' "
    "content stored once per SHA-256 in the working folder), Jira's status list "
    "(`raw.jira_statuses`) and how far an incremental sync has got (`internal.sync_cursors`). "
    "From a live Jira only issues updated since the last run are fetched.",
)
def jira_sync(context: dg.AssetExecutionContext, config: JiraSyncConfig, warehouse: WarehouseResource,
              issue_source: IssueSourceResource):
    store = warehouse.open()
    settings = issue_source.settings()
    with failures(), store.connect() as con:
        source = issue_source.open(log=context.log)
        context.log.info(f"reading issues from {issue_source.describe()}")
        report = sync_issues(source, con, store.blobs, document_policy(settings),
                             full=config.full_refresh, **sync_options(settings))
        statuses, problem = sync_statuses(source, con)
        if problem:
            report.problems.append(problem)
        metadata = {declared.name: table_metadata(con, declared) for declared in RAW_TABLES}
    for problem in report.problems:
        context.log.warning(problem)
    context.log.info(f"{report.mode} sync: {report.issues_listed} listed, {report.issues_unchanged} "
                     f"unchanged, {report.issues_stored} stored, {report.issues_removed} removed")
    yield dg.MaterializeResult(asset_key=table_key(RAW_ISSUES), metadata=metadata[RAW_ISSUES.name] | {
        "source": issue_source.describe(),
        "sync_mode": report.mode,
        "issues_listed": report.issues_listed,
        "issues_unchanged": report.issues_unchanged,
        "issues_stored": report.issues_stored,
        "issues_removed": report.issues_removed,
        "issues_not_fetched": report.issues_not_fetched,
        **problems_metadata(report.problems),
    })
    yield dg.MaterializeResult(asset_key=table_key(RAW_ATTACHMENTS),
                               metadata=metadata[RAW_ATTACHMENTS.name] | {
        "attachments_fetched": report.attachments_fetched,
        "attachments_reused": report.attachments_reused,
        "attachments_unavailable": report.attachments_unavailable,
    })
    yield dg.MaterializeResult(asset_key=table_key(RAW_STATUSES), metadata=metadata[RAW_STATUSES.name] | {
        "statuses_stored": statuses if statuses is not None else "none (the source has no status list)",
    })
    yield dg.MaterializeResult(asset_key=table_key(SYNC_CURSORS), metadata=metadata[SYNC_CURSORS.name] | {
        "listed_since": report.listed_since.isoformat() if report.listed_since else "everything",
        "cursor": report.cursor.isoformat() if report.cursor else "none",
    })


def _payloads(con) -> list[tuple[str, str, str]]:
    return con.execute(f"SELECT key, payload, source FROM {RAW_ISSUES.qualified}").fetchall()


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="projects",
    group_name=GROUP,
    deps=[table_key(RAW_ISSUES), table_key(RAW_ATTACHMENTS)],
    kinds={"duckdb"},
    description="One row per project request: summary, status, dates, teams known so far, links.",
    metadata=definition_metadata(PROJECTS),
)
def projects(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
             issue_source: IssueSourceResource) -> dg.MaterializeResult:
    settings = issue_source.settings()
    with warehouse.open().connect() as con:
        counts = dict(con.execute(
            f"SELECT issue_key, count(*) FROM {RAW_ATTACHMENTS.qualified} "
            "WHERE is_document GROUP BY issue_key"
        ).fetchall())
        rows, problems = build_projects(_payloads(con), team_field=settings.team_field,
                                        base_url=jira_base_url(settings), document_counts=counts)
        replace_rows(con, PROJECTS, rows)
        metadata = table_metadata(con, PROJECTS, ["key", "summary", "status", "teams"])
        by_category = con.execute(
            f"SELECT coalesce(status_category, 'unknown'), count(*) FROM {PROJECTS.qualified} "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
    for problem in problems:
        context.log.warning(problem)
    return dg.MaterializeResult(metadata=metadata | {
        f"status_{category}": count for category, count in by_category
    } | problems_metadata(problems))


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="documents",
    group_name=GROUP,
    # embedding_cache: the embedding backfill's extractions (internal.document_extractions)
    deps=[table_key(RAW_ATTACHMENTS), "embedding_cache"],
    kinds={"duckdb"},
    description="One row per design document with its clean text; unreadable documents keep a "
    "row with the reason. Content already read (by an earlier run, or by the embedding "
    "backfill's partitions) is not read again.",
    metadata=definition_metadata(DOCUMENTS),
)
def documents(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
              issue_source: IssueSourceResource) -> dg.MaterializeResult:
    store = warehouse.open()
    limits = ExtractionLimits.from_settings(issue_source.settings())
    with store.connect() as con:
        rows, stats = build_documents(
            read_table(con, RAW_ATTACHMENTS), store.blobs, read_table(con, DOCUMENTS), limits,
            extracted=read_table(con, DOCUMENT_EXTRACTIONS),
        )
        replace_rows(con, DOCUMENTS, rows)
        metadata = table_metadata(
            con, DOCUMENTS, ["project_key", "file_name", "format", "word_count", "extraction_status"]
        )
        words = con.execute(f"SELECT coalesce(sum(word_count), 0) FROM {DOCUMENTS.qualified}").fetchone()[0]
    for problem in stats.problems:
        context.log.warning(problem)
    return dg.MaterializeResult(metadata=metadata | {
        "documents_extracted": stats.extracted,
        "documents_reused": stats.reused,
        "documents_not_ok": sum(stats.not_ok.values()),
        "total_words": int(words),
        **problems_metadata(stats.problems),
    })


@dg.asset(
    pool=WAREHOUSE_POOL,
    key="status_changes",
    group_name=GROUP,
    deps=[table_key(RAW_ISSUES)],
    kinds={"duckdb"},
    description="Every status transition from the issues' changelogs (feeds delivery reporting).",
    metadata=definition_metadata(STATUS_CHANGES),
)
def status_changes(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.open().connect() as con:
        replace_rows(con, STATUS_CHANGES, build_status_changes(_payloads(con)))
        metadata = table_metadata(con, STATUS_CHANGES)
    return dg.MaterializeResult(metadata=metadata)


ASSETS = [jira_sync, projects, documents, status_changes]
