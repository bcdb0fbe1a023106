"""`impacting bench`: the whole pipeline on a benchmark corpus, twice, in a temporary home.

The corpus becomes an export folder (`corpus.py`); each run is `impacting run` in a new process
(`runner.py`), as the nightly schedule starts one, while this process samples the memory of the
run's whole process tree (the pipeline and its document reader). The second run follows at once
with nothing changed: what it costs is what a quiet night costs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from impacting.benchmark.corpus import read_corpus, write_export
from impacting.errors import ActionableError
from impacting.settings import var

# How often the run's process tree is sampled for its memory.
SAMPLE_SECONDS = 0.2
MIB = 1024 * 1024
# What starts a progress line (`impacting.progress`), passed on from the run to the bench's user.
PROGRESS = "progress: "


class BenchFailed(ActionableError, RuntimeError):
    """A benchmark run failed; the message points at its log."""


@dataclass
class RunFigures:
    seconds: float
    peak_rss_mib: float
    stats: dict


def home_environment(home: Path, export: Path) -> dict[str, str]:
    """The environment of a run whose every file lives under `home` (the user's other settings
    are kept, so a configured encoder is what gets measured)."""
    return os.environ | {
        var("source.export_dir"): str(export),
        var("warehouse.path"): str(home / "warehouse" / "impacting.duckdb"),
        var("site.site_dir"): str(home / "site"),
        var("triage.feedback_dir"): str(home / "feedback"),
        "DAGSTER_HOME": str(home / "dagster"),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",  # the log and its progress lines as they happen
    }


def tree_rss(process) -> int:
    """Resident bytes of `process` and all its descendants now (0 once it has gone)."""
    import psutil

    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def copy_log(stream, log_path: Path, say: Callable[[str], None]) -> None:
    """Copy the run's output into its log, passing its progress lines on."""
    with log_path.open("w", encoding="utf-8") as log:
        for line in stream:
            log.write(line)
            if PROGRESS in line:
                step = line.split(" - ")[-2] if line.count(" - ") >= 2 else ""
                say(f"{step}: {line[line.index(PROGRESS):].strip()}")


def measured_run(env: dict[str, str], stats_path: Path, log_path: Path,
                 say: Callable[[str], None] = lambda line: None) -> RunFigures:
    """One `impacting run` in a new process: its wall-clock seconds (interpreter start-up
    included), the peak memory of its process tree, and what the runner recorded."""
    import psutil

    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "impacting.benchmark.runner", str(stats_path)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             encoding="utf-8", errors="replace")
    copier = threading.Thread(target=copy_log, args=(child.stdout, log_path, say), daemon=True)
    copier.start()
    process = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss(process))
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    copier.join(timeout=30)
    if child.returncode != 0 or not stats_path.is_file():
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise BenchFailed(f"the benchmark run failed (exit status {child.returncode}); its log is "
                          f"{log_path}. Last lines:\n{tail}")
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    # The sampled tree can miss a short peak; the process's own high-water mark cannot.
    peak_mib = max(peak / MIB, stats["peak_rss_mib"])
    return RunFigures(seconds, round(peak_mib, 1), stats)


def bench(corpus: Path, copies: int = 1, keep: Path | None = None,
          say: Callable[[str], None] = lambda line: None) -> dict:
    """Build the export from `corpus` (× `copies`), run the pipeline twice, return the figures."""
    records = read_corpus(corpus)
    home = Path(tempfile.mkdtemp(prefix="impacting-bench-")) if keep is None else keep
    try:
        exported = write_export(records, home / "export", copies)
        say(f"export of {exported.requests} requests ({exported.awaiting} awaiting triage, "
            f"{exported.words:,} words) in {exported.folder}")
        env = home_environment(home, exported.folder)
        load_at_start = [round(x, 2) for x in os.getloadavg()]
        runs = []
        for number in (1, 2):
            say(f"run {number} of 2 (log: {home / f'run{number}.log'})")
            runs.append(measured_run(env, home / f"run{number}.json", home / f"run{number}.log", say))
            say(f"run {number}: {runs[-1].seconds:.1f} s, peak {runs[-1].peak_rss_mib:,.0f} MiB")
        first, second = runs
        encoder_seconds = first.stats["encoder_seconds"]
        return {
            "corpus": str(corpus), "copies": copies,
            "documents": exported.requests, "awaiting_triage": exported.awaiting,
            "words": exported.words,
            "first_run_seconds": round(first.seconds, 2),
            "second_run_seconds": round(second.seconds, 2),
            "second_run_ratio": round(second.seconds / first.seconds, 4),
            "words_per_second": round(exported.words / first.seconds, 1),
            "encoder_seconds": encoder_seconds,
            "encoder_texts": first.stats["encoder_texts"],
            "encoder_share": round(encoder_seconds / first.seconds, 4),
            "second_run_encoder_texts": second.stats["encoder_texts"],
            # CPU seconds (the run's process and its document reader): what the work needs, whatever
            # else shares the machine; the wall-clock figures above grow with the load.
            "first_run_cpu_seconds": first.stats["cpu_seconds"],
            "second_run_cpu_seconds": second.stats["cpu_seconds"],
            "second_run_cpu_ratio": round(second.stats["cpu_seconds"] / first.stats["cpu_seconds"], 4),
            "encoder_cpu_seconds": first.stats["encoder_cpu_seconds"],
            "encoder_cpu_share": round(first.stats["encoder_cpu_seconds"] / first.stats["cpu_seconds"], 4),
            "peak_rss_mib": max(first.peak_rss_mib, second.peak_rss_mib),
            "stages": first.stats["steps"],
            "second_run_stages": second.stats["steps"],
            "second_run_skipped": second.stats["skipped"],
            "cpu_count": os.cpu_count(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        if keep is None:
            shutil.rmtree(home, ignore_errors=True)
