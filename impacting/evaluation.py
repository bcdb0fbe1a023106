"""`impacting eval`: measure the pipeline on a benchmark corpus (`*.bench.jsonl`).

The results file is one JSON object with a nested object per section, e.g.
`results["summary"]["rouge1"]` or `results["speed"]["language_words_per_second"]`. A section is
a function that takes the :class:`Evaluation` (training and test records, the embedding cache,
the configuration) and returns a plain dict; add a stage's section by writing such a function
and listing it in `SECTIONS`. Nothing in a section may read the test records' labels except to
score against them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from impacting.errors import ActionableError
from impacting.language import baselines
from impacting.language.analysis import (
    LanguageConfig,
    run_language_stage,
    summarise_chunks,
    title_vector,
)
from impacting.language.chunking import chunk_document, clean_inline
from impacting.language.document_frequencies import CorpusStats
from impacting.language.encoder import EmbeddingCache, Encoder
from impacting.language.summarise import Degree, main_sections, select_sentences
from impacting.language.vectors import embed_chunks, prose_chunks
from impacting.people.evaluate import briefs_section as people_briefs
from impacting.progress import Progress
from impacting.settings import ThemeSettings, TriageSettings
from impacting.triage.corpus import Corpus, Request, represent, template_passages
from impacting.triage.evaluate import similar_section as triage_similar
from impacting.triage.evaluate import teams_section as triage_teams
from impacting.triage.similar import SimilarConfig
from impacting.triage.teams import TeamModel, TeamModelConfig, fit_team_model
from impacting.triage.themes.evaluate import themes_section as triage_themes
from impacting.triage.tuning.trial import try_encoder

REQUIRED_FIELDS = ("key", "text")
MIN_REFERENCE_WORDS = 20
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
BOOTSTRAP_SAMPLES = 2000


class BenchmarkFileError(ActionableError, ValueError):
    """A benchmark file that cannot be read; the message names the file, the line and the fix."""


def load_records(path: Path | str) -> list[dict[str, Any]]:
    """The records of a `*.bench.jsonl` file, checked for the fields every section needs."""
    path = Path(path)
    if not path.is_file():
        raise BenchmarkFileError(f"{path}: no such file; give a *.bench.jsonl file (one JSON "
                                 "object a line, see shared/data/README.md)")
    records, keys = [], set()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise BenchmarkFileError(f"{path}:{number}: not JSON ({error.msg}); each line "
                                         "must be one JSON object") from error
            if not isinstance(record, dict):
                raise BenchmarkFileError(f"{path}:{number}: not a JSON object; each line must "
                                         "be one object with a string `key` and `text`")
            missing = [f for f in REQUIRED_FIELDS if not isinstance(record.get(f), str)]
            if missing:
                raise BenchmarkFileError(f"{path}:{number}: missing text fields {missing}; every "
                                         "record needs a string `key` and `text`")
            if record["key"] in keys:
                raise BenchmarkFileError(f"{path}:{number}: key {record['key']!r} appears twice")
            keys.add(record["key"])
            records.append(record)
    if not records:
        raise BenchmarkFileError(f"{path}: no records")
    return records


@dataclass
class Evaluation:
    """What every section gets: the records, the shared embedding cache and the configuration."""

    train: list[dict[str, Any]]
    test: list[dict[str, Any]]
    cache: EmbeddingCache
    config: LanguageConfig = field(default_factory=LanguageConfig.from_settings)
    log: Callable[[str], None] = print
    triage: TriageSettings = field(default_factory=TriageSettings)
    themes: ThemeSettings = field(default_factory=ThemeSettings)

    @cached_property
    def train_corpus(self) -> CorpusStats:
        """Document frequencies over the training documents (what "common" means for a test one)."""
        return CorpusStats.build(chunk_document(r["key"], r["text"]) for r in self.train)

    @cached_property
    def triage_corpora(self) -> tuple[Corpus, Corpus]:
        """Train and test records as triage sees them (passages, vectors, words), built once."""
        corpora = []
        for name, records in (("train records", self.train), ("test records", self.test)):
            progress = self.progress(name, len(records))
            corpora.append(represent([Request.from_bench(r) for r in records], self.cache, progress.update))
            progress.finish()
        return corpora[0], corpora[1]

    def progress(self, items: str, total: int) -> Progress:
        """A progress report on this evaluation's log (texts embedded, rate, time left)."""
        return Progress(items, total, self.log, self.cache.encoder)

    @cached_property
    def team_model(self) -> TeamModel:
        """The team model trained (and tuned) on the train records, once for every section."""
        return fit_team_model(self.triage_corpora[0], TeamModelConfig.from_settings(self.triage),
                              progress=self.log)


