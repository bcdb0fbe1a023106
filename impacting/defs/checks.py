"""Asset checks: SQL over the working database that guards what gets published."""

import dagster as dg

from impacting.defs.resources import WarehouseResource
from impacting.warehouse.tables import DOCUMENTS, PROJECTS


@dg.asset_check(asset="projects", blocking=True,
                description="Every request has a key, and no key appears twice.")
def projects_have_unique_keys(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.open().connect() as con:
        missing, duplicated = con.execute(
            f"SELECT count(*) FILTER (WHERE key IS NULL), count(key) - count(DISTINCT key) "
            f"FROM {PROJECTS.qualified}"
        ).fetchone()
    return dg.AssetCheckResult(passed=missing == 0 and duplicated == 0,
                               metadata={"missing_keys": missing, "duplicate_keys": duplicated})


@dg.asset_check(asset="documents", blocking=True,
                description="Every document belongs to a known request.")
def documents_belong_to_projects(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.open().connect() as con:
        orphans = con.execute(
            f"SELECT count(*) FROM {DOCUMENTS.qualified} d "
            f"WHERE NOT EXISTS (SELECT 1 FROM {PROJECTS.qualified} p WHERE p.key = d.project_key)"
        ).fetchone()[0]
    return dg.AssetCheckResult(passed=orphans == 0, metadata={"orphan_documents": orphans})


@dg.asset_check(asset="documents",
                description="Most documents are readable; warns when over a quarter are not.")
def documents_mostly_readable(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.open().connect() as con:
        total, unreadable = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE extraction_status <> 'ok') "
            f"FROM {DOCUMENTS.qualified}"
        ).fetchone()
    share = unreadable / total if total else 0.0
    return dg.AssetCheckResult(
        passed=share <= 0.25, severity=dg.AssetCheckSeverity.WARN,
        metadata={"documents": total, "unreadable": unreadable, "unreadable_share": share},
    )


CHECKS = [projects_have_unique_keys, documents_belong_to_projects, documents_mostly_readable]
