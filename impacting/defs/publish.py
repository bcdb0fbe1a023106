"""Publish: atomically replace the analysts' DuckDB file with this run's tables."""

from collections.abc import Sequence
from datetime import timedelta

import dagster as dg
import pandas as pd

from impacting.defs.metadata import definition_metadata, markdown_table
from impacting.defs.resources import WAREHOUSE_POOL, IssueSourceResource, WarehouseResource
from impacting.settings import var
from impacting.warehouse.tables import WAREHOUSE_INFO

GROUP = "publish"
PUBLISHED_KEY = dg.AssetKey("published_warehouse")


def build_publish_asset(upstream: Sequence[dg.AssetsDefinition | dg.AssetSpec],
                        fresh_within_hours: float) -> dg.AssetsDefinition:
    """The publish step, downstream of every other asset so it runs last and only on success;
    flagged as stale in the UI when it has not run for `fresh_within_hours` (the nightly run
    failed or never started)."""
    deps = [key for definition in upstream if isinstance(definition, dg.AssetsDefinition)
            for key in definition.keys]

    @dg.asset(
    pool=WAREHOUSE_POOL,
        key=PUBLISHED_KEY,
        group_name=GROUP,
        deps=deps,
        kinds={"duckdb"},
        metadata=definition_metadata(WAREHOUSE_INFO),
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=fresh_within_hours)),
        description=f"The DuckDB file analysts query (`{var('warehouse.path')}`, default "
        "`warehouse/impacting.duckdb`), replaced atomically at the end of a run: open readers "
        "keep their view, new readers see the new data, a failed run leaves it untouched.",
    )
    def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                            issue_source: IssueSourceResource) -> dg.MaterializeResult:
        result = warehouse.open().publish(context.run_id, issue_source.describe())
        context.log.info(f"published {result.path}")
        counts = pd.DataFrame({"table": list(result.row_counts),
                               "rows": list(result.row_counts.values())})
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "size_bytes": result.size_bytes,
            "tables": dg.MetadataValue.md(markdown_table(counts)),
        })

    return published_warehouse