# --- summary ------------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def remove_section(text: str, title: str = "Summary") -> str:
    """`text` without the first section headed `title` (any level) and its subsections."""
    lines = text.split("\n")
    start = level = None
    for number, line in enumerate(lines):
        heading = _HEADING.match(line)
        if not heading:
            continue
        if start is None and heading.group(2).strip().lower() == title.lower():
            start, level = number, len(heading.group(1))
        elif start is not None and len(heading.group(1)) <= level:
            return "\n".join(lines[:start] + lines[number:])
    return "\n".join(lines[:start]) if start is not None else text


def reference_text(reference: str) -> str:
    """The reference summary as a reader sees it: Markdown links and markup reduced to words."""
    return clean_inline(reference)


def summary_section(run: Evaluation) -> dict[str, Any]:
    """ROUGE-1/2/L F1 of the standard summary at each reference's length, and of the baselines.

    Test records with a `reference_summary` of at least 20 words count; their `## Summary`
    section is removed from the text first. Every method fills the same word budget from the
    same prose sentences, and every summary is cut to the reference's length before scoring.
    """
    try:
        from rouge_score import rouge_scorer
    except ImportError as error:
        raise BenchmarkFileError("the summary section scores ROUGE, which needs the `eval` extra: "
                                 "pip install -e '.[eval]' (make test installs it)") from error
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    skip = run.train_corpus.template_sentences
    methods = ("ours", "lead", "lexrank", "centroid")
    scores: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    keys = []
    progress = run.progress("test documents summarised", len(run.test))
    for record in run.test:
        progress.advance()
        reference = reference_text(record.get("reference_summary") or "")
        length = len(reference.split())
        if length < MIN_REFERENCE_WORDS:
            continue
        chunks = chunk_document(record["key"], remove_section(record["text"]))
        prose = prose_chunks(chunks)
        if not prose:
            continue
        vectors = embed_chunks(run.cache, prose)
        ours = summarise_chunks(prose, vectors, Degree(words=length), run.config, skip,
                                title_vector(run.cache, chunks))
        candidates = {
            "ours": ours.text,
            "lead": _text(prose, baselines.lead(prose, length)),
            "lexrank": _text(prose, baselines.lexrank(prose, length)),
            "centroid": _text(prose, baselines.centroid(prose, vectors, length)),
        }
        for method, text in candidates.items():
            cut = " ".join(text.split()[:length])
            result = scorer.score(reference, cut)
            scores[method].append({t: result[t].fmeasure for t in ROUGE_TYPES})
        keys.append(record["key"])
    if not keys:
        return {"n_docs": 0, "note": "no test record has a reference_summary of 20 words or more"}
    mean = {m: {t: float(np.mean([s[t] for s in scores[m]])) for t in ROUGE_TYPES} for m in methods}
    out: dict[str, Any] = {**mean["ours"], "n_docs": len(keys),
                           "method": "abstractive" if run.config.abstractive else "extractive",
                           "length": "each reference's length in words; summaries cut to it"}
    out["baselines"] = {m: mean[m] for m in methods if m != "ours"}
    out["difference_vs_baselines"] = {
        m: {t: _paired_difference([s[t] for s in scores["ours"]], [s[t] for s in scores[m]])
            for t in ROUGE_TYPES}
        for m in methods if m != "ours"
    }
    out["section_coverage"] = section_coverage_of_summaries(run)
    run.log(f"summary: {len(keys)} documents, ROUGE-1 {mean['ours']['rouge1']:.4f} "
            f"(lead {mean['lead']['rouge1']:.4f}, lexrank {mean['lexrank']['rouge1']:.4f})")
    return out


LONG_DOCUMENT_WORDS = 2000
MAIN_SECTION_SHARE = 0.05


def section_coverage(prose, positions: Sequence[int]) -> float | None:
    """Share of the document's main sections (those holding ≥ 5% of its prose words) that the
    summary draws at least one sentence from; None for a document with fewer than 3 of them."""
    sections = main_sections(prose)
    words = np.bincount(sections, weights=[c.words for c in prose])
    main = set(np.flatnonzero(words >= MAIN_SECTION_SHARE * words.sum()))
    if len(main) < 3:
        return None
    return len(main & {sections[p] for p in positions}) / len(main)


