"""The nightly steps over the warehouse: each request's own summaries, then every brief.

Both read what earlier steps stored (the triage corpus, its vectors in the embedding cache,
`team_predictions`, `similar_projects`, `keywords`, `documents`, `models`, delivery times) and
decide nothing again. The one thing computed here is what no earlier step needed: which
sections each team should read, from the per-passage support the accepted team model exposes.
A request that fails keeps its previous rows and never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from impacting.errors import ActionableError
from impacting.language.analysis import LanguageConfig
from impacting.language.encoder import EmbeddingCache
from impacting.language.request_summary import reading_order, split_parts, summarise_request
from impacting.language.rows import concat, request_summary_rows
from impacting.people.brief import Brief
from impacting.people.gather import BriefInputs, gather_brief, strings
from impacting.people.reading import DESCRIPTION, teams_evidence
from impacting.triage.history import (
    AWAITING,
    PAST,
    corpus_requests,
    description_id,
    load_corpus,
    load_template,
    request_details,
)
from impacting.triage.metrics import NOTIFY, UNSURE
from impacting.triage.registry import ModelRegistry
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import (
    DELIVERY_ISSUE_TIMES,
    DOCUMENTS,
    KEYWORDS,
    REQUEST_SUMMARIES,
    SIMILAR_PROJECTS,
    TEAM_PREDICTIONS,
)


@dataclass
class Run:
    """What a step did for each request: done, or failed (its previous rows kept) and why."""

    requests: int = 0
    failed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def attempt(self, key: str, what: str, work: Callable[[], Any]) -> Any:
        self.requests += 1
        try:
            return work()
        except ActionableError:
            raise  # a model or setting problem: every request would fail the same way
        except Exception as error:  # one odd request must not stop the others
            self.failed.append(key)
            self.problems.append(f"{key}: no {what} ({error}); its previous {what} is kept")
            return None


def summarise_requests(con: duckdb.DuckDBPyConnection, cache: EmbeddingCache,
                       config: LanguageConfig) -> Run:
    """`request_summaries` for every request awaiting triage, from the triage corpus's passages
    and cached vectors; template sentences are never chosen."""
    waiting = load_corpus(con, cache, AWAITING)
    template = load_template(con)
    run, frames = Run(), []
    for i, request in enumerate(waiting.requests):
        def work(i: int = i, key: str = request.key) -> pd.DataFrame:
            parts = reading_order(split_parts(waiting.passages[i], waiting.passage_vectors[i]),
                                  description_id(key))
            title = waiting.title_vectors[i] if waiting.title_vectors is not None else None
            result = summarise_request(parts, config, template,
                                       title if title is not None and title.any() else None)
            return request_summary_rows(key, result)

        frame = run.attempt(request.key, "request summary", work)
        if frame is not None:
            frames.append(frame)
    if run.failed:
        previous = read_table(con, REQUEST_SUMMARIES)
        frames.append(previous[previous["request_key"].isin(run.failed)])
    replace_rows(con, REQUEST_SUMMARIES, concat(frames, REQUEST_SUMMARIES.column_names))
    return run


@dataclass
class BriefRun(Run):
    briefs: list[Brief] = field(default_factory=list)
    model_version: str | None = None


def gather_briefs(con: duckdb.DuckDBPyConnection, cache: EmbeddingCache, registry: ModelRegistry,
                  generated_at: datetime, *, min_score: float, keywords: int,
                  themes: Mapping[str, str] | None = None) -> BriefRun:
    """The brief of every request awaiting triage, from the warehouse. `keywords`: how many
    keywords a brief shows; `themes`: each request's theme, where themes exist."""
    waiting = corpus_requests(con, AWAITING)
    details = request_details(con)
    accepted = registry.accepted()
    row, model = accepted if accepted is not None else (None, None)
    corpus = load_corpus(con, cache, AWAITING) if model is not None else None
    template = load_template(con)
    summaries = _by_request(read_table(con, REQUEST_SUMMARIES), "request_key")
    predictions = _by_request(read_table(con, TEAM_PREDICTIONS, "ORDER BY request_key, rank"), "request_key")
    similar = _by_request(read_table(con, SIMILAR_PROJECTS, "ORDER BY request_key, rank"), "request_key")
    documents = _by_request(read_table(con, DOCUMENTS, "ORDER BY project_key, attached_at NULLS LAST, "
                                       "document_id"), "project_key")
    phrases = _by_request(read_table(con, KEYWORDS, "ORDER BY document_id, rank"), "document_id")
    times = {r["key"]: r for r in read_table(con, DELIVERY_ISSUE_TIMES).to_dict("records")}
    past = len(corpus_requests(con, PAST))
    run = BriefRun(model_version=None if row is None else str(row["version"]))

    for request in waiting.itertuples(index=False):
        key = request.key

        def work(key: str = key) -> Brief:
            mine = documents.get(key, [])
            names = {description_id(key): DESCRIPTION,
                     **{d["document_id"]: str(d["file_name"]) for d in mine}}
            decisions = predictions.get(key, [])
            evidence = {}
            if corpus is not None and (position := corpus.position(key)) is not None:
                asked = [d["team"] for d in decisions if d["decision"] in (NOTIFY, UNSURE)]
                evidence = teams_evidence(model, corpus.passages[position],
                                          corpus.passage_vectors[position], asked, names, template)
            kinds = {r["kind"]: r for r in summaries.get(key, [])}
            parts = strings(next(iter(kinds.values()), {}).get("parts"))
            matches = similar.get(key, [])
            return gather_brief(BriefInputs(
                request=details.loc[key].to_dict() if key in details.index else {"key": key},
                summaries=kinds, part_names=names,
                keywords=merge_keywords([[p["phrase"] for p in phrases.get(d, [])] for d in parts],
                                        keywords),
                predictions=decisions, evidence=evidence, similar=matches,
                durations={m["similar_key"]: times[m["similar_key"]] for m in matches
                           if m["similar_key"] in times},
                documents=mine, model=row, past_projects=past, min_score=min_score,
                theme=(themes or {}).get(key)), generated_at)

        brief = run.attempt(key, "brief", work)
        if brief is not None:
            run.briefs.append(brief)
    return run


def merge_keywords(per_part: Sequence[Sequence[str]], limit: int) -> list[str]:
    """One keyword list for a request from its parts' (main design document first): the main
    document's keywords in rank order, then the others' not already there, up to `limit`."""
    merged: dict[str, None] = {}
    for phrases in per_part:
        for phrase in phrases:
            merged.setdefault(phrase, None)
    return list(merged)[:limit]


def _by_request(frame: pd.DataFrame, column: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for record in frame.to_dict("records"):
        out.setdefault(record[column], []).append(record)
    return out
