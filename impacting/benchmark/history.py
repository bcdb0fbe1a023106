"""`impacting bench --history H1,H2,...`: the nightly triage of new requests against a long history.

The corpus's newest `requests` records are the requests awaiting triage; the others are the base
history. For each size H the history is the base repeated under new keys until it holds H past
projects, each copy lightly varied (every passage vector nudged by seeded noise of norm
`VECTOR_NOISE` and rescaled, a tenth of its words dropped from its lexical text), so no two past
projects are identical and ties do not flatter the search. Embedding is not what is measured
(the language stage embeds each sentence once, on the night it arrives): the corpus is embedded
once, into the embedding cache, before any size is timed.

What is timed, per size, is what a night with new requests runs in `similar_projects` and
`team_predictions`: the similarity index built over the H past projects, the search of every new
request, and the team decisions with their reasons (a team model trained once on the base
history; training is a separate, retrain-only cost). Each size runs in a fresh process
(`python -m impacting.benchmark.history SPEC`), so its peak memory is its own.
With `exact`, the same search without the first stage is timed too, and the two stages' top 10
is compared with the exact top 10 (the share of the exact top 10 they return).
"""

from __future__ import annotations

import json
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from impacting.triage.corpus import Corpus, Request

# The size of the nudge given to each copied passage vector (a unit vector): cosine ~0.999 to
# the original, enough to break ties, too little to change what a document is about.
VECTOR_NOISE = 0.05
# Share of its words a copy's lexical text loses (seeded): its TF-IDF vector differs a little.
WORD_DROP = 0.1
KIB = 1024


def split_requests(records: Sequence[dict], requests: int) -> tuple[list[dict], list[dict]]:
    """(base history, new requests): the newest `requests` records (by creation date, then key)
    await triage."""
    ordered = sorted(records, key=lambda r: (str(r.get("created") or ""), str(r["key"])))
    if len(ordered) <= requests:
        raise ValueError(f"the corpus has {len(ordered)} records: it needs more than --requests "
                         f"({requests}) so that some past projects remain")
    return ordered[:-requests], ordered[-requests:]


def grow_history(base: Corpus, size: int, seed: int = 0) -> Corpus:
    """`size` past projects: `base` first, then lightly varied copies of it under new keys."""
    if size <= len(base):
        return base.subset(list(range(size))) if size < len(base) else base
    rng = np.random.default_rng(seed)
    parts = [base]
    copy = 0
    while sum(len(p) for p in parts) < size:
        copy += 1
        take = min(len(base), size - sum(len(p) for p in parts))
        parts.append(_varied_copy(base, take, copy, rng))
    return Corpus.concat(parts)


def _varied_copy(base: Corpus, count: int, copy: int, rng: np.random.Generator) -> Corpus:
    requests = [replace(r, key=f"H{copy}-{r.key}", links=()) for r in base.requests[:count]]
    passage_vectors = [_nudged(v, rng) for v in base.passage_vectors[:count]]
    titles = None if base.title_vectors is None else _nudged(base.title_vectors[:count], rng)
    vectors = _nudged(base.vectors[:count], rng)
    lexical = [_drop_words(text, rng) for text in base.lexical[:count]]
    return Corpus(requests, base.passages[:count], passage_vectors, vectors, lexical,
                  None if base.word_chunks is None else base.word_chunks[:count], titles)


