"""Asset checks: SQL over the working database that guards what gets published.

The blocking ones are quality gates: when one fails, nothing downstream runs in that run, so
the analysts' file and the site keep yesterday's good state, and the check's metadata says why
in the UI. The queries themselves are in `impacting.warehouse.quality` (no Dagster there).
"""

from collections.abc import Sequence

import dagster as dg

from impacting.defs.resources import WAREHOUSE_POOL, TriageResource, WarehouseResource
from impacting.triage.registry import ModelRegistry
from impacting.warehouse import quality
from impacting.warehouse.tables import ALL_TABLES, DOCUMENTS, PROJECTS, Table


def _result(outcome: quality.Outcome, severity=dg.AssetCheckSeverity.ERROR) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=outcome.passed, severity=severity, description=outcome.why,
                               metadata=outcome.figures)


def _unique_key_check(declared: Table, owner: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(pool=WAREHOUSE_POOL, asset=owner, name=f"{declared.name}_keys_are_unique", blocking=True,
                    description=f"Every row of {declared.qualified} has its key "
                    f"({', '.join(declared.key)}), and no key appears twice.")
    def check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.open().connect() as con:
            return _result(quality.unique_key(con, declared))

    return check


def unique_key_checks(assets: Sequence[dg.AssetsDefinition | dg.AssetSpec]
                      ) -> list[dg.AssetChecksDefinition]:
    """One blocking unique-key check per declared table with a key, on the asset that owns it."""
    owners = {}
    for definition in assets:
        for spec in [definition] if isinstance(definition, dg.AssetSpec) else definition.specs:
            table = spec.metadata.get("dagster/table_name")
            if table is not None:
                owners[str(table)] = spec.key
    return [_unique_key_check(declared, owners[declared.qualified]) for declared in ALL_TABLES
            if declared.key and declared.qualified in owners]


@dg.asset_check(pool=WAREHOUSE_POOL, asset="documents", blocking=True,
                description="Every document extracted `ok` has text and a word count above zero.")
def readable_documents_have_text(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.open().connect() as con:
        return _result(quality.ok_documents_have_text(con))


@dg.asset_check(pool=WAREHOUSE_POOL, asset="documents", blocking=True,
                description="Every document belongs to a known request.")
def documents_belong_to_projects(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.open().connect() as con:
        orphans = con.execute(
            f"SELECT count(*) FROM {DOCUMENTS.qualified} d "
            f"WHERE NOT EXISTS (SELECT 1 FROM {PROJECTS.qualified} p WHERE p.key = d.project_key)"
        ).fetchone()[0]
    return dg.AssetCheckResult(passed=orphans == 0, metadata={"orphan_documents": orphans})


@dg.asset_check(pool=WAREHOUSE_POOL, asset="documents",
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


@dg.asset_check(pool=WAREHOUSE_POOL, asset="team_predictions", blocking=True,
                description="Every request awaiting triage has a decision for every team the "
                "model knows (once a model exists).")
def open_requests_have_decisions(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    store = warehouse.open()
    with store.connect() as con:
        accepted = ModelRegistry(con, store.working_dir / "models").accepted()
        teams = len(accepted[1].teams) if accepted else 0
        return _result(quality.open_requests_have_decisions(con, teams))


@dg.asset_check(pool=WAREHOUSE_POOL, asset="team_model", blocking=True,
                description="The model in service reaches its own cross-validated target recall "
                "(within the retraining tolerance); with too little history to promise it, a "
                "warning that says so instead.")
def model_meets_its_target_recall(warehouse: WarehouseResource,
                                  triage: TriageResource) -> dg.AssetCheckResult:
    store = warehouse.open()
    settings = triage.settings()
    with store.connect() as con:
        accepted = ModelRegistry(con, store.working_dir / "models").accepted()
    outcome = quality.model_meets_target(accepted[0] if accepted else None, settings.target_recall,
                                         settings.recall_tolerance, settings.gate_min_history)
    return _result(outcome, dg.AssetCheckSeverity.WARN if outcome.only_a_warning
                   else dg.AssetCheckSeverity.ERROR)


@dg.asset_check(pool=WAREHOUSE_POOL, asset="delivery_issue_times", blocking=True,
                description="Delivery times are non-negative and consistent: created ≤ started ≤ "
                "done, lead time ≥ cycle time.")
def delivery_times_are_consistent(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.open().connect() as con:
        return _result(quality.delivery_times_consistent(con))


CHECKS = [readable_documents_have_text, documents_belong_to_projects, documents_mostly_readable,
          open_requests_have_decisions, model_meets_its_target_recall, delivery_times_are_consistent]
