"""The `impacting bench` command: arguments, the runs, what is printed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from impacting.settings import project_root

DEFAULT_CORPUS = project_root().parent / "shared" / "data" / "keps-dev.bench.jsonl"


def add_bench_parser(commands) -> None:
    bench = commands.add_parser(
        "bench", help="time the whole pipeline on a benchmark corpus, then an unchanged second run",
        description="Build an export folder from a *.bench.jsonl corpus (COPIES copies under new "
        "keys, lightly varied), run the whole pipeline on it in a temporary home, then again with "
        "nothing changed; print the figures and one JSON object (first_run_seconds, "
        "second_run_ratio, encoder_share, peak_rss_mib, stages, ...). Progress goes to standard "
        "error. Run it niced on a shared machine: nice -n 10 impacting bench ...")
    bench.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                       help=f"the *.bench.jsonl file (default {DEFAULT_CORPUS})")
    bench.add_argument("--copies", type=int, default=1, help="copies of the corpus (default 1)")
    bench.add_argument("--keep", type=Path, metavar="DIR",
                       help="build and keep the runs' home here (export, warehouse, logs) instead "
                       "of a temporary folder")
    bench.add_argument("--json", action="store_true", help="print only the JSON object")
    bench.add_argument("--history", type=sizes, metavar="H1,H2,...",
                       help="instead of the whole pipeline: time the nightly triage (similarity "
                       "index, search, team decisions) of the newest REQUESTS records against "
                       "histories of H1, H2, ... past projects (the rest of the corpus, copied "
                       "under new keys and lightly varied); key triage_seconds_by_history")
    bench.add_argument("--requests", type=int, default=100,
                       help="with --history: new requests triaged per size (default 100)")
    bench.add_argument("--added", type=int, default=100,
                       help="with --history: past projects decided since the night the index "
                       "was built, added to the kept index on the timed night (default 100)")
    bench.add_argument("--cache", type=Path, metavar="FILE",
                       help="with --history: a DuckDB file to keep the corpus's embeddings in "
                       "(as impacting eval --cache); default a temporary one")
    bench.add_argument("--exact", action="store_true",
                       help="with --history: also time the exact search (every past project's "
                       "passages) and report how much of its top 10 the two stages return")


def sizes(text: str) -> list[int]:
    """`1000,5000,20000` → [1000, 5000, 20000] (increasing, each at least 1)."""
    import argparse

    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give history sizes as whole numbers separated "
                                         "by commas, e.g. 1000,5000,20000") from None
    if not values or min(values) < 1 or values != sorted(values):
        raise argparse.ArgumentTypeError(f"{text!r}: give increasing sizes of at least 1, e.g. "
                                         "1000,5000,20000")
    return values


def run_bench(args) -> int:
    from impacting.benchmark.harness import bench
    from impacting.errors import ActionableError

    def say(line: str) -> None:
        print(f"impacting: {line}", file=sys.stderr, flush=True)

    try:
        if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
            say(f"--keep {args.keep} is not empty: choose a new folder, so no earlier run is measured")
            return 2
        if args.history:
            from impacting.benchmark.history import history_bench

            figures = history_bench(args.corpus, args.history, requests=args.requests,
                                    cache=args.cache, exact=args.exact, say=say, added=args.added)
        else:
            figures = bench(args.corpus, copies=args.copies, keep=args.keep, say=say)
    except (ActionableError, ValueError) as error:
        say(str(error))
        return 2
    if args.history:
        if not args.json:
            print(describe_history(figures))
        print(json.dumps(figures, indent=1))
        return 0
    if not args.json:
        print(describe(figures))
    print(json.dumps(figures, indent=1))
    return 0


def describe(figures: dict) -> str:
    """The headline figures in a few lines."""
    stages = sorted(figures["stages"].items(), key=lambda kv: -kv[1])[:6]
    return "\n".join([
        f"{figures['documents']} documents, {figures['words']:,} words "
        f"({figures['awaiting_triage']} awaiting triage)",
        f"first run  {figures['first_run_seconds']:.1f} s ({figures['words_per_second']:,.0f} words/s; "
        f"encoder {figures['encoder_seconds']:.1f} s = {figures['encoder_share']:.0%})",
        f"second run {figures['second_run_seconds']:.1f} s ({figures['second_run_ratio']:.1%} of the "
        f"first; {figures['second_run_encoder_texts']} texts embedded)",
        f"peak memory {figures['peak_rss_mib']:,.0f} MiB",
        "slowest steps of the first run: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages),
    ])


def describe_history(figures: dict) -> str:
    """Two lines per history size: a night on the kept index, and the night that builds it."""
    lines = [f"{figures['new_requests']} new requests; two-stage search with "
             f"{figures['candidates']} candidates (0: exact); {figures['added_past_projects_per_night']} "
             "past projects added to the kept index on the timed night"]
    for size, row in figures["by_history"].items():
        exact = (f", top-10 overlap with the exact search {row['top10_overlap_with_exact']:.3f}"
                 if row.get("top10_overlap_with_exact") is not None else "")
        build = row["build"]
        lines.append(
            f"history {int(size):>7,}: a night {row['triage_seconds']:7.1f} s (index "
            f"{row['index_seconds']:.1f}, search {row['search_seconds']:.1f}, teams "
            f"{row['teams_seconds']:.1f}), peak {row['peak_rss_mib']:,.0f} MiB; top-10 overlap with "
            f"a fresh build {row['top10_overlap_with_fresh_build']:.3f}{exact}")
        lines.append(f"{'':>16}building the index: {build['triage_seconds']:7.1f} s (index "
                     f"{build['index_seconds']:.1f}), peak {build['peak_rss_mib']:,.0f} MiB")
    return "\n".join(lines)