def section_coverage_of_summaries(run: Evaluation) -> dict[str, Any]:
    """How well standard summaries (the configured degree) of long test documents cover their
    main sections, for our method and the baselines: the "section-aware" claim, measured."""
    degree = run.config.summary
    skip = run.train_corpus.template_sentences
    shares: dict[str, list[float]] = {"ours": [], "lead": [], "lexrank": []}
    for record in run.test:
        chunks = chunk_document(record["key"], record["text"])
        prose = prose_chunks(chunks)
        document_words = sum(c.words for c in prose)
        if document_words < LONG_DOCUMENT_WORDS:
            continue
        vectors = embed_chunks(run.cache, prose)
        budget = degree.budget(document_words)
        picks = {
            "ours": select_sentences(prose, vectors, budget, params=run.config.params, skip=skip,
                                     title_vector=title_vector(run.cache, chunks)),
            "lead": baselines.lead(prose, budget),
            "lexrank": baselines.lexrank(prose, budget),
        }
        for method, positions in picks.items():
            share = section_coverage(prose, positions)
            if share is not None:
                shares[method].append(share)
    if not shares["ours"]:
        return {"n_docs": 0, "note": f"no test document has {LONG_DOCUMENT_WORDS}+ prose words"}
    run.log(f"coverage: {len(shares['ours'])} long documents, ours covers "
            f"{np.mean(shares['ours']):.0%} of main sections")
    return {"degree": degree.describe(), "n_docs": len(shares["ours"]),
            "min_document_words": LONG_DOCUMENT_WORDS,
            "main_sections_covered": {m: float(np.mean(v)) for m, v in shares.items()}}


def _text(prose, positions: Sequence[int]) -> str:
    return " ".join(prose[p].text for p in positions)


def _paired_difference(ours: list[float], theirs: list[float]) -> dict[str, float]:
    """Mean of ours − theirs per document, its 95% bootstrap interval and the share of wins."""
    difference = np.asarray(ours) - np.asarray(theirs)
    rng = np.random.default_rng(0)
    means = rng.choice(difference, size=(BOOTSTRAP_SAMPLES, len(difference))).mean(axis=1)
    return {"mean": float(difference.mean()), "ci95_low": float(np.percentile(means, 2.5)),
            "ci95_high": float(np.percentile(means, 97.5)),
            "wins": float((difference > 0).mean()), "losses": float((difference < 0).mean())}


# --- speed --------------------------------------------------------------------------------------

def speed_section(run: Evaluation) -> dict[str, Any]:
    """Words per second of the whole language stage (chunk, embed, both summaries, keywords)
    over the test documents, with how many texts the model embedded versus found in the cache
    (a warm cache makes the stage much faster; a cold one shows the first nightly run)."""
    documents = [(r["key"], r["text"]) for r in run.test]
    words = sum(len(text.split()) for _, text in documents)
    corpus = run.train_corpus
    cached_before = run.cache.size()
    before = (run.cache.stats.requested, run.cache.stats.embedded)
    started = time.perf_counter()
    results = run_language_stage(documents, run.cache, run.config, corpus)
    seconds = time.perf_counter() - started
    requested = run.cache.stats.requested - before[0]
    embedded = run.cache.stats.embedded - before[1]
    run.log(f"speed: {len(documents)} documents, {words} words in {seconds:.1f} s "
            f"({embedded} texts embedded, {requested - embedded} reused)")
    return {
        "language_words_per_second": words / seconds if seconds else None,
        "seconds": seconds,
        "documents": len(documents),
        "words": words,
        "prose_words": sum(r.prose_words for r in results),
        "texts_embedded": embedded,
        "texts_reused": requested - embedded,
        # cold: the cache was empty, as on a first nightly run; warm: nothing new to embed.
        "cache": "cold" if cached_before == 0 else "warm" if not embedded else "partly warm",
    }


# --- triage -------------------------------------------------------------------------------------

def teams_section(run: Evaluation) -> dict[str, Any]:
    """Team relevance on the test records: the product's decisions (notify_recall, reading_saved,
    ...) and the kept model's ranking (micro_f1, recall_at_3, ...), every candidate under
    `candidates`. Model choice, calibration and thresholds come from cross-validation on the
    train records only (`impacting.triage.evaluate`)."""
    train, test = run.triage_corpora
    out = triage_teams(train, test, TeamModelConfig.from_settings(run.triage), run.log, run.team_model)
    run.log(f"teams: {out['chosen']}, notify recall {out['notify_recall']:.3f}, reading saved "
            f"{out['reading_saved']:.3f}, recall@3 {out['recall_at_3']:.3f}")
    return out


def similar_section(run: Evaluation) -> dict[str, Any]:
    """Similar past projects for the test records with links (pool: train + test, minus the
    record): recall@5/10 and MRR of the fused search, and of its lexical and semantic halves."""
    train, test = run.triage_corpora
    out = triage_similar(train, test, SimilarConfig.from_settings(run.triage), run.triage.similar_ranking,
                         run.log)
    run.log(f"similar: {out['n_queries']} queries, recall@10 {out['recall_at_10']:.3f}")
    return out


def briefs_section(run: Evaluation) -> dict[str, Any]:
    """The briefs of the test records: the share of their true teams listed under "teams to
    read" or "unsure" (equal to `teams.unsure_or_notify_recall`), and the share of a document's
    words the "sections to read" of a notified team hold (`impacting.people.evaluate`)."""
    return people_briefs(run.team_model, run.triage_corpora[1], run.log)


