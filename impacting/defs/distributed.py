"""Beyond one machine: the executor runs use, and the partitioned embedding backfill.

The executor comes from the settings (`in_process`, `multiprocess` or `celery`); whichever it is,
every step that opens the working DuckDB is in the `impacting_warehouse` pool, so those steps run
one at a time across all runs while the others (the backfill's partitions) run on any worker.

The backfill (group `backfill`, not part of the nightly job) is three assets: `embedding_inputs`
exports each partition's document text to shared storage, `document_vectors` (one partition per
step, no database) chunks and embeds a partition into a Parquet file, and `embedding_cache` merges
those files into the embedding cache. docs/scaling.md says how to launch it.
"""

import dagster as dg

from impacting.defs.errors import failures
from impacting.defs.metadata import bullet_list, problems_metadata
from impacting.defs.resources import (
    WAREHOUSE_POOL,
    DistributedResource,
    LanguageResource,
    WarehouseResource,
)
from impacting.language.backfill import embed_partition, export_texts, merge_vectors, partition_keys
from impacting.settings import DistributedSettings, var

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
        deps=["documents"],
        kinds={"duckdb", "parquet"},
        description="Each backfill partition's readable documents (id, project, text) written to "
        f"`texts-<partition>.parquet` in the shared folder ({var('distributed.vectors_dir')}); a "
        "document's partition is a stable hash of its id.",
    )
    def embedding_inputs(warehouse: WarehouseResource,
                         distributed: DistributedResource) -> dg.MaterializeResult:
        folder = distributed.settings().vectors_dir
        with failures(), warehouse.open().connect() as con:
            counts = export_texts(con, folder, partitions)
        return dg.MaterializeResult(metadata={
            "documents": sum(counts.values()),
            "partitions": partitions,
            "folder": dg.MetadataValue.path(str(folder)),
            "documents_by_partition": dg.MetadataValue.md(
                bullet_list([f"{key}: {n}" for key, n in counts.items()])),
        })

    @dg.asset(
        key="document_vectors",
        group_name=GROUP,
        deps=[embedding_inputs],
        partitions_def=partitions_def,
        kinds={"pytorch", "parquet"},
        description="One partition's documents chunked as the nightly run does and their prose "
        "sentences embedded, written to `vectors-<partition>.parquet`. No database: partitions run "
        "in parallel on any worker that sees the shared folder.",
    )
    def document_vectors(context: dg.AssetExecutionContext, language: LanguageResource,
                         distributed: DistributedResource) -> dg.MaterializeResult:
        report = embed_partition(distributed.settings().vectors_dir, context.partition_key,
                                 language.encoder())
        for problem in report.problems:
            context.log.warning(problem)
        context.log.info(f"partition {context.partition_key}: {report.documents} documents, "
                         f"embedded {report.embedded} texts, reused {report.reused}")
        return dg.MaterializeResult(metadata={
            "documents": report.documents, "texts": report.texts,
            "texts_embedded": report.embedded, "texts_reused": report.reused,
            **problems_metadata(report.problems),
        })

    @dg.asset(
        pool=WAREHOUSE_POOL,
        key="embedding_cache",
        group_name=GROUP,
        deps=[document_vectors],
        kinds={"duckdb"},
        description="Every partition's vectors merged into the embedding cache "
        "(`internal.embedding_cache`), so the nightly `chunks` step embeds only what changed since.",
    )
    def embedding_cache(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        distributed: DistributedResource) -> dg.MaterializeResult:
        with failures(), warehouse.open().connect() as con:
            report = merge_vectors(con, distributed.settings().vectors_dir,
                                   partitions_def.get_partition_keys())
        if report.missing_partitions:
            context.log.warning(f"no vectors yet for partitions {', '.join(report.missing_partitions)}; "
                                "the nightly run embeds their documents itself")
        return dg.MaterializeResult(metadata={
            "vectors_offered": report.offered, "vectors_added": report.added,
            "partitions_missing": len(report.missing_partitions),
        })

    job = dg.define_asset_job(BACKFILL_JOB_NAME, selection=[document_vectors], partitions_def=partitions_def,
                              description="The embedding backfill's partitioned step alone: "
                              f"`dagster job backfill -j {BACKFILL_JOB_NAME} --all` launches one "
                              "run per partition (after `embedding_inputs`, before `embedding_cache`).")
    return [embedding_inputs, document_vectors, embedding_cache], job
