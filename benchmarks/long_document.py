"""A design document of about N words for timing `impacting triage` (not a test: it writes a file).

The longest KEP of a benchmark file (or the `--start`-th longest, for another document whose
sentences are not in the embedding cache yet), followed by the KEP that brings the total closest
to `--words`, as one Markdown document (both keep their own headings):

    .venv/bin/python benchmarks/long_document.py --data ../shared/data/keps-dev.bench.jsonl \\
        --words 25000 --out /tmp/long-design.md
    time .venv/bin/impacting triage /tmp/long-design.md > /tmp/long-brief.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from impacting.evaluation import load_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a *.bench.jsonl file")
    parser.add_argument("--words", type=int, default=25_000, help="about how many words")
    parser.add_argument("--out", type=Path, required=True, help="the Markdown file to write")
    parser.add_argument("--start", type=int, default=1, help="begin with the N-th longest KEP")
    args = parser.parse_args()
    records = sorted(load_records(args.data), key=lambda r: -len(r["text"].split()))
    longest = records[args.start - 1]
    rest = args.words - len(longest["text"].split())
    second = min((r for r in records if r is not longest),
                 key=lambda r: abs(len(r["text"].split()) - rest))
    text = f"{longest['text']}\n\n{second['text']}\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"{args.out}: {len(text.split()):,} words ({longest['key']} and {second['key']})")


if __name__ == "__main__":
    main()
