"""Shared test helpers: fixture paths and small export folders built from the real sample."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

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
def _delivery_report_outside_the_checkout(tmp_path_factory):
    """Whole-pipeline tests write the delivery report; keep it out of the checkout's `reports/`,
    where it would replace the report of the developer's last `make run`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("impacting.settings.DEFAULT_DELIVERY_REPORT",
                      tmp_path_factory.mktemp("reports") / "delivery.html")
        yield


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
