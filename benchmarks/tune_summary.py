"""Cross-validated choice of the extractive summary's parameters (`SummaryParams`).

Not a test: a script that prints figures. On a benchmark file with reference summaries it
splits the documents into K folds; for each fold it picks the parameter combination with the
best mean ROUGE-1/ROUGE-L on the other folds and scores that choice on the held-out fold, next
to the baselines. The held-out means are the honest estimate; the combination chosen on all
documents is what `SummaryParams` ships with, and the spread of per-fold choices shows whether
that choice is stable.

    .venv/bin/python benchmarks/tune_summary.py --data ../shared/data/keps-dev.bench.jsonl \\
        --cache /tmp/lang4/embeddings.duckdb

Scoring is exactly `impacting eval`'s (rouge-score, stemming, summaries cut to the reference's
length), computed from pre-tokenised sentences so a grid of combinations runs in minutes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import duckdb
import numpy as np
from rouge_score import rouge_scorer

from impacting.evaluation import MIN_REFERENCE_WORDS, load_records, reference_text, remove_section
from impacting.language import baselines
from impacting.language.analysis import title_vector
from impacting.language.chunking import chunk_document
from impacting.language.document_frequencies import CorpusStats
from impacting.language.encoder import EmbeddingCache, shared_encoder
from impacting.language.summarise import DEFAULT_PARAMS, select_sentences
from impacting.language.vectors import embed_chunks, prose_chunks

GRID = {
    "title_weight": [0.75, 1.0, 1.5],
    "position_weight": [0.6, 1.0, 1.5, 2.5],
    "redundancy_weight": [0.0, 0.15, 0.3],
    "min_words": [5, 8],
}
SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


class Document:
    """One evaluation document: prose, vectors, title vector, pre-tokenised for ROUGE."""

    def __init__(self, record, cache: EmbeddingCache):
        self.key = record["key"]
        self.reference = reference_text(record.get("reference_summary") or "")
        self.length = len(self.reference.split())
        self.chunks = chunk_document(record["key"], remove_section(record["text"]))
        self.prose = prose_chunks(self.chunks)
        self.vectors = embed_chunks(cache, self.prose)
        self.title = title_vector(cache, self.chunks)
        self.reference_tokens = SCORER._tokenizer.tokenize(self.reference)
        # Tokens per whitespace word, so "cut to the reference's length in words" is exact.
        self.word_tokens = [[SCORER._tokenizer.tokenize(w) for w in c.text.split()]
                            for c in self.prose]

    def score(self, positions) -> np.ndarray:
        words = [w for p in positions for w in self.word_tokens[p]][: self.length]
        tokens = [t for w in words for t in w]
        ref = self.reference_tokens
        r1 = rouge_scorer._score_ngrams(rouge_scorer._create_ngrams(ref, 1),
                                        rouge_scorer._create_ngrams(tokens, 1)).fmeasure
        r2 = rouge_scorer._score_ngrams(rouge_scorer._create_ngrams(ref, 2),
                                        rouge_scorer._create_ngrams(tokens, 2)).fmeasure
        rl = rouge_scorer._score_lcs(ref, tokens).fmeasure
        return np.array([r1, r2, rl])


def combinations(grid):
    names = list(grid)
    for values in itertools.product(*(grid[n] for n in names)):
        yield replace(DEFAULT_PARAMS, **dict(zip(names, values, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="embedding cache DuckDB file")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here too")
    parser.add_argument("--grid", type=json.loads, default=GRID,
                        help='another grid as JSON, e.g. \'{"section_weight": [0, 0.5, 1]}\' '
                        "(other parameters keep their defaults)")
    args = parser.parse_args()

    records = load_records(args.data)
    with_reference = [r for r in records if len(reference_text(
        r.get("reference_summary") or "").split()) >= MIN_REFERENCE_WORDS]
    started = time.perf_counter()
    with duckdb.connect(str(args.cache)) as con:
        cache = EmbeddingCache(con, shared_encoder())
        documents = [d for d in (Document(r, cache) for r in with_reference) if d.prose]
    print(f"{len(documents)} documents with a reference of {MIN_REFERENCE_WORDS}+ words "
          f"({time.perf_counter() - started:.0f} s to load, {cache.stats.embedded} texts embedded)")

    rng = np.random.default_rng(0)
    fold_of = rng.permutation(len(documents)) % args.folds
    grid = list(combinations(args.grid))
    started = time.perf_counter()
    # scores[c, d] = ROUGE (1, 2, L) of combination c on document d, with the template
    # sentences of every record outside d's fold (the corpus a training split would see).
    templates = []
    chunked = {r["key"]: chunk_document(r["key"], r["text"]) for r in records}  # once, not per fold
    for fold in range(args.folds):
        held = {d.key for d, f in zip(documents, fold_of, strict=True) if f == fold}
        corpus = CorpusStats.build(c for k, c in chunked.items() if k not in held)
        templates.append(corpus.template_sentences)
    scores = np.zeros((len(grid), len(documents), 3))
    for c, params in enumerate(grid):
        for d, doc in enumerate(documents):
            chosen = select_sentences(doc.prose, doc.vectors, doc.length, params=params,
                                      skip=templates[fold_of[d]], title_vector=doc.title)
            scores[c, d] = doc.score(chosen)
    base = {
        "lead": np.array([d.score(baselines.lead(d.prose, d.length)) for d in documents]),
        "lexrank": np.array([d.score(baselines.lexrank(d.prose, d.length)) for d in documents]),
        "centroid": np.array([d.score(baselines.centroid(d.prose, d.vectors, d.length))
                              for d in documents]),
    }
    print(f"{len(grid)} combinations scored in {time.perf_counter() - started:.0f} s\n")

    objective = scores[:, :, [0, 2]].mean(axis=2)  # mean of ROUGE-1 and ROUGE-L
    held_out = np.zeros((len(documents), 3))
    folds = []
    for fold in range(args.folds):
        train, test = fold_of != fold, fold_of == fold
        best = int(np.argmax(objective[:, train].mean(axis=1)))
        held_out[test] = scores[best, test]
        folds.append({"fold": fold, "documents": int(test.sum()),
                      "chosen": {n: getattr(grid[best], n) for n in args.grid},
                      "held_out": _named(scores[best, test].mean(axis=0)),
                      **{name: _named(b[test].mean(axis=0)) for name, b in base.items()}})
        print(f"fold {fold}: {int(test.sum())} docs, chose {folds[-1]['chosen']}, held-out "
              f"R1/R2/RL {_fmt(scores[best, test].mean(axis=0))}  lead "
              f"{_fmt(base['lead'][test].mean(axis=0))}  lexrank "
              f"{_fmt(base['lexrank'][test].mean(axis=0))}")
    overall = int(np.argmax(objective.mean(axis=1)))
    shipped = grid.index(DEFAULT_PARAMS) if DEFAULT_PARAMS in grid else None
    summary = {
        "documents": len(documents), "folds": args.folds, "grid": args.grid,
        "all_combinations": [{"params": {n: getattr(p, n) for n in args.grid},
                              "scores": _named(scores[c].mean(axis=0))} for c, p in enumerate(grid)],
        "cross_validated": _named(held_out.mean(axis=0)),
        "baselines": {name: _named(b.mean(axis=0)) for name, b in base.items()},
        "per_fold": folds,
        "best_on_all": {"params": asdict(grid[overall]),
                        "scores": _named(scores[overall].mean(axis=0))},
        "shipped_defaults": {"params": asdict(DEFAULT_PARAMS),
                             "scores": _named(scores[shipped].mean(axis=0))
                             if shipped is not None else None},
    }
    print(f"\ncross-validated (held-out folds) R1/R2/RL: {_fmt(held_out.mean(axis=0))}")
    for name, b in base.items():
        print(f"{name:>9}: {_fmt(b.mean(axis=0))}")
    print(f"best on all documents: {summary['best_on_all']}")
    print(f"shipped defaults:      {summary['shipped_defaults']}")
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


def _named(values) -> dict[str, float]:
    return {name: round(float(v), 4) for name, v in zip(("rouge1", "rouge2", "rougeL"), values,
                                                          strict=True)}


def _fmt(values) -> str:
    return " / ".join(f"{v:.4f}" for v in values)


if __name__ == "__main__":
    main()
