"""The delivery stage materialised once by Dagster on the hand-written fixture, for several tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from impacting.defs import delivery, ingest
from impacting.defs.resources import resources_from_settings
from impacting.settings import Settings
from impacting.warehouse.store import Warehouse, replace_rows
from impacting.warehouse.tables import RAW_STATUSES
from impacting_tests.conftest import FIXTURES, materialisations

FIXTURE_ENV = {
    "IMPACTING_DELIVERY_AS_OF": "2024-03-20T13:00:00+01:00",
    "IMPACTING_DELIVERY_STATUS_CATEGORIES": "Blocked=In Progress",
    "IMPACTING_DELIVERY_BOTTLENECK_WEEKS": "2",
    "IMPACTING_DELIVERY_FORECAST_WEEKS": "3",
    "IMPACTING_DELIVERY_FORECAST_SEED": "7",
}


@dataclass
class Delivered:
    result: dg.ExecuteInProcessResult
    warehouse: Warehouse
    report: Path

    def metadata(self, asset: str) -> dict:
        return materialisations(self.result)[asset]

    def query(self, sql: str) -> pd.DataFrame:
        with self.warehouse.connect() as con:
            return con.execute(sql).df()


def fixture_export(folder: Path) -> Path:
    """An export folder holding the hand-written delivery fixture as one JSON list."""
    folder.mkdir(parents=True, exist_ok=True)
    issues = json.loads((FIXTURES / "delivery_flow_issues.json").read_text(encoding="utf-8"))
    (folder / "issues.json").write_text(json.dumps(issues), encoding="utf-8")
    return folder


def materialise(export: Path, root: Path, **env: str) -> Delivered:
    settings = Settings.from_env({"IMPACTING_EXPORT_DIR": str(export),
                                  "IMPACTING_WAREHOUSE": str(root / "impacting.duckdb"),
                                  "IMPACTING_SITE_DIR": str(root / "site"),
                                  **env})
    warehouse = Warehouse(settings.warehouse_path)
    result = dg.materialize([*ingest.ASSETS, *delivery.ASSETS], resources=resources_from_settings(settings),
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    return Delivered(result, warehouse, settings.site.site_dir / "delivery.html")


@pytest.fixture(scope="session")
def delivered(tmp_path_factory) -> Delivered:
    root = tmp_path_factory.mktemp("delivery")
    # What a live source stores from GET /rest/api/2/status: the seam delivery reads.
    with Warehouse(root / "impacting.duckdb").connect() as con:
        replace_rows(con, RAW_STATUSES, pd.DataFrame([
            {"status_id": "10101", "name": "In Review", "category": "indeterminate", "source": "jira",
             "payload": json.dumps({"id": "10101", "name": "In Review"}), "fetched_at": datetime.now(UTC)},
        ]))
    return materialise(fixture_export(root / "export"), root, **FIXTURE_ENV)
