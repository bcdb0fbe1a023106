"""`impacting bench --history H1,H2,...`: the nightly triage of new requests against a long history.

The corpus's newest `requests` records are the requests awaiting triage; the others are the base
history. For each size H the history is the base repeated under new keys until it holds H past
projects, each copy lightly varied (every passage vector nudged by seeded noise of norm
`VECTOR_NOISE` and rescaled, a tenth of its words dropped from its lexical text), so no two past
projects are identical and ties do not flatter the search. Embedding is not what is measured
(the language stage embeds each sentence once, on the night it arrives): the corpus is embedded
once, into the embedding cache, before any size is timed.

What is timed, per size, is what a night with new requests runs in `similar_projects` and
`team_predictions`: the similarity index (kept between nights, `triage.kept_index`), the search
of every new request, and the team decisions with their reasons (a team model trained once on
the base history; training is a separate, retrain-only cost). Two nights per size, each in a
fresh process (`python -m impacting.benchmark.history build|night SPEC`), so its peak memory is
its own: the first builds the index over the H past projects and keeps it (what every night
cost before the index was kept, and what a rebuild costs); the later one, the figure reported as
`triage_seconds_by_history`, extends the kept index with `added` past projects decided since,
without ever loading the history, and is compared with a fresh build over the same past
projects (the share of its top 10 the kept index returns). With `exact`, the exact search (no
first stage) over the same past projects is timed too, and its top 10 compared.
"""

from __future__ import annotations

import hashlib
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


# --- one size, in its own processes ---------------------------------------------------------------

def _fingerprints(corpus: Corpus) -> list[str]:
    """A text fingerprint per past project (what the kept index checks): its words."""
    return [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in corpus.lexical]


def _top10(index, new: Corpus) -> list[list[str]]:
    return [[m.key for m in row] for row in index.search(new, top_k=10, min_score=0.0)]


def _overlap(mine: list[list[str]], theirs: list[list[str]]) -> float | None:
    shares = [len(set(a) & set(b)) / len(b) for a, b in zip(mine, theirs, strict=True) if b]
    return round(float(np.mean(shares)), 4) if shares else None


