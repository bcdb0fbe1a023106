"""`impacting triage`: the brief of a draft that is not in Jira yet (or of any request), from the
shell, without Dagster.

The draft is a file in any format ingest reads, standard input, or a request key in the
published warehouse (its description and documents). It is read exactly as the pipeline reads
a request (chunked, embedded through the shared cache), scored by the published warehouse's
accepted team model, compared with the past projects, summarised and explained; then
:func:`~impacting.people.gather.gather_brief` makes the same brief the nightly run makes.

The past projects' sentence vectors live in the working database's embedding cache. When no run
holds it, they are read from there (along with the history as the last run left it, the same as
the published file after a successful run); while a run holds it, the draft is embedded in
memory and the similar-project search is left out, and the brief says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from impacting.errors import ActionableError
from impacting.language.analysis import LanguageConfig
from impacting.language.chunking import Chunk, chunk_document
from impacting.language.encoder import EmbeddingCache, configured_encoder
from impacting.language.keywords import KeywordExtractor
from impacting.language.on_demand import SourceDocument, find_documents, open_workspace
from impacting.language.request_summary import reading_order, split_parts, summarise_request
from impacting.language.rows import request_summary_rows
from impacting.language.summarise import Degree
from impacting.language.vectors import prose_chunks
from impacting.people.brief import Brief
from impacting.people.gather import BriefInputs, gather_brief
from impacting.people.nightly import merge_keywords
from impacting.people.reading import DESCRIPTION, teams_evidence
from impacting.settings import Settings, var
from impacting.triage.corpus import Corpus, Request, corpus_from_chunks
from impacting.triage.feedback import load_feedback, verdicts_for
from impacting.triage.history import (
    PAST,
    corpus_requests,
    description_id,
    load_corpus,
    load_template,
    request_details,
    teams_of,
)
from impacting.triage.metrics import NOTIFY, UNSURE
from impacting.triage.predict import triage
from impacting.triage.ranking.serve import find_similar
from impacting.triage.ranking.service import people_of, serving_ranker
from impacting.triage.registry import ModelRegistry
from impacting.triage.rows import matches_from_rows, prediction_rows, similar_rows
from impacting.triage.similar import Match, SimilarConfig, SimilarityIndex
from impacting.warehouse.store import Warehouse, read_table
from impacting.warehouse.tables import DELIVERY_ISSUE_TIMES, DOCUMENTS

Progress = Callable[[str], None]
# Sentences embedded between two progress lines.
EMBED_BLOCK = 256


class NoWarehouse(ActionableError, FileNotFoundError):
    """There is no published warehouse to triage against."""


class NoModel(ActionableError, LookupError):
    """The warehouse has no accepted team model yet."""


@dataclass(frozen=True)
class Draft:
    """What is triaged: a request's key, title, metadata and chunks (description, documents)."""

    key: str
    title: str
    chunks: tuple[Chunk, ...]
    names: dict[str, str]             # document id → how a reader knows it
    request: dict                     # `projects`-like columns for the brief's header
    documents: list[dict]             # `documents`-like rows
    in_warehouse: bool = False


@dataclass
class Timings:
    """Seconds spent, for `impacting triage`'s closing line and the benchmark."""

    steps: dict[str, float] = field(default_factory=dict)

    @property
    def model_load(self) -> float:
        return self.steps.get("embedding model", 0.0) + self.steps.get("team model", 0.0)

    @property
    def rest(self) -> float:
        return sum(self.steps.values()) - self.model_load


@dataclass(frozen=True)
class OnDemand:
    brief: Brief
    timings: Timings
    notes: tuple[str, ...]


