"""Language results ↔ warehouse rows (`chunks`, `summaries`, `keywords`, `request_summaries`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from impacting.language.chunking import Chunk
from impacting.language.keywords import Keyword
from impacting.language.request_summary import RequestSummaries
from impacting.language.summarise import Summary
from impacting.warehouse.tables import CHUNKS, KEYWORDS, REQUEST_SUMMARIES, SUMMARIES


def chunk_rows(project_key: str | None, chunks: Sequence[Chunk],
               embedded: Iterable[int]) -> pd.DataFrame:
    """`chunks` rows for one document; `embedded` are the indexes of its embedded chunks."""
    embedded = set(embedded)
    return pd.DataFrame({
        "document_id": [c.document_id for c in chunks],
        "project_key": project_key,
        "chunk_index": [c.index for c in chunks],
        "kind": [c.kind for c in chunks],
        "section": [list(c.section) for c in chunks],
        "text": [c.text for c in chunks],
        "words": [c.words for c in chunks],
        "sha256": [c.sha256 for c in chunks],
        "embedded": [c.index in embedded for c in chunks],
    }, columns=list(CHUNKS.column_names))


def chunks_from_rows(rows: pd.DataFrame) -> dict[str, list[Chunk]]:
    """Each document's chunks, in order, read back from `chunks` rows."""
    documents: dict[str, list[Chunk]] = {}
    ordered = rows.sort_values(["document_id", "chunk_index"], kind="stable")
    for row in ordered.itertuples(index=False):
        documents.setdefault(row.document_id, []).append(Chunk(
            row.document_id, int(row.chunk_index), row.kind, tuple(row.section), row.text,
            row.sha256))
    return documents


def summary_rows(document_id: str, project_key: str | None, document_words: int,
                 summaries: dict[str, Summary]) -> pd.DataFrame:
    return pd.DataFrame({
        "document_id": document_id,
        "project_key": project_key,
        "kind": list(summaries),
        "text": [s.text for s in summaries.values()],
        "words": [s.words for s in summaries.values()],
        "document_words": document_words,
        "degree": [s.degree for s in summaries.values()],
        "method": [s.method for s in summaries.values()],
        "chunk_indexes": [list(s.chunk_indexes) for s in summaries.values()],
    }, columns=list(SUMMARIES.column_names))


def request_summary_rows(request_key: str, result: RequestSummaries) -> pd.DataFrame:
    """`request_summaries` rows for one request."""
    kinds = list(result.summaries)
    return pd.DataFrame({
        "request_key": request_key,
        "kind": kinds,
        "text": [result.summaries[k].text for k in kinds],
        "words": [result.summaries[k].words for k in kinds],
        "request_words": result.words,
        "degree": [result.summaries[k].degree for k in kinds],
        "method": [result.summaries[k].method for k in kinds],
        "parts": [list(result.parts) for _ in kinds],
        "sentences": [list(result.sentences[k]) for k in kinds],
    }, columns=list(REQUEST_SUMMARIES.column_names))


def keyword_rows(document_id: str, project_key: str | None,
                 keywords: Sequence[Keyword]) -> pd.DataFrame:
    return pd.DataFrame({
        "document_id": document_id,
        "project_key": project_key,
        "rank": list(range(1, len(keywords) + 1)),
        "phrase": [k.phrase for k in keywords],
        "score": [k.score for k in keywords],
        "relevance": [k.relevance for k in keywords],
        "corpus_share": [k.share for k in keywords],
        "occurrences": [k.count for k in keywords],
    }, columns=list(KEYWORDS.column_names))


def concat(frames: Sequence[pd.DataFrame], columns: Sequence[str]) -> pd.DataFrame:
    """One frame from many (an empty frame with `columns` when there are none)."""
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))
