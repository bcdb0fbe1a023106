"""Benchmark of the language stage (not a test: it prints figures).

For the same documents and the same loaded model it times, interleaved document by document:

- **ours**: the whole language stage (`run_language_stage` pieces: chunk, embed prose once through
  the DuckDB cache, executive + standard summary, corpus-aware KeyBERT keywords), starting from
  an empty cache;
- **plain**: the plain composition: KeyBERT's own `extract_keywords` (MMR, 1–2-grams, English
  stop words) on the document, plus a separate embedding-centroid extractive summariser that
  embeds the document's sentences itself (one pass for both summaries);

then ours again with nothing changed (the warm cache: a nightly re-run), and, each in a fresh
process, the peak memory (max RSS) of both on the longest document.

    .venv/bin/python benchmarks/language.py --data ../shared/data/keps-dev.bench.jsonl \\
        --documents 20 --out /tmp/lang4/bench.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np

from impacting.evaluation import load_records
from impacting.language import baselines
from impacting.language.analysis import LanguageConfig, analyse_document
from impacting.language.chunking import chunk_document
from impacting.language.document_frequencies import CorpusStats
from impacting.language.encoder import EmbeddingCache, shared_encoder
from impacting.language.keywords import KeywordExtractor
from impacting.language.vectors import prose_chunks


def plain_composition(keybert, encoder, text: str, config: LanguageConfig):
    """KeyBERT on the document + a centroid summariser that embeds the sentences itself."""
    keywords = keybert.extract_keywords(text, keyphrase_ngram_range=(1, 2), stop_words="english",
                                        use_mmr=True, diversity=0.5, top_n=config.keywords.top_n)
    prose = prose_chunks(chunk_document("plain", text))
    vectors = encoder.encode([c.text for c in prose])
    words = sum(c.words for c in prose)
    summaries = [baselines.centroid(prose, vectors, degree.budget(words))
                 for degree in (config.executive, config.summary)]
    return keywords, summaries


def memory_probe(data: Path, key: str, which: str) -> None:
    """In a fresh process: run one side on one document and print its peak RSS in MiB."""
    record = next(r for r in load_records(data) if r["key"] == key)
    config = LanguageConfig.from_settings()
    encoder = shared_encoder()
    if which == "ours":
        with duckdb.connect(":memory:") as con:
            cache = EmbeddingCache(con, encoder)
            corpus = CorpusStats.build([chunk_document(key, record["text"])])
            analyse_document(key, record["text"], cache, config, corpus,
                             KeywordExtractor(cache, corpus, config.keywords))
    else:
        from keybert import KeyBERT

        plain_composition(KeyBERT(model=encoder.load()), encoder, record["text"], config)
    print(json.dumps({"max_rss_mib": peak_rss_mib()}))


def peak_rss_mib() -> float:
    """This process's peak resident memory. Linux's VmHWM, not getrusage: a child's ru_maxrss
    starts from its parent's peak (fork copies it, exec keeps it), which would report the
    benchmark's own memory instead of the probe's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory(data: Path, key: str, which: str) -> float:
    output = subprocess.run([sys.executable, __file__, "--data", str(data), "--memory-probe", key,
                             "--side", which], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])["max_rss_mib"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a *.bench.jsonl file")
    parser.add_argument("--documents", type=int, default=20,
                        help="documents to time (a seeded random sample, plus the longest)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON")
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    parser.add_argument("--side", default="ours", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(args.data, args.memory_probe, args.side)
        return

    from keybert import KeyBERT

    records = load_records(args.data)
    longest = max(records, key=lambda r: len(r["text"].split()))
    rng = np.random.default_rng(args.seed)
    others = [r for r in records if r is not longest]
    sample = [longest] + [others[i] for i in rng.choice(len(others), args.documents - 1, replace=False)]
    words = [len(r["text"].split()) for r in sample]
    print(f"{len(sample)} documents, {sum(words):,} words (longest {longest['key']}, "
          f"{words[0]:,} words)")

    config = LanguageConfig.from_settings()
    encoder = shared_encoder()
    encoder.encode(["warm up the model"])  # loading is not what is measured
    keybert = KeyBERT(model=encoder.load())
    # Corpus statistics as a nightly run has them: from every document in the collection.
    corpus = CorpusStats.build(chunk_document(r["key"], r["text"]) for r in records)

    plain_seconds, our_seconds, rerun_seconds = [], [], []
    with duckdb.connect(":memory:") as con:
        cache = EmbeddingCache(con, encoder)
        extractor = KeywordExtractor(cache, corpus, config.keywords)
        for record in sample:
            started = time.perf_counter()
            plain_composition(keybert, encoder, record["text"], config)
            plain_seconds.append(time.perf_counter() - started)
            started = time.perf_counter()
            analyse_document(record["key"], record["text"], cache, config, corpus, extractor)
            our_seconds.append(time.perf_counter() - started)
            print(f"  {record['key'][:48]:48} {len(record['text'].split()):>6} words  plain "
                  f"{plain_seconds[-1]:7.2f} s  ours {our_seconds[-1]:7.2f} s", flush=True)
        first_embedded = cache.stats.embedded
        for record in sample:
            started = time.perf_counter()
            analyse_document(record["key"], record["text"], cache, config, corpus, extractor)
            rerun_seconds.append(time.perf_counter() - started)
        rerun_embedded = cache.stats.embedded - first_embedded

    total_words = sum(words)
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {_cpus()} CPUs, "
                   f"Python {platform.python_version()}",
        "documents": len(sample), "words": total_words,
        "plain": _rates(plain_seconds, total_words),
        "ours": _rates(our_seconds, total_words) | {"texts_embedded": first_embedded},
        "ours_rerun": _rates(rerun_seconds, total_words) | {"texts_embedded": rerun_embedded},
        "speedup": sum(plain_seconds) / sum(our_seconds),
        "longest": {"key": longest["key"], "words": words[0],
                    "plain_seconds": plain_seconds[0], "ours_seconds": our_seconds[0],
                    "speedup": plain_seconds[0] / our_seconds[0],
                    "ours_rerun_seconds": rerun_seconds[0]},
    }
    print("\nmeasuring peak memory on the longest document in fresh processes ...", flush=True)
    figures["longest"]["ours_max_rss_mib"] = peak_memory(args.data, longest["key"], "ours")
    figures["longest"]["plain_max_rss_mib"] = peak_memory(args.data, longest["key"], "plain")

    print(f"\nmachine: {figures['machine']}")
    for name in ("plain", "ours", "ours_rerun"):
        f = figures[name]
        print(f"{name:>10}: {f['seconds']:8.1f} s  {f['seconds_per_document']:6.2f} s/document  "
              f"{f['seconds_per_1000_words']:6.2f} s/1,000 words"
              + (f"  ({f['texts_embedded']} texts embedded)" if "texts_embedded" in f else ""))
    print(f"speed-up, ours vs plain (same run, same documents): {figures['speedup']:.2f}x")
    lf = figures["longest"]
    print(f"longest ({lf['key']}, {lf['words']:,} words): plain {lf['plain_seconds']:.1f} s, ours "
          f"{lf['ours_seconds']:.1f} s ({lf['speedup']:.2f}x), re-run {lf['ours_rerun_seconds']:.2f} s; "
          f"peak RSS ours {lf['ours_max_rss_mib']:.0f} MiB, plain {lf['plain_max_rss_mib']:.0f} MiB")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


def _rates(seconds: list[float], words: int) -> dict[str, float]:
    total = sum(seconds)
    return {"seconds": total, "seconds_per_document": total / len(seconds),
            "seconds_per_1000_words": 1000 * total / words}


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    main()