def themes_section(run: Evaluation) -> dict[str, Any]:
    """Portfolio themes over train and test records together (the pipeline clusters every
    request): k chosen, silhouette, NMI with the teams, the TF-IDF k-means baseline, and how
    many labels one added request changes (`impacting.triage.themes.evaluate`)."""
    train, test = run.triage_corpora
    texts = {r["key"]: r["text"] for r in (*run.train, *run.test)}
    return triage_themes(Corpus.concat([train, test]), texts, run.cache, run.themes,
                         run.config.keywords, run.log)


def encoder_section(run: Evaluation) -> dict[str, Any]:
    """The encoder fine-tuned on the train records, as the pipeline would try it: pairs from the
    train records before their newest fifth, the bundled and the tuned model judged on that
    held-out fifth (`triage.tuning`), with the fine-tuning time and the machine's load. When the
    tuned model is better there (the pipeline would promote it), the train and test records are
    re-embedded with it (timed) and `after` holds the teams and similar figures read with it;
    else the bundled model keeps serving and the other sections' figures stand."""
    train, test = run.triage_corpora
    base = run.cache.encoder
    folder = Path(tempfile.mkdtemp(prefix="impacting-encoder-"))
    model_id = f"encoder/eval-{time.strftime('%Y%m%dT%H%M%S')}"
    load_before = os.getloadavg()
    trial = try_encoder(train.without(template_passages(train)), base, run.cache.con, folder, model_id,
                        progress=run.log)
    out: dict[str, Any] = {**trial.metrics(), "promoted": trial.better, "cpu_count": os.cpu_count(),
                           "load_average_before": load_before[0], "load_average_after": os.getloadavg()[0]}
    tuned_cache = EmbeddingCache(run.cache.con, Encoder(str(folder), model_id=model_id))
    if trial.better:
        started = time.perf_counter()
        tuned = (represent(train.requests, tuned_cache), represent(test.requests, tuned_cache))
        out["reembed_seconds"] = time.perf_counter() - started
        out["texts_reembedded"] = tuned_cache.stats.embedded
        out["after"] = {
            "teams": triage_teams(tuned[0], tuned[1], TeamModelConfig.from_settings(run.triage), run.log),
            "similar": triage_similar(tuned[0], tuned[1], SimilarConfig.from_settings(run.triage),
                                      run.triage.similar_ranking, run.log),
        }
    tuned_cache.forget()
    shutil.rmtree(folder, ignore_errors=True)
    run.log(f"encoder: tuned {trial.tuned.score:.3f} vs bundled {trial.bundled.score:.3f} on the held-out "
            f"period ({trial.reason}); fine-tuning {trial.run.seconds:.0f} s")
    return out


# Sections in the order they run: speed first, so that with a fresh cache it measures a cold
# first run rather than one the summary section has already warmed.
SECTIONS: dict[str, Callable[[Evaluation], dict[str, Any]]] = {
    "speed": speed_section,
    "summary": summary_section,
    "teams": teams_section,
    "similar": similar_section,
    "briefs": briefs_section,
    "themes": themes_section,
    "encoder": encoder_section,
}


def evaluate(train_path: Path | str, test_path: Path | str, *, cache: EmbeddingCache,
             config: LanguageConfig | None = None, sections: Sequence[str] | None = None,
             log: Callable[[str], None] = print,
             triage: TriageSettings | None = None,
             themes: ThemeSettings | None = None) -> dict[str, Any]:
    """Run the chosen `sections` (default: all) and return {section: results}."""
    unknown = sorted(set(sections or ()) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown evaluation sections {unknown}; choose from {sorted(SECTIONS)}")
    run = Evaluation(load_records(train_path), load_records(test_path), cache,
                     config or LanguageConfig.from_settings(), log, triage or TriageSettings(),
                     themes or ThemeSettings())
    results: dict[str, Any] = {}
    for name, section in SECTIONS.items():
        if sections and name not in sections:
            continue
        started = time.perf_counter()
        results[name] = section(run)
        log(f"{name}: done in {time.perf_counter() - started:.1f} s")
    results["run"] = {"train": str(train_path), "test": str(test_path),
                      "train_records": len(run.train), "test_records": len(run.test),
                      "embedding_model": cache.encoder.model_id}
    return results


def write_results(results: dict[str, Any], out: Path | str) -> Path:
    """Write `results` to `out`, keeping sections of an earlier file that this run did not redo."""
    out = Path(out)
    merged: dict[str, Any] = {}
    if out.is_file():
        try:
            merged = json.loads(out.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            merged = {}
    merged.update(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return out