def brief_on_demand(source: str, settings: Settings, *, standard: Degree | None = None,
                    progress: Progress = lambda line: None) -> OnDemand:
    """The brief of `source` ('-', a file, or a request key), against the published warehouse."""
    published = settings.warehouse_path
    if not published.is_file():
        raise NoWarehouse(f"there is no published warehouse at {published}: run `impacting run` "
                          f"first, or set {var('warehouse.path')} to the warehouse to triage against")
    timings, notes = Timings(), []
    clock = _clock(timings, progress)
    config = LanguageConfig.from_settings(settings.language)
    with clock("embedding model", "loading the embedding model"):
        encoder = configured_encoder(settings.language)
        encoder.load()
    with duckdb.connect(str(published), read_only=True) as con:
        with clock("team model", "loading the accepted team model"):
            accepted = ModelRegistry.of_warehouse(con, Warehouse(published).working_dir).accepted()
        if accepted is None:
            raise NoModel(f"{published} has no accepted team model yet: fill in the team field "
                          f"({var('source.team_field')}) of past requests or drop decisions in "
                          f"{var('triage.feedback_dir')}, then run `impacting run`")
        row, model = accepted
        with open_workspace(published, encoder) as workspace:
            notes.append(workspace.note)
            with clock("reading", f"reading {source}"):
                draft = read_draft(source, workspace, con, published)
            if draft.in_warehouse and draft.key in model.training_keys:
                notes.append(f"{draft.key} is a past project the model learnt from: its decisions "
                             "show what the model learnt, not a prediction")
            words = sum(c.words for c in draft.chunks)
            with clock("embedding", f"embedding the draft ({words:,} words)"):
                _embed(prose_chunks(draft.chunks), workspace.cache, progress)
                corpus = corpus_from_chunks([Request(draft.key, draft.title, "")], [list(draft.chunks)],
                                            workspace.cache)
            with clock("similar projects", "comparing with the past projects"):
                similar, pool_teams, past, template, similar_note = _similar(
                    corpus, workspace, con, model, settings)
            with clock("team decisions", "deciding which teams should read it"):
                verdicts = verdicts_for(load_feedback(con)) if draft.in_warehouse else {}
                result = triage(model, corpus, [_matches(similar)], pool_teams, verdicts,
                                template=template)
                predictions = prediction_rows(result, str(row["version"]), datetime.now(UTC))
                asked = predictions[predictions["decision"].isin([NOTIFY, UNSURE])]["team"]
                evidence = teams_evidence(model, corpus.passages[0], corpus.passage_vectors[0], asked,
                                          draft.names, template)
            with clock("summaries", "summarising"):
                parts = reading_order(split_parts(corpus.passages[0], corpus.passage_vectors[0]),
                                      description_id(draft.key))
                title = corpus.title_vectors[0] if corpus.title_vectors[0].any() else None
                summaries = request_summary_rows(
                    draft.key, summarise_request(parts, config, template, title, standard))
            with clock("keywords", "finding keywords"):
                keywords = _keywords(parts, draft, workspace, config)
            times = read_table(con, DELIVERY_ISSUE_TIMES).set_index("key", drop=False)
    brief = gather_brief(BriefInputs(
        request=draft.request, summaries={r["kind"]: r for r in summaries.to_dict("records")},
        part_names=draft.names, keywords=keywords, predictions=predictions.to_dict("records"),
        evidence=evidence, similar=similar.to_dict("records"),
        durations={k: times.loc[k].to_dict() for k in similar["similar_key"] if k in times.index},
        documents=draft.documents, model=row, past_projects=past,
        min_score=settings.triage.similar_min_score, similar_note=similar_note), datetime.now(UTC))
    return OnDemand(brief, timings, tuple(notes))


def read_draft(source: str, workspace, con: duckdb.DuckDBPyConnection, published: Path) -> Draft:
    """The draft `source` names: a request key in the published warehouse (its description and
    every document, readable or not), else a file or standard input (one document)."""
    if source != "-" and not Path(source).expanduser().is_file():
        details = request_details(con)
        if source in details.index:
            return _request_draft(details.loc[source].to_dict(), con)
    documents = find_documents(source, workspace, published)
    return _file_draft(documents)


def _request_draft(request: dict, con: duckdb.DuckDBPyConnection) -> Draft:
    key = str(request["key"])
    rows = con.execute(f"SELECT * FROM {DOCUMENTS.qualified} WHERE project_key = ? "
                       "ORDER BY attached_at NULLS LAST, document_id", [key]).df()
    chunks = chunk_document(description_id(key), request.get("description") or "")
    for document in rows[rows["extraction_status"] == "ok"].itertuples(index=False):
        chunks += chunk_document(document.document_id, document.text or "")
    names = {description_id(key): DESCRIPTION,
             **dict(zip(rows["document_id"], rows["file_name"], strict=True))}
    return Draft(key, str(request.get("summary") or key), tuple(chunks), names, request,
                 rows.drop(columns=["text"]).to_dict("records"), in_warehouse=True)


