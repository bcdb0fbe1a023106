"""Split a benchmark file (`*.bench.jsonl`) in time: the oldest records train, the newest test.

    python scripts/temporal_split.py ../shared/data/keps-dev.bench.jsonl /tmp/split --test-share 0.2

writes /tmp/split/keps-dev.train.jsonl and /tmp/split/keps-dev.test.jsonl, ordered by `created`
(then `key`), for `impacting eval --train ... --test ...`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", type=Path, help="a *.bench.jsonl file")
    parser.add_argument("out", type=Path, help="folder for <name>.train.jsonl and <name>.test.jsonl")
    parser.add_argument("--test-share", type=float, default=0.2,
                        help="share of newest records to test on")
    args = parser.parse_args()
    # split("\n"), not splitlines(): JSON strings may hold U+2028, which splitlines breaks on.
    lines = args.bench.read_text(encoding="utf-8").split("\n")
    records = [json.loads(line) for line in lines if line.strip()]
    records.sort(key=lambda r: (r.get("created") or "", r["key"]))
    cut = round(len(records) * (1 - args.test_share))
    name = args.bench.name.removesuffix(".jsonl").removesuffix(".bench")
    args.out.mkdir(parents=True, exist_ok=True)
    for part, rows in (("train", records[:cut]), ("test", records[cut:])):
        path = args.out / f"{name}.{part}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"{path}: {len(rows)} records, created {rows[0].get('created')} .. {rows[-1].get('created')}")


if __name__ == "__main__":
    main()
