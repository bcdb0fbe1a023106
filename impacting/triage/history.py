"""The warehouse's requests as triage sees them: the triage corpus, built once per run.

:func:`build_triage_corpus` decides, once, which requests are past projects (teams known, people's
feedback applied) and which await triage, and which passages each is read from: its Jira
description (chunked here, the only text the language stage does not chunk) and then its
readable documents, whose chunks come from `chunks`. It writes `triage_corpus`, the description
chunks and the template sentences. Every later triage step (team model, similar projects, team
decisions, briefs) calls :func:`load_corpus`, which only reads those tables and looks vectors up
in the embedding cache: nothing is chunked, embedded or decided again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from impacting.language.chunking import Chunk, chunk_document
from impacting.language.encoder import EmbeddingCache
from impacting.language.rows import chunks_from_rows
from impacting.language.vectors import prose_chunks
from impacting.triage.corpus import (
    LEXICAL_KINDS,
    Corpus,
    Request,
    corpus_from_chunks,
    lexical_text,
    template_sentences,
    text_fingerprint,
)
from impacting.triage.feedback import Feedback, training_teams
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import (
    CHUNKS,
    DESCRIPTION_CHUNKS,
    DOCUMENTS,
    PROJECTS,
    TEMPLATE_PASSAGES,
    TRIAGE_CORPUS,
)


def request_details(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The `projects` columns triage reports, by key, for requests (issues without a parent),
    oldest first; without reading any document text."""
    return con.execute(
        f"SELECT key, summary, description, status, status_category, resolution, created_at, "
        f"resolved_at, teams, assignee, assignee_id, reporter, reporter_id, links, url "
        f"FROM {PROJECTS.qualified} WHERE parent_key IS NULL ORDER BY created_at NULLS LAST, key"
    ).df().set_index("key", drop=False)


def description_id(key: str) -> str:
    """The id a request's description goes by among its chunks."""
    return f"{key}/description"


@dataclass
class CorpusBuild:
    """What :func:`build_triage_corpus` decided, as the rows of its three tables."""

    requests: pd.DataFrame          # `triage_corpus` rows
    description_chunks: pd.DataFrame
    template: frozenset[str]

    @property
    def past(self) -> int:
        return int(self.requests["is_past"].sum()) if len(self.requests) else 0

    @property
    def awaiting(self) -> int:
        return int(self.requests["awaiting_triage"].sum()) if len(self.requests) else 0


def build_triage_corpus(con: duckdb.DuckDBPyConnection, feedback: Sequence[Feedback] = ()) -> CorpusBuild:
    """Which requests are past projects and which await triage, and what each is read from.

    Requests are the issues without a parent: an epic's stories and tasks are delivery work,
    not requests to triage or projects to compare with. Past projects are the requests whose
    teams are known once people's feedback is applied; requests awaiting triage have no team
    field yet and are not done (feedback can make a request both).
    """
    details = request_details(con)
    field_teams = {key: tuple(teams) if teams is not None else () for key, teams in
                   zip(details["key"], details["teams"], strict=True)}
    labels = training_teams(field_teams, feedback)
    documents: dict[str, list[str]] = {}
    for key, document_id in con.execute(
            f"SELECT project_key, document_id FROM {DOCUMENTS.qualified} "
            "WHERE extraction_status = 'ok' AND text IS NOT NULL "
            "ORDER BY project_key, attached_at NULLS LAST, document_id").fetchall():
        documents.setdefault(key, []).append(document_id)
    chunked = chunks_from_rows(read_table(con, CHUNKS))

    rows, description_rows, past_passages = [], [], []
    for row in details.itertuples(index=False):
        teams = labels.get(row.key, ())
        is_past = bool(teams)
        awaiting = not field_teams.get(row.key) and row.status_category != "done"
        if not (is_past or awaiting):
            continue
        described = chunk_document(description_id(row.key), row.description or "")
        readable = [d for d in documents.get(row.key, []) if d in chunked]
        chunks = [*described, *(c for d in readable for c in chunked[d])]
        passages = prose_chunks(chunks)
        if is_past:
            past_passages.append(passages)
        title = row.summary or ""
        rows.append({
            "key": row.key, "title": title, "is_past": is_past, "awaiting_triage": awaiting,
            "teams": list(teams), "created_at": None if pd.isna(row.created_at) else row.created_at,
            "links": [link["key"] for link in (row.links if row.links is not None else []) if link],
            "document_ids": readable, "passages": len(passages),
            "words": len(lexical_text(title, [c for c in chunks if c.kind in LEXICAL_KINDS]).split()),
            "text_sha256": text_fingerprint(title, chunks),
        })
        description_rows += [{"request_key": row.key, "chunk_index": c.index, "kind": c.kind,
                              "section": list(c.section), "text": c.text, "sha256": c.sha256}
                             for c in described]
    return CorpusBuild(pd.DataFrame(rows, columns=list(TRIAGE_CORPUS.column_names)),
                       pd.DataFrame(description_rows, columns=list(DESCRIPTION_CHUNKS.column_names)),
                       template_sentences(past_passages))