def _file_draft(documents: list[SourceDocument]) -> Draft:
    document = documents[0] if len(documents) == 1 else None
    key = "draft"
    chunks: list[Chunk] = []
    rows = []
    for source in documents:
        chunks += chunk_document(source.document_id, source.text)
        rows.append({"document_id": source.document_id, "file_name": source.label,
                     "format": Path(source.label).suffix.lstrip(".") or "text",
                     "word_count": len(source.text.split()), "extraction_status": "ok"})
    title = next((c.text for c in chunks if c.kind == "heading"), None) or \
        (document.label if document else "draft")
    return Draft(key, title, tuple(chunks), {s.document_id: s.label for s in documents},
                 {"key": key, "summary": title, "status": "draft, not in Jira"}, rows)


def _similar(corpus: Corpus, workspace, con, model, settings: Settings):
    """This draft's similar past projects as `similar_projects` rows, the past projects' teams,
    how many there are, the template sentences, and a note when no search could run."""
    similar = SimilarConfig.from_settings(settings.triage)
    if not workspace.shared:
        past = len(corpus_requests(con, PAST))
        note = ("Similar past projects were not searched: a run holds the working database, where "
                "the past projects' sentence vectors are. Run `impacting triage` again when it has "
                "finished.")
        return pd.DataFrame(columns=["similar_key"]), {}, past, model.template, note
    pool = load_corpus(workspace.con, workspace.cache, PAST)
    template = load_template(workspace.con)
    index = SimilarityIndex(pool, similar.lexical_weight, template=template,
                            candidates=similar.candidates)
    details = request_details(workspace.con)
    # The ranking the nightly run serves (the learned one, when it beat the fixed fusion).
    ranker = serving_ranker(ModelRegistry.of_warehouse(con, Warehouse(settings.warehouse_path).working_dir),
                            settings.triage.similar_ranking)
    matches = find_similar(index, corpus, pool, top_k=similar.top_k, min_score=similar.min_score,
                           ranker=ranker, people=people_of(details))
    pool_teams = teams_of(corpus_requests(workspace.con, PAST))
    rows = similar_rows(corpus, matches, pool, details, pool_teams, index.template)
    return rows, pool_teams, len(pool), template, None


def _matches(rows: pd.DataFrame) -> list[Match]:
    return matches_from_rows(rows.assign(request_key=""), [""])[0] if len(rows) else []


def _keywords(parts, draft: Draft, workspace, config: LanguageConfig) -> list[str]:
    """Each document's keywords (the description has none, as in the pipeline), main first."""
    extractor = KeywordExtractor(workspace.cache, workspace.corpus, config.keywords)
    chunks: dict[str, list[Chunk]] = {}
    for chunk in draft.chunks:
        chunks.setdefault(chunk.document_id, []).append(chunk)
    return merge_keywords([[k.phrase for k in extractor.extract(chunks[p.part_id], p.vectors)]
                           for p in parts if p.part_id != description_id(draft.key)],
                          config.keywords.top_n)


def _embed(prose: list[Chunk], cache: EmbeddingCache, progress: Progress) -> None:
    """Embed a long draft's sentences through the cache a block at a time, saying how far it got
    (the rest of the command then finds every vector in the cache)."""
    for start in range(0, len(prose), EMBED_BLOCK):
        cache.embed([c.text for c in prose[start:start + EMBED_BLOCK]])
        if len(prose) > EMBED_BLOCK:
            progress(f"  {min(start + EMBED_BLOCK, len(prose)):,} of {len(prose):,} sentences embedded")


def _clock(timings: Timings, progress: Progress):
    """A step timer: says what is happening, and records how long it took in `timings`."""
    @contextmanager
    def step(name: str, saying: str) -> Iterator[None]:
        progress(f"{saying}…")
        started = time.perf_counter()
        try:
            yield
        finally:
            timings.steps[name] = time.perf_counter() - started
    return step
