"""One measured pipeline run, in a process of its own: `python -m impacting.benchmark.runner STATS`.

Runs `impacting run` exactly as a person would (the environment says where everything is), then
writes STATS (JSON): the run's exit status and seconds in this process, every step's seconds
from the run's Dagster step records, the assets it skipped, the encoder's forward passes (texts,
seconds, CPU seconds), the CPU seconds of the run and its document reader, and their peak
memory. `impacting bench` starts it twice and reads what it wrote.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    from impacting.cli import main as cli

    status = cli(["run", *argv[1:]])
    seconds = time.perf_counter() - STARTED
    from impacting.defs.run_records import newest_run_figures
    from impacting.language.encoder import configured_encoder
    from impacting.settings import Settings

    recorded = newest_run_figures()
    encoder = configured_encoder(Settings.from_env().language)
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out.write_text(json.dumps({
        "status": status, "seconds_in_process": round(seconds, 3), **recorded,
        "encoder_texts": encoder.stats.texts, "encoder_seconds": round(encoder.stats.seconds, 3),
        "encoder_cpu_seconds": round(encoder.stats.cpu_seconds, 3),
        "cpu_seconds": round(own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 3),
        "peak_rss_mib": round(own.ru_maxrss / 1024, 1),
        # The largest child (the document reader, Dagster's log tails); a forked child counts the
        # pages it still shares with this process, so this is an upper bound.
        "children_peak_rss_mib": round(children.ru_maxrss / 1024, 1),
    }, indent=1), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