def _nudged(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit rows moved by noise of norm ~`VECTOR_NOISE` and rescaled (zero rows stay zero)."""
    if not len(vectors):
        return vectors
    noise = rng.normal(size=vectors.shape).astype(np.float32) * (VECTOR_NOISE / np.sqrt(vectors.shape[1]))
    moved = vectors + noise * (np.linalg.norm(vectors, axis=1, keepdims=True) > 0)
    norms = np.linalg.norm(moved, axis=1, keepdims=True)
    return (moved / np.maximum(norms, 1e-12)).astype(np.float32)


def _drop_words(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    keep = rng.random(len(words)) >= WORD_DROP
    return " ".join(w for w, k in zip(words, keep, strict=True) if k)


def peak_rss_mib() -> float:
    """This process's high-water mark of resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB


# --- one size, in its own process ------------------------------------------------------------------

def time_one_size(spec: dict) -> dict:
    """Build the history of `spec['size']` past projects and time one night's triage against it."""
    from impacting.triage.predict import triage
    from impacting.triage.similar import SimilarityIndex

    with open(spec["prepared"], "rb") as handle:
        prepared = pickle.load(handle)
    base, new, model, template = (prepared["base"], prepared["new"], prepared["model"],
                                  prepared["template"])
    size, candidates = spec["size"], spec["candidates"]
    loaded_mib = peak_rss_mib()
    history = grow_history(base, size)
    sentences = int(sum(len(v) for v in history.passage_vectors))
    figures: dict = {"history": len(history), "history_sentences": sentences,
                     "new_requests": len(new), "candidates": candidates}

    def search(candidates: int) -> tuple[dict, list]:
        timings = {}
        started = time.perf_counter()
        index = SimilarityIndex(history, spec["lexical_weight"], template=template,
                                candidates=candidates)
        timings["index_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        halves = index.halves(new)
        matches = index.search(new, top_k=spec["top_k"], min_score=spec["min_score"], halves=halves)
        timings["search_seconds"] = time.perf_counter() - started
        top10 = index.search(new, top_k=10, min_score=0.0, halves=halves)
        return timings, [[m.key for m in row] for row in top10], matches

    timings, top10, matches = search(candidates)
    teams_of = {r.key: r.teams for r in history.requests}
    started = time.perf_counter()
    triage(model, new, matches, teams_of, template=template)
    timings["teams_seconds"] = time.perf_counter() - started
    timings["triage_seconds"] = sum(timings[k] for k in ("index_seconds", "search_seconds",
                                                         "teams_seconds"))
    figures.update({k: round(v, 3) for k, v in timings.items()})
    figures["peak_rss_mib"] = round(peak_rss_mib(), 1)
    figures["loaded_rss_mib"] = round(loaded_mib, 1)
    if spec["exact"]:
        exact_timings, exact_top10, _ = search(0)
        figures["exact_index_seconds"] = round(exact_timings["index_seconds"], 3)
        figures["exact_search_seconds"] = round(exact_timings["search_seconds"], 3)
        shares = [len(set(a) & set(b)) / len(b) for a, b in zip(top10, exact_top10, strict=True) if b]
        figures["top10_overlap_with_exact"] = round(float(np.mean(shares)), 4) if shares else None
        figures["peak_rss_mib_with_exact"] = round(peak_rss_mib(), 1)
    return figures


# --- the command -------------------------------------------------------------------------------

def history_bench(corpus: Path, sizes: Sequence[int], requests: int = 100, cache: Path | None = None,
                  exact: bool = False, say: Callable[[str], None] = lambda line: None) -> dict:
    """Embed the corpus once (into `cache`, kept when given), train the team model on the base
    history, then time each history size in its own process."""
    from impacting.benchmark.corpus import read_corpus
    from impacting.settings import Settings

    settings = Settings.from_env()
    base_records, new_records = split_requests(read_corpus(corpus), requests)
    work = Path(tempfile.mkdtemp(prefix="impacting-history-"))
    try:
        return _history_bench(corpus, sizes, base_records, new_records, work, cache, exact, settings, say)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _history_bench(corpus: Path, sizes: Sequence[int], base_records: list[dict], new_records: list[dict],
                   work: Path, cache: Path | None, exact: bool, settings, say) -> dict:
    import duckdb

    from impacting.language.encoder import EmbeddingCache, configured_encoder
    from impacting.progress import Progress
    from impacting.triage.corpus import represent, template_passages
    from impacting.triage.teams import TeamModelConfig, fit_team_model

    cache_path = cache or work / "embeddings.duckdb"
    with duckdb.connect(str(cache_path)) as con:
        embeddings = EmbeddingCache(con, configured_encoder(settings.language))
        corpora = []
        for name, records in (("past projects", base_records), ("new requests", new_records)):
            progress = Progress(name, len(records), say, embeddings.encoder)
            corpora.append(represent([Request.from_bench(r) for r in records], embeddings, progress.update))
            progress.finish()
    base, new = corpora
    template = template_passages(base)
    say(f"training the team model on the {len(base)} past projects (once, not timed per size)")
    started = time.perf_counter()
    model = fit_team_model(base, TeamModelConfig.from_settings(settings.triage), template=template)
    training_seconds = time.perf_counter() - started
    prepared = work / "prepared.pickle"
    with prepared.open("wb") as handle:
        pickle.dump({"base": base, "new": new, "model": model, "template": template}, handle)
    similar = settings.triage
    by_size = {}
    for size in sizes:
        say(f"history of {size:,} past projects: building and timing in a new process")
        spec = {"prepared": str(prepared), "size": size, "candidates": similar.similar_candidates,
                "lexical_weight": similar.similar_lexical_weight, "top_k": similar.similar_top_k,
                "min_score": similar.similar_min_score, "exact": exact}
        done = subprocess.run([sys.executable, "-m", "impacting.benchmark.history", json.dumps(spec)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the history size {size} failed (exit status {done.returncode}):\n"
                               f"{done.stderr[-2000:]}")
        by_size[str(size)] = json.loads(done.stdout.strip().splitlines()[-1])
        say(f"history of {size:,}: triage {by_size[str(size)]['triage_seconds']:.1f} s, peak "
            f"{by_size[str(size)]['peak_rss_mib']:,.0f} MiB")
    first, last = by_size[str(sizes[0])], by_size[str(sizes[-1])]
    return {
        "corpus": str(corpus), "new_requests": len(new), "base_history": len(base),
        "candidates": similar.similar_candidates,
        "team_model_training_seconds": round(training_seconds, 1),
        "triage_seconds_by_history": {k: v["triage_seconds"] for k, v in by_size.items()},
        "peak_rss_mib_by_history": {k: v["peak_rss_mib"] for k, v in by_size.items()},
        "growth": {"history": sizes[-1] / sizes[0],
                   "time": round(last["triage_seconds"] / max(first["triage_seconds"], 1e-9), 2)},
        "by_history": by_size,
    }


if __name__ == "__main__":
    print(json.dumps(time_one_size(json.loads(sys.argv[1]))))
