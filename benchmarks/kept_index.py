"""The similarity index kept between nights against a fresh build and the exact search, on a
temporal split's links.

    .venv/bin/python benchmarks/kept_index.py --train /tmp/split/jira-tidev-dev.train.jsonl \
        --test /tmp/split/jira-tidev-dev.test.jsonl --cache /tmp/emb_jira.duckdb

The pool is train + test (as in `impacting eval --section similar`); the kept index is built over
the train records and then extended with the test records (a quarter more past projects: the
most it is extended before the default rebuild), so its centre, vocabulary and word weights are
the train file's. Each linked test record is searched (itself excluded) with the fixed fusion,
top 10, no cut-off, by: the exact search (every past project's passages), a fresh build with the
configured two stages, and the kept index. Prints one JSON object: recall@10 and MRR of each,
the share of the exact top 10 each returns, and the seconds to build, extend and load.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

import duckdb

from impacting.evaluation import load_records
from impacting.language.encoder import EmbeddingCache, configured_encoder
from impacting.settings import Settings
from impacting.triage.corpus import Corpus, Request, represent, template_passages
from impacting.triage.kept_index import KeptIndex
from impacting.triage.similar import SimilarityIndex, link_metrics


def _documents(corpus: Corpus) -> list[tuple[str, str]]:
    return [(k, hashlib.sha256(t.encode()).hexdigest())
            for k, t in zip(corpus.keys, corpus.lexical, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings.from_env().triage
    weight, candidates = settings.similar_lexical_weight, settings.similar_candidates
    with duckdb.connect(str(args.cache)) as con:
        cache = EmbeddingCache(con, configured_encoder(Settings.from_env().language))
        train = represent([Request.from_bench(r) for r in load_records(args.train)], cache)
        test = represent([Request.from_bench(r) for r in load_records(args.test)], cache)
    pool = Corpus.concat([train, test])
    template = template_passages(pool)
    keys = set(pool.keys)
    linked = [i for i, r in enumerate(test.requests) if set(r.links) & keys]
    queries = test.subset(linked)
    relevant = [set(r.links) & keys for r in queries.requests]

    def searched(index: SimilarityIndex) -> list:
        return index.search(queries, top_k=10, min_score=0.0)

    figures: dict = {"pool": len(pool), "built_over": len(train), "added": len(test),
                     "added_share": round(len(test) / len(train), 4),
                     "queries": len(queries), "candidates": candidates}
    results = {"exact": searched(SimilarityIndex(pool, weight, template=template, candidates=0)),
               "fresh": searched(SimilarityIndex(pool, weight, template=template, candidates=candidates))}
    with tempfile.TemporaryDirectory() as folder:
        # The whole test file is added at once, whatever the rebuild setting (it is ~25%).
        kept = KeptIndex(Path(folder) / "index", rebuild_growth=len(test) / len(train) + 1e-9)
        started = time.perf_counter()
        kept.update(_documents(train), template, lambda _: train, lexical_weight=weight,
                    candidates=candidates, model_id="bench")
        figures["build_seconds"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        index, report = kept.update(_documents(pool), template,
                                    lambda wanted: test.subset([test.position(k) for k in wanted]),
                                    lexical_weight=weight, candidates=candidates, model_id="bench")
        figures["extend_seconds"] = round(time.perf_counter() - started, 2)
        figures["action"] = report.action
        results["kept"] = searched(index)
    exact_top = [{m.key for m in row} for row in results["exact"]]
    for name, rows in results.items():
        metrics = link_metrics(relevant, rows)
        shares = [len({m.key for m in row} & top) / len(top)
                  for row, top in zip(rows, exact_top, strict=True) if top]
        figures[name] = {"recall_at_10": round(metrics["recall_at_10"], 4), "mrr": round(metrics["mrr"], 4),
                         "top10_overlap_with_exact": round(sum(shares) / len(shares), 4)}
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
