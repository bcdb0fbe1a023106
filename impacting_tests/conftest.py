"""Shared test helpers: fixture paths, small export folders built from the real sample, and one
way to run the pipeline and read what it made.

Tests marked `slow` (whole-pipeline runs, the embedding model, browsers, servers) are left out
by `make test-fast`; `make test` runs everything.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
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


def copy_delivery(target: Path, parents: list[str]) -> Path:
    """Add to an export folder the sample's delivery stories under `parents`."""
    (target / "delivery").mkdir(parents=True, exist_ok=True)
    for path in sorted((SAMPLE / "delivery").glob("*.json")):
        story = json.loads(path.read_text(encoding="utf-8"))
        if (story["fields"].get("parent") or {}).get("key") in parents:
            shutil.copy(path, target / "delivery" / path.name)
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


def pipeline_settings(export: Path | None, warehouse: Path, **env: str) -> Settings:
    """Settings for a test run: an export folder (None: a live Jira named in `env`), a temporary
    warehouse, the site beside it."""
    values = {var("warehouse.path"): str(warehouse),
              var("site.site_dir"): str(Path(warehouse).parent / "site")}
    if export is not None:
        values[var("source.export_dir")] = str(export)
    return Settings.from_env(values | env)


def run_pipeline(export: Path | None, warehouse: Path, selection: str | None = None,
                 instance: dg.DagsterInstance | None = None, **env: str) -> dg.ExecuteInProcessResult:
    """The nightly job (or `selection`, then publish) on `export` (None: the live Jira `env`
    names) into `warehouse`."""
    from impacting.definitions import build_definitions
    from impacting.defs.publish import PUBLISHED_KEY

    defs = build_definitions(pipeline_settings(export, warehouse, **env))
    keys = None
    if selection:
        keys = sorted({*dg.AssetSelection.from_string(selection).resolve(defs.resolve_asset_graph()),
                       PUBLISHED_KEY})
    return defs.resolve_job_def("nightly").execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(), asset_selection=keys, raise_on_error=False)


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


def read_line(stream, seconds: float = 120.0) -> str:
    """The next line a child process writes, or a failure after `seconds` (never a hang)."""
    import select

    ready, _, _ = select.select([stream], [], [], seconds)
    assert ready, f"no answer from the child process within {seconds:g} s"
    return stream.readline()


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
        assert read_line(self.process.stdout).strip() == "ready"

    def query(self, sql: str) -> list:
        self.process.stdin.write(sql.replace("\n", " ") + "\n")
        self.process.stdin.flush()
        return json.loads(read_line(self.process.stdout))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def query_in_new_process(path: Path, sql: str) -> list:
    reader = HeldReader(path)
    try:
        return reader.query(sql)
    finally:
        reader.close()


def published_content(path: Path) -> dict[str, pd.DataFrame]:
    """Every published table's stable columns (not the run's times and ids), sorted: what two
    runs on the same input must agree on."""
    from impacting.warehouse.tables import ALL_TABLES

    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for declared in ALL_TABLES:
            if not declared.published or not declared.stable_columns:
                continue  # e.g. run_failures: nothing in it but run ids and times
            columns = [c.name for c in declared.stable_columns]
            quoted = ", ".join(f'"{c}"' for c in columns)
            frame = con.execute(f"SELECT {quoted} FROM {declared.qualified}").df()
            out[declared.qualified] = frame.sort_values(columns, kind="stable", key=_sortable,
                                                        ignore_index=True)
    return out


def _sortable(column: pd.Series) -> pd.Series:
    return column.map(lambda value: "" if value is None else str(value))


def assert_same_content(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    """Equal tables, floats within 1e-6 (float32 sums may differ in the last place)."""
    assert a.keys() == b.keys()
    for name in a:
        assert len(a[name]) == len(b[name]), f"{name}: {len(a[name])} rows vs {len(b[name])}"
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=False, rtol=1e-6, atol=1e-6,
                                      check_dtype=False, obj=name)


# --- one small published warehouse with every insight table, for the tests that read it --------

# Small design documents of the sample across SIGs (quick to embed), three with delivery stories.
INSIGHT_PAST = ["KEP-603", "KEP-2314", "KEP-770", "KEP-2394", "KEP-668", "KEP-423", "KEP-382",
                "KEP-268", "KEP-166", "KEP-669", "KEP-548", "KEP-2261", "KEP-2923", "KEP-793",
                "KEP-986", "KEP-1138", "KEP-566", "KEP-2360", "KEP-1734", "KEP-2829"]
INSIGHT_OPEN = ["KEP-1490", "KEP-1489", "KEP-2924"]
INSIGHT_ADDED = "KEP-3685"   # a request that arrives before the second run
INSIGHT_PARENTS = ["KEP-2261", "KEP-2923", "KEP-2829"]
DUCKDB1_PYTHON = Path(__file__).parents[1] / ".venv-duckdb1" / "bin" / "python"


@dataclass
class InsightSample:
    """The nightly job run twice on a small sample, a request added in between."""

    warehouse: Path
    export: Path
    first: dg.ExecuteInProcessResult
    second: dg.ExecuteInProcessResult
    labels_before: dict[int, str]


@pytest.fixture(scope="session")
def insight_sample(tmp_path_factory) -> InsightSample:
    root = tmp_path_factory.mktemp("insight")
    export = copy_delivery(copy_sample(root / "export", INSIGHT_PAST + INSIGHT_OPEN), INSIGHT_PARENTS)
    warehouse = root / "wh" / "impacting.duckdb"
    fast = {var("triage.cv_folds"): "2"}
    first = run_pipeline(export, warehouse, **fast)
    assert first.success, failures(first)
    labels = dict(query(warehouse, "SELECT theme_id, label FROM themes"))
    copy_sample(export, [INSIGHT_ADDED])
    second = run_pipeline(export, warehouse, **fast)
    assert second.success, failures(second)
    return InsightSample(warehouse, export, first, second, labels)