def build_one_size(spec: dict) -> dict:
    """The first night (or a rebuild): build and keep the index over `spec['size']` past
    projects, then search and decide teams. Prepares the next night: `added` more past
    projects (decided since) and what a fresh build over all of them returns."""
    from impacting.triage.kept_index import KeptIndex
    from impacting.triage.predict import triage
    from impacting.triage.similar import SimilarityIndex

    with open(spec["prepared"], "rb") as handle:
        prepared = pickle.load(handle)
    base, new, model, template = (prepared["base"], prepared["new"], prepared["model"],
                                  prepared["template"])
    size, candidates, weight = spec["size"], spec["candidates"], spec["lexical_weight"]
    loaded_mib = peak_rss_mib()
    history = grow_history(base, size)
    # The next night's new past projects: yet another varied copy, under keys of their own.
    added = _varied_copy(base, min(spec["added"], len(base)), 10**6, np.random.default_rng(size))
    figures: dict = {"history": len(history), "new_requests": len(new), "candidates": candidates,
                     "history_sentences": int(sum(len(v) for v in history.passage_vectors)),
                     "added_past_projects": len(added)}
    kept = KeptIndex(Path(spec["folder"]), rebuild_growth=spec["rebuild_growth"])
    documents = list(zip(history.keys, _fingerprints(history), strict=True))
    started = time.perf_counter()
    index, report = kept.update(documents, template, lambda keys: history, lexical_weight=weight,
                                candidates=candidates, model_id="bench")
    timings = {"index_seconds": time.perf_counter() - started}
    started = time.perf_counter()
    matches = index.search(new, top_k=spec["top_k"], min_score=spec["min_score"])
    timings["search_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    triage(model, new, matches, {r.key: r.teams for r in history.requests}, template=template)
    timings["teams_seconds"] = time.perf_counter() - started
    timings["triage_seconds"] = sum(timings.values())
    figures["build"] = {k: round(v, 3) for k, v in timings.items()} | {"action": report.action}
    figures["build"]["peak_rss_mib"] = round(peak_rss_mib(), 1)
    figures["loaded_rss_mib"] = round(loaded_mib, 1)
    del index
    grown = Corpus.concat([history, added])
    fresh = SimilarityIndex(grown, weight, template=template, candidates=candidates)
    night = {"new": new, "model": model, "template": template, "added": added,
             "documents": documents + list(zip(added.keys, _fingerprints(added), strict=True)),
             "teams_of": {r.key: r.teams for r in grown.requests}, "fresh_top10": _top10(fresh, new)}
    del fresh
    if spec["exact"]:
        started = time.perf_counter()
        exact = SimilarityIndex(grown, weight, template=template, candidates=0)
        figures["exact_index_seconds"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        exact_matches = exact.search(new, top_k=spec["top_k"], min_score=spec["min_score"])
        figures["exact_search_seconds"] = round(time.perf_counter() - started, 3)
        del exact_matches
        night["exact_top10"] = _top10(exact, new)
        figures["peak_rss_mib_with_exact"] = round(peak_rss_mib(), 1)
    with open(spec["night"], "wb") as handle:
        pickle.dump(night, handle)
    return figures


def night_one_size(spec: dict) -> dict:
    """A later night, in a process that never held the history: the kept index extended with
    the past projects decided since, the new requests searched, their teams decided."""
    from impacting.triage.kept_index import KeptIndex
    from impacting.triage.predict import triage

    with open(spec["night"], "rb") as handle:
        night = pickle.load(handle)
    new, added = night["new"], night["added"]
    loaded_mib = peak_rss_mib()
    kept = KeptIndex(Path(spec["folder"]), rebuild_growth=spec["rebuild_growth"])
    started = time.perf_counter()

    def load(keys: list[str]) -> Corpus:
        if set(keys) - set(added.keys):
            raise RuntimeError("the kept index was not extended but built again: "
                               "the benchmark's night cannot load the whole history")
        return added.subset([added.position(k) for k in keys])

    index, report = kept.update(night["documents"], night["template"], load,
                                lexical_weight=spec["lexical_weight"], candidates=spec["candidates"],
                                model_id="bench")
    timings = {"index_seconds": time.perf_counter() - started}
    started = time.perf_counter()
    matches = index.search(new, top_k=spec["top_k"], min_score=spec["min_score"])
    timings["search_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    triage(night["model"], new, matches, night["teams_of"], template=night["template"])
    timings["teams_seconds"] = time.perf_counter() - started
    timings["triage_seconds"] = sum(timings.values())
    figures = {k: round(v, 3) for k, v in timings.items()}
    top10 = _top10(index, new)
    figures |= {"action": report.action, "added": report.added,
                "top10_overlap_with_fresh_build": _overlap(top10, night["fresh_top10"]),
                "peak_rss_mib": round(peak_rss_mib(), 1), "loaded_rss_mib": round(loaded_mib, 1)}
    if "exact_top10" in night:
        figures["top10_overlap_with_exact"] = _overlap(top10, night["exact_top10"])
    return figures


def _child(step: str, spec: dict, size: int) -> dict:
    done = subprocess.run([sys.executable, "-m", "impacting.benchmark.history", step, json.dumps(spec)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the history size {size} failed in its {step} step (exit status "
                           f"{done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the command -------------------------------------------------------------------------------

def history_bench(corpus: Path, sizes: Sequence[int], requests: int = 100, cache: Path | None = None,
                  exact: bool = False, say: Callable[[str], None] = lambda line: None,
                  added: int = 100) -> dict:
    """Embed the corpus once (into `cache`, kept when given), train the team model on the base
    history, then time each history size in its own process."""
    from impacting.benchmark.corpus import read_corpus
    from impacting.settings import Settings

    settings = Settings.from_env()
    base_records, new_records = split_requests(read_corpus(corpus), requests)
    work = Path(tempfile.mkdtemp(prefix="impacting-history-"))
    try:
        return _history_bench(corpus, sizes, base_records, new_records, work, cache, exact, settings,
                              say, added)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _history_bench(corpus: Path, sizes: Sequence[int], base_records: list[dict], new_records: list[dict],
                   work: Path, cache: Path | None, exact: bool, settings, say, added: int) -> dict:
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
        say(f"history of {size:,} past projects: the first night builds the index, a later night "
            "extends it; each in a new process")
        spec = {"prepared": str(prepared), "size": size, "candidates": similar.similar_candidates,
                "lexical_weight": similar.similar_lexical_weight, "top_k": similar.similar_top_k,
                "min_score": similar.similar_min_score, "exact": exact, "added": added,
                "rebuild_growth": similar.similar_index_rebuild_growth,
                "folder": str(work / f"index-{size}"), "night": str(work / f"night-{size}.pickle")}
        row = _child("build", spec, size)
        row |= _child("night", spec, size)
        shutil.rmtree(spec["folder"], ignore_errors=True)
        by_size[str(size)] = row
        say(f"history of {size:,}: a night {row['triage_seconds']:.1f} s (kept index), a build "
            f"{row['build']['triage_seconds']:.1f} s; peak {row['peak_rss_mib']:,.0f} MiB")
    first, last = by_size[str(sizes[0])], by_size[str(sizes[-1])]
    return {
        "corpus": str(corpus), "new_requests": len(new), "base_history": len(base),
        "candidates": similar.similar_candidates, "added_past_projects_per_night": added,
        "team_model_training_seconds": round(training_seconds, 1),
        "triage_seconds_by_history": {k: v["triage_seconds"] for k, v in by_size.items()},
        "build_seconds_by_history": {k: v["build"]["triage_seconds"] for k, v in by_size.items()},
        "peak_rss_mib_by_history": {k: v["peak_rss_mib"] for k, v in by_size.items()},
        "growth": {"history": sizes[-1] / sizes[0],
                   "time": round(last["triage_seconds"] / max(first["triage_seconds"], 1e-9), 2),
                   "build_time": round(last["build"]["triage_seconds"]
                                       / max(first["build"]["triage_seconds"], 1e-9), 2)},
        "by_history": by_size,
    }


if __name__ == "__main__":
    step = {"build": build_one_size, "night": night_one_size}[sys.argv[1]]
    print(json.dumps(step(json.loads(sys.argv[2]))))