def write_triage_corpus(con: duckdb.DuckDBPyConnection, build: CorpusBuild, cache: EmbeddingCache) -> int:
    """Store the corpus, and embed what the language stage did not (description sentences and
    titles), so that later steps only look vectors up. Returns the texts embedded."""
    replace_rows(con, TRIAGE_CORPUS, build.requests)
    replace_rows(con, DESCRIPTION_CHUNKS, build.description_chunks)
    replace_rows(con, TEMPLATE_PASSAGES, pd.DataFrame({"sha256": sorted(build.template)}))
    before = cache.stats.embedded
    descriptions = _description_chunks(con)
    texts = [c.text for chunks in descriptions.values() for c in prose_chunks(chunks)]
    texts += [t.strip() for t in build.requests["title"] if t and t.strip()]
    cache.embed(texts)
    return cache.stats.embedded - before


def _description_chunks(con: duckdb.DuckDBPyConnection, keys: Iterable[str] | None = None
                        ) -> dict[str, list[Chunk]]:
    rows = read_table(con, DESCRIPTION_CHUNKS, "ORDER BY request_key, chunk_index")
    if keys is not None:
        rows = rows[rows["request_key"].isin(set(keys))]
    out: dict[str, list[Chunk]] = {}
    for row in rows.itertuples(index=False):
        out.setdefault(row.request_key, []).append(Chunk(
            description_id(row.request_key), int(row.chunk_index), row.kind, tuple(row.section),
            row.text, row.sha256))
    return out


PAST, AWAITING = "is_past", "awaiting_triage"


def corpus_requests(con: duckdb.DuckDBPyConnection, role: str) -> pd.DataFrame:
    """The `triage_corpus` rows of past projects (`PAST`) or requests awaiting triage
    (`AWAITING`), oldest first."""
    if role not in (PAST, AWAITING):
        raise ValueError(f"role must be {PAST!r} or {AWAITING!r}, got {role!r}")
    return read_table(con, TRIAGE_CORPUS, f"WHERE {role} ORDER BY created_at NULLS LAST, key")


def load_corpus(con: duckdb.DuckDBPyConnection, cache: EmbeddingCache, role: str) -> Corpus:
    """Past projects or requests awaiting triage as a :class:`Corpus`: read from the triage
    corpus and `chunks`, vectors looked up in the cache (nothing chunked or decided again)."""
    rows = corpus_requests(con, role)
    descriptions = _description_chunks(con, rows["key"])
    wanted = sorted({d for ids in rows["document_ids"] for d in ids})
    documents: dict[str, list[Chunk]] = {}
    if wanted:
        con.register("_wanted_documents", pd.DataFrame({"document_id": wanted}))
        try:
            documents = chunks_from_rows(con.execute(
                f"SELECT c.* FROM {CHUNKS.qualified} c JOIN _wanted_documents USING (document_id)").df())
        finally:
            con.unregister("_wanted_documents")
    requests, chunk_lists = [], []
    for row in rows.itertuples(index=False):
        created = None if pd.isna(row.created_at) else row.created_at.date().isoformat()
        requests.append(Request(row.key, row.title or "", "", tuple(row.teams), created, None,
                                tuple(row.links)))
        chunk_lists.append([*descriptions.get(row.key, []),
                            *(c for d in row.document_ids for c in documents.get(d, []))])
    return corpus_from_chunks(requests, chunk_lists, cache)


def load_template(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    rows = con.execute(f"SELECT sha256 FROM {TEMPLATE_PASSAGES.qualified}").fetchall()
    return frozenset(sha for (sha,) in rows)


def training_entries(rows: pd.DataFrame) -> list[tuple[str, tuple[str, ...], str | None, str]]:
    """(key, teams, created date, text SHA-256) of `triage_corpus` rows: what the model registry
    fingerprints, known before anything is embedded."""
    return [(r.key, tuple(r.teams), None if pd.isna(r.created_at) else r.created_at.date().isoformat(),
             r.text_sha256) for r in rows.itertuples(index=False)]


def teams_of(rows: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    return {key: tuple(teams) for key, teams in zip(rows["key"], rows["teams"], strict=True)}
