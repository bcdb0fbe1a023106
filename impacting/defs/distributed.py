"""Beyond one machine: the executor runs use, and the partitioned embedding backfill.

The executor comes from the settings (`in_process`, `multiprocess` or `celery`); whichever it is,
every step that opens the working DuckDB is in the `impacting_warehouse` pool, so those steps run
one at a time across all runs while the others (the backfill's partitions) run on any worker.

The backfill (group `backfill`, not part of the nightly job) is three assets: `embedding_inputs`
exports each partition's stored documents (their text when already extracted, else where their
content is) to shared storage, `document_vectors` (one partition per step, no database) extracts,
chunks and embeds a partition into Parquet files, and `embedding_cache` merges those files into
the embedding cache and the extractions the nightly `documents` step reuses. docs/scaling.md says
how to launch it and what storage the workers share.
"""

import dagster as dg

from impacting.defs.errors import failures
from impacting.defs.metadata import bullet_list, definition_metadata, problems_metadata, table_key
from impacting.defs.resources import (
    WAREHOUSE_POOL,
    DistributedResource,
    IssueSourceResource,
    LanguageResource,
    WarehouseResource,
)
from impacting.language.backfill import (
    embed_partition,
    export_inputs,
    merge_extractions,
    merge_vectors,
    partition_keys,
)
from impacting.settings import DistributedSettings, var
from impacting.sources.document_table import extractor_version
from impacting.sources.documents.limits import ExtractionLimits
from impacting.warehouse.tables import DOCUMENT_EXTRACTIONS, RAW_ATTACHMENTS

GROUP = "backfill"
BACKFILL_JOB_NAME = "embedding_backfill"


def executor_for(settings: DistributedSettings) -> dg.ExecutorDefinition:
    """The executor of every job. Celery's broker and backend are named by their environment
    variables, never written into run configuration: workers and runs read them where they run."""
    if settings.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured({
            "broker": {"env": var("distributed.celery_broker")},
            "backend": {"env": var("distributed.celery_backend")},
        }, name="celery")
    if settings.executor == "multiprocess":
        return dg.multiprocess_executor
    return dg.in_process_executor


def build_backfill(partitions: int):
    """The three backfill assets over `partitions` static partitions, and a job of the partitioned
    step alone (for `dagster job backfill`)."""
    partitions_def = dg.StaticPartitionsDefinition(partition_keys(partitions))

    @dg.asset(
        pool=WAREHOUSE_POOL,
        key="embedding_inputs",
        group_name=GROUP,
        deps=[table_key(RAW_ATTACHMENTS)],
        kinds={"duckdb", "parquet"},
        description="Each backfill partition's stored design documents, written to the shared folder "
        f"({var('distributed.vectors_dir')}): the readable ones whose text is already extracted "
        "with the current extractor version (`documents`, earlier backfills) to "
        "`texts-<partition>.parquet`, the others (SHA-256, file name, MIME type, the path of the "
        "content in the attachment store) to `pending-<partition>.parquet`. Needs `jira_sync` only, "
        "not `documents`; a document's partition is a stable hash of its id.",
    )
    def embedding_inputs(warehouse: WarehouseResource, issue_source: IssueSourceResource,
                         distributed: DistributedResource) -> dg.MaterializeResult:
        folder, store = distributed.settings().vectors_dir, warehouse.open()
        version = extractor_version(ExtractionLimits.from_settings(issue_source.settings()))
        with failures(), store.connect() as con:
            report = export_inputs(con, folder, partitions, store.blobs, version)
        return dg.MaterializeResult(metadata={
            "documents": sum(report.texts.values()) + sum(report.pending.values()),
            "documents_to_extract": sum(report.pending.values()),
            "partitions": partitions,
            "folder": dg.MetadataValue.path(str(folder)),
            "attachment_store": dg.MetadataValue.path(str(store.blobs.root)),
            "documents_by_partition": dg.MetadataValue.md(bullet_list([
                f"{key}: {report.texts[key]} with text, {report.pending[key]} to extract"
                for key in report.texts])),
        })

    @dg.asset(
        key="document_vectors",
        group_name=GROUP,
        deps=[embedding_inputs],
        partitions_def=partitions_def,
        kinds={"pytorch", "parquet"},
        description="One partition's pending documents read to text as the nightly `documents` "
        "step reads them (a reader process per worker, the same limits; results to "
        "`extracted-<partition>.parquet`), then its readable documents chunked as the nightly run "
        "does and their prose sentences embedded (`vectors-<partition>.parquet`). No database: "
        "partitions run in parallel on any worker that sees the shared folder and the attachment "
        "store (`attachments/` in the working folder) at the paths the export wrote.",
    )
    def document_vectors(context: dg.AssetExecutionContext, language: LanguageResource,
                         issue_source: IssueSourceResource,
                         distributed: DistributedResource) -> dg.MaterializeResult:
        limits = ExtractionLimits.from_settings(issue_source.settings())
        with failures():
            report = embed_partition(distributed.settings().vectors_dir, context.partition_key,
                                     language.encoder(), limits)
        for problem in report.problems:
            context.log.warning(problem)
        context.log.info(f"partition {context.partition_key}: extracted {report.extracted} documents "
                         f"(reused {report.extractions_reused}), chunked {report.documents}, "
                         f"embedded {report.embedded} texts, reused {report.reused}")
        return dg.MaterializeResult(metadata={
            "documents": report.documents, "documents_extracted": report.extracted,
            "extractions_reused": report.extractions_reused, "documents_not_ok": report.not_ok,
            "texts": report.texts, "texts_embedded": report.embedded, "texts_reused": report.reused,
            **problems_metadata(report.problems),
        })

    @dg.asset(
        pool=WAREHOUSE_POOL,
        key="embedding_cache",
        group_name=GROUP,
        deps=[document_vectors],
        kinds={"duckdb"},
        description="Every partition's vectors merged into the embedding cache "
        "(`internal.embedding_cache`), so the nightly `chunks` step embeds only what changed since, "
        "and its extracted texts into `internal.document_extractions`, so the nightly `documents` "
        "step reads none of those documents again.",
        metadata=definition_metadata(DOCUMENT_EXTRACTIONS),
    )
    def embedding_cache(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        issue_source: IssueSourceResource,
                        distributed: DistributedResource) -> dg.MaterializeResult:
        folder, keys = distributed.settings().vectors_dir, partitions_def.get_partition_keys()
        version = extractor_version(ExtractionLimits.from_settings(issue_source.settings()))
        with failures(), warehouse.open().connect() as con:
            report = merge_vectors(con, folder, keys)
            extractions = merge_extractions(con, folder, keys, version)
            [(waiting,)] = con.execute(f"SELECT count(*) FROM {DOCUMENT_EXTRACTIONS.qualified}").fetchall()
        if report.missing_partitions:
            context.log.warning(f"no vectors yet for partitions {', '.join(report.missing_partitions)}; "
                                "the nightly run extracts and embeds their documents itself")
        return dg.MaterializeResult(metadata={
            "vectors_offered": report.offered, "vectors_added": report.added,
            "extractions_added": extractions, "extractions_waiting": waiting,
            "dagster/row_count": waiting,
            "partitions_missing": len(report.missing_partitions),
        })

    job = dg.define_asset_job(BACKFILL_JOB_NAME, selection=[document_vectors], partitions_def=partitions_def,
                              description="The embedding backfill's partitioned step alone: "
                              f"`dagster job backfill -j {BACKFILL_JOB_NAME} --all` launches one "
                              "run per partition (after `embedding_inputs`, before `embedding_cache`).")
    return [embedding_inputs, document_vectors, embedding_cache], job
