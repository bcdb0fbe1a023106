"""Shared test helpers: fixture paths, small export folders built from the real sample, and one
way to run the pipeline and read what it made.

Tests marked `slow` (whole-pipeline runs, the embedding model, browsers, servers) are left out
by `make test-fast`; `make test` runs everything.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from impacting.settings import Settings, var

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = Path(__file__).parents[1] / "data" / "sample"


def raw_fixture_issues() -> list[dict]:
    lines = (FIXTURES / "jira_raw_issues.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def copy_sample(target: Path, keys: list[str]) -> Path:
    """An export folder holding just `keys` from the embedded sample, attachments included."""
    (target / "issues").mkdir(parents=True, exist_ok=True)
    for key in keys:
        issue = json.loads((SAMPLE / "issues" / f"{key}.json").read_text(encoding="utf-8"))
        shutil.copy(SAMPLE / "issues" / f"{key}.json", target / "issues" / f"{key}.json")
        for attachment in issue["fields"]["attachment"]:
            shutil.copytree(SAMPLE / "attachments" / attachment["id"],
                            target / "attachments" / attachment["id"])
    return target


def sample_keys(n: int, open_requests: int = 0) -> list[str]:
    """The `n` first past projects of the sample plus its `open_requests` first open requests."""
    past, new = [], []
    for path in sorted((SAMPLE / "issues").glob("*.json")):
        issue = json.loads(path.read_text(encoding="utf-8"))
        (new if issue["fields"]["status"]["statusCategory"]["key"] == "new" else past).append(
            issue["key"])
    return past[:n] + new[:open_requests]


@pytest.fixture(autouse=True, scope="session")
def _site_outside_the_checkout(tmp_path_factory):
    """Runs that read their settings from the environment write the site there; keep it out of
    the checkout's `site/`, where it would replace the developer's last `make run`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(var("site.site_dir"), str(tmp_path_factory.mktemp("site") / "site"))
        yield


def pipeline_settings(export: Path, warehouse: Path, **env: str) -> Settings:
    """Settings for a test run: an export folder, a temporary warehouse, the site beside it."""
    return Settings.from_env({var("source.export_dir"): str(export),
                              var("warehouse.path"): str(warehouse),
                              var("site.site_dir"): str(Path(warehouse).parent / "site"),
                              **env})


def run_pipeline(export: Path, warehouse: Path, selection: str | None = None,
                 **env: str) -> dg.ExecuteInProcessResult:
    """The nightly job (or `selection`, then publish) on `export` into `warehouse`."""
    from impacting.definitions import build_definitions
    from impacting.defs.publish import PUBLISHED_KEY

    defs = build_definitions(pipeline_settings(export, warehouse, **env))
    keys = None
    if selection:
        keys = sorted({*dg.AssetSelection.from_string(selection).resolve(defs.resolve_asset_graph()),
                       PUBLISHED_KEY})
    return defs.resolve_job_def("nightly").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=keys, raise_on_error=False)


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """The error messages of a run's failed steps (empty when it succeeded)."""
    return [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]


def materialisations(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Each materialised asset's metadata (values as Dagster holds them), by asset key."""
    return {e.asset_key.to_user_string(): e.materialization.metadata
            for e in result.get_asset_materialization_events()}


def metadata_values(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """One asset's metadata as plain values."""
    return {name: value.value for name, value in materialisations(result)[asset].items()}


def query(path: Path, sql: str) -> list:
    """`sql` on a DuckDB file, read-only, as an analyst would."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def small_export(tmp_path) -> Path:
    return copy_sample(tmp_path / "export", sample_keys(4, open_requests=2))


class HeldReader:
    """An analyst in another process holding a read-only connection open, answering queries.

    A separate process matters: DuckDB shares one database instance per path inside a process,
    so only another process shows what an analyst really sees.
    """

    SCRIPT = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print('ready', flush=True)\n"
        "for sql in sys.stdin:\n"
        "    print(json.dumps(con.execute(sql).fetchall(), default=str), flush=True)\n"
    )

    def __init__(self, path: Path):
        import subprocess
        import sys

        self.process = subprocess.Popen([sys.executable, "-c", self.SCRIPT, str(path)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def query(self, sql: str) -> list:
        self.process.stdin.write(sql.replace("\n", " ") + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def query_in_new_process(path: Path, sql: str) -> list:
    reader = HeldReader(path)
    try:
        return reader.query(sql)
    finally:
        reader.close()
