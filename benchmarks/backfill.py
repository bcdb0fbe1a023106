"""The embedding backfill with one Celery worker and with two: wall time and total CPU.

    .venv/bin/python benchmarks/backfill.py [--workers 1 2] [--partitions 4] [--export data/sample]

Ingests the export folder once in this process (not measured), then for each worker count starts
a fresh loopback deployment (Postgres, Redis, N workers started with `--concurrency=1`, the
daemon; impacting_tests/distributed/servers.py), empties the embedding cache, the documents, the
backfill's extractions and the vectors folder (a first load: only the stored attachments are
left, so the partitions extract every document as well as embedding it), and times the whole
backfill as an operator runs it:

    dagster asset materialize --select embedding_inputs        (export, the single writer)
    dagster job backfill -j embedding_backfill --partitions ...  (one run per partition, daemon)
    dagster asset materialize --select embedding_cache         (merge, the single writer)

Total CPU is the user + system time of every process started for the deployment (workers, their
pool processes, the daemon and the runs it launched, Postgres, Redis, the `dagster` commands)
during the backfill, read from /proc before and after. Prints one row per worker count and the
machine's load average, which matters on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dagster as dg  # noqa: E402
import duckdb  # noqa: E402

from impacting.language.encoder import CACHE_TABLE, create_cache_table  # noqa: E402
from impacting.settings import var  # noqa: E402
from impacting.warehouse.tables import DOCUMENT_EXTRACTIONS, DOCUMENTS, RAW_ATTACHMENTS  # noqa: E402
from impacting_tests.conftest import SAMPLE, run_pipeline  # noqa: E402
from impacting_tests.distributed.servers import ROOT, cluster, dagster  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _descendants_cpu(root: int) -> float:
    """CPU seconds of the live processes under `root` (their reaped children included)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0.0, list(children.get(root, []))
    while stack:
        pid = stack.pop()
        fields = stats.get(pid)
        if fields:
            total += sum(int(v) for v in fields[11:15]) / TICKS  # utime stime cutime cstime
        stack.extend(children.get(pid, []))
    return total


def cpu_seconds() -> float:
    own = os.times()
    return own.children_user + own.children_system + _descendants_cpu(os.getpid())


def backfill(env: dict, instance: dg.DagsterInstance, partitions: int) -> tuple[float, float, float]:
    """The three phases; returns the wall seconds of each (export, partitions, merge)."""
    start = time.perf_counter()
    dagster(env, "asset", "materialize", "-m", "impacting.definitions", "--select", "embedding_inputs")
    exported = time.perf_counter()
    tag = str(uuid.uuid4())
    dagster(env, "job", "backfill", "-w", str(ROOT / "workspace.yaml"), "-j", "embedding_backfill",
            "--partitions", ",".join(str(k) for k in range(partitions)), "--noprompt",
            "--tags", json.dumps({"impacting/benchmark": tag}))
    run_ids = [r.run_id for r in instance.get_runs(filters=dg.RunsFilter(tags={"impacting/benchmark": tag}))]
    while not all(instance.get_run_by_id(r).is_finished for r in run_ids):
        time.sleep(1)
    failed = [r for r in run_ids if instance.get_run_by_id(r).status != dg.DagsterRunStatus.SUCCESS]
    if failed:
        raise SystemExit(f"partition runs failed: {failed}")
    embedded = time.perf_counter()
    dagster(env, "asset", "materialize", "-m", "impacting.definitions", "--select", "embedding_cache")
    return exported - start, embedded - exported, time.perf_counter() - embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--export", type=Path, default=SAMPLE)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="impacting-backfill-"))
    warehouse = folder / "warehouse" / "impacting.duckdb"
    working = warehouse.with_name("impacting.work") / "working.duckdb"
    print(f"ingesting {args.export} (not measured) ...", flush=True)
    assert run_pipeline(args.export, warehouse, selection="group:ingest").success
    settings = {var("warehouse.path"): str(warehouse), var("source.export_dir"): str(args.export),
                var("site.site_dir"): str(folder / "site"), var("schedule.cron"): "0 0 1 1 *",
                var("distributed.embedding_partitions"): str(args.partitions)}
    rows = []
    for workers in args.workers:
        with duckdb.connect(str(working)) as con:
            create_cache_table(con)  # the ingest alone embeds nothing: no cache table yet
            con.execute(f"DELETE FROM {CACHE_TABLE}")
            con.execute(f"DELETE FROM {DOCUMENTS.qualified}")
            con.execute(f"DELETE FROM {DOCUMENT_EXTRACTIONS.qualified}")
            [(documents,)] = con.execute(
                f"SELECT count(*) FROM {RAW_ATTACHMENTS.qualified} "
                "WHERE is_document AND fetch_status = 'stored'").fetchall()
        shutil.rmtree(working.parent / "vectors", ignore_errors=True)
        with cluster(folder / f"deployment-{workers}", settings, workers=workers) as env:
            os.environ.update({k: v for k, v in env.items() if k.startswith(("DAGSTER_", "IMPACTING_"))})
            with dg.DagsterInstance.get() as instance:
                load, cpu, start = os.getloadavg()[0], cpu_seconds(), time.perf_counter()
                phases = backfill(env, instance, args.partitions)
                wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        with duckdb.connect(str(working), read_only=True) as con:
            [(vectors,)] = con.execute(f"SELECT count(*) FROM {CACHE_TABLE}").fetchall()
        rows.append((workers, documents, vectors, wall, cpu, load, os.getloadavg()[0], phases))
        print(f"{workers} worker(s): {wall:.0f} s wall ({' + '.join(f'{p:.0f}' for p in phases)} s: "
              f"export, partitions, merge), {cpu:.0f} s CPU", flush=True)
    print(f"\n{os.cpu_count()} cores; {args.partitions} partitions\n")
    print("| workers | documents | vectors | wall time | export + partitions + merge | total CPU "
          "| load average (1 min) before → after |")
    print("|---|---|---|---|---|---|---|")
    for workers, documents, vectors, wall, cpu, before, after, phases in rows:
        print(f"| {workers} | {documents} | {vectors} | {wall:.0f} s | "
              f"{' + '.join(f'{p:.0f}' for p in phases)} s | {cpu:.0f} s | {before:.1f} → {after:.1f} |")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
