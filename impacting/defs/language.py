"""Language: documents → chunks embedded once → summaries and keywords."""

from collections.abc import Callable

import dagster as dg
import pandas as pd

from impacting.defs.metadata import bullet_list, definition_metadata, markdown_table, table_metadata
from impacting.defs.resources import LanguageResource, WarehouseResource
from impacting.language.chunking import chunk_document
from impacting.language.corpus import CorpusStats
from impacting.language.encoder import EmbeddingCache, ModelUnavailable
from impacting.language.keywords import KeywordExtractor
from impacting.language.rows import (
    chunk_rows,
    chunks_from_rows,
    concat,
    keyword_rows,
    summary_rows,
)
from impacting.language.stage import EXECUTIVE, summarise_document, title_vector
from impacting.language.vectors import embed_chunks, prose_chunks
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import CHUNKS, DOCUMENTS, KEYWORDS, SUMMARIES, Table

GROUP = "language"
# Documents embedded per model call batch: bounds memory on large collections.
EMBED_BATCH_DOCUMENTS = 50
# The "at a glance" table in the UI shows this many documents.
GLANCE_ROWS = 200


def _cache_counts(cache: EmbeddingCache) -> dict[str, int]:
    return {"texts_embedded": cache.stats.embedded, "texts_reused": cache.stats.reused}


def _open_cache(con, language: LanguageResource) -> EmbeddingCache:
    return EmbeddingCache(con, language.encoder())


def _replace_keeping(con, table: Table, frames: list[pd.DataFrame], failed: set[str]) -> None:
    """Replace `table` with `frames` plus the last run's rows of the documents in `failed`, so a
    failure never loses them (the old rows are read only when something failed)."""
    if failed:
        previous = read_table(con, table)
        frames = [*frames, previous[previous["document_id"].isin(failed)]]
    replace_rows(con, table, concat(frames, table.column_names))


def _each_document(context: dg.AssetExecutionContext, documents: dict[str, list],
                   projects: dict[str, str | None], what: str,
                   rows_for: Callable[[str, list], pd.DataFrame]
                   ) -> tuple[list[pd.DataFrame], list[str], set[str]]:
    """`rows_for(document_id, chunks)` for every document, with the problems and the failed
    documents. One odd document is reported and skipped; a model that cannot load fails the run."""
    frames, problems, failed = [], [], set()
    for document_id, document_chunks in documents.items():
        try:
            frames.append(rows_for(document_id, document_chunks))
        except ModelUnavailable as error:
            raise dg.Failure(str(error)) from error
        except Exception as error:  # one odd document must not stop the others
            failed.add(document_id)
            problems.append(f"{document_id} ({projects[document_id]}): no {what} ({error}); "
                            f"its previous {what} are kept")
    for problem in problems:
        context.log.warning(problem)
    return frames, problems, failed


@dg.asset(
    key="chunks",
    group_name=GROUP,
    deps=["documents"],
    kinds={"duckdb", "pytorch"},
    description="Every readable document split into sentences (with their section) and its "
    "other parts; prose sentences are embedded once with the shared model and cached by "
    "(model, SHA-256), so a nightly run embeds only new or changed text.",
    metadata=definition_metadata(CHUNKS),
)
def chunks(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
           language: LanguageResource) -> dg.MaterializeResult:
    with warehouse.open().connect() as con:
        documents = con.execute(
            f"SELECT document_id, project_key, text FROM {DOCUMENTS.qualified} "
            "WHERE extraction_status = 'ok' AND text IS NOT NULL ORDER BY document_id"
        ).fetchall()
        cache = _open_cache(con, language)
        frames, problems, failed = [], [], set()
        for start in range(0, len(documents), EMBED_BATCH_DOCUMENTS):
            batch = []
            for document_id, project_key, text in documents[start:start + EMBED_BATCH_DOCUMENTS]:
                try:
                    batch.append((project_key, chunk_document(document_id, text)))
                except Exception as error:  # one odd document must not stop the others
                    failed.add(document_id)
                    problems.append(f"{document_id} ({project_key}): could not be split into "
                                    f"sentences ({error}); its previous chunks are kept")
            prose = [prose_chunks(chunks) for _, chunks in batch]
            try:
                embed_chunks(cache, [c for document in prose for c in document])
            except ModelUnavailable as error:
                raise dg.Failure(str(error)) from error
            frames += [chunk_rows(key, chunks, (c.index for c in document_prose))
                       for (key, chunks), document_prose in zip(batch, prose, strict=True)]
        for problem in problems:
            context.log.warning(problem)
        _replace_keeping(con, CHUNKS, frames, failed)
        metadata = table_metadata(con, CHUNKS, ["document_id", "chunk_index", "kind", "text"])
        kinds = dict(con.execute(f"SELECT kind, count(*) FROM {CHUNKS.qualified} GROUP BY 1 "
                                 "ORDER BY 1").fetchall())
        [(prose_words,)] = con.execute(f"SELECT coalesce(sum(words), 0) FROM {CHUNKS.qualified} "
                                       "WHERE embedded").fetchall()
    context.log.info(f"embedded {cache.stats.embedded} texts, reused {cache.stats.reused}")
    return dg.MaterializeResult(metadata=metadata | _cache_counts(cache) | {
        "documents": len(documents) - len(failed),
        "prose_words": int(prose_words),
        "embedding_model": language.encoder().model_id,
        "chunks_by_kind": dg.MetadataValue.md(bullet_list([f"{k}: {n}" for k, n in kinds.items()])),
        "problems": dg.MetadataValue.md(bullet_list(problems)),
    })


def _document_chunks(con) -> tuple[dict[str, list], dict[str, str | None]]:
    rows = read_table(con, CHUNKS)
    projects = dict(zip(rows["document_id"], rows["project_key"], strict=True))
    return chunks_from_rows(rows), projects


@dg.asset(
    key="summaries",
    group_name=GROUP,
    deps=[chunks],
    kinds={"duckdb"},
    description="An executive summary (~IMPACTING_EXECUTIVE_WORDS words) and a standard summary "
    "(IMPACTING_SUMMARY_RATIO of the document, or IMPACTING_SUMMARY_WORDS words) per document: "
    "whole sentences that cover its main sections, no near-duplicates, in document order.",
    metadata=definition_metadata(SUMMARIES),
)
def summaries(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
              language: LanguageResource) -> dg.MaterializeResult:
    config = language.config()
    with warehouse.open().connect() as con:
        documents, projects = _document_chunks(con)
        templates = CorpusStats.build(documents.values()).template_sentences
        cache = _open_cache(con, language)

        def rows_for(document_id: str, document_chunks: list) -> pd.DataFrame:
            prose = prose_chunks(document_chunks)
            result = summarise_document(prose, embed_chunks(cache, prose), config, templates,
                                        title_vector(cache, document_chunks))
            return summary_rows(document_id, projects[document_id], sum(c.words for c in prose),
                                result)

        frames, problems, failed = _each_document(context, documents, projects, "summaries",
                                                  rows_for)
        _replace_keeping(con, SUMMARIES, frames, failed)
        metadata = table_metadata(con, SUMMARIES)
        executive = con.execute(
            f"SELECT project_key, document_id, words, text AS executive_summary "
            f"FROM {SUMMARIES.qualified} WHERE kind = '{EXECUTIVE}' ORDER BY project_key, document_id "
            f"LIMIT {GLANCE_ROWS}").df()
    return dg.MaterializeResult(metadata=metadata | _cache_counts(cache) | {
        "documents": len(documents) - len(failed),
        "template_sentences_skipped": len(templates),
        "method": "abstractive" if config.abstractive else "extractive",
        "standard_degree": config.summary.describe(),
        "executive_degree": config.executive.describe(),
        "executive_summaries": dg.MetadataValue.md(markdown_table(executive, width=600)),
        "problems": dg.MetadataValue.md(bullet_list(problems)),
    })


@dg.asset(
    key="keywords",
    group_name=GROUP,
    deps=[chunks, summaries],
    kinds={"duckdb"},
    description="The key phrases of each document (KeyBERT with MMR on the shared model, the "
    "document represented by all its sentences), penalised when most documents share them. Its "
    "metadata shows every document's executive summary and top keywords at a glance.",
    metadata=definition_metadata(KEYWORDS),
)
def keywords(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
             language: LanguageResource) -> dg.MaterializeResult:
    config = language.config()
    with warehouse.open().connect() as con:
        documents, projects = _document_chunks(con)
        corpus = CorpusStats.build(documents.values())
        cache = _open_cache(con, language)
        try:
            extractor = KeywordExtractor(cache, corpus, config.keywords)
        except ModelUnavailable as error:
            raise dg.Failure(str(error)) from error

        def rows_for(document_id: str, document_chunks: list) -> pd.DataFrame:
            vectors = embed_chunks(cache, prose_chunks(document_chunks))
            return keyword_rows(document_id, projects[document_id],
                                extractor.extract(document_chunks, vectors))

        frames, problems, failed = _each_document(context, documents, projects, "keywords",
                                                  rows_for)
        _replace_keeping(con, KEYWORDS, frames, failed)
        metadata = table_metadata(con, KEYWORDS, ["document_id", "rank", "phrase", "score"])
        glance = con.execute(f"""
            SELECT d.project_key, d.file_name, s.text AS executive_summary,
                   string_agg(k.phrase, ', ' ORDER BY k.rank) AS top_keywords
            FROM {DOCUMENTS.qualified} d
            JOIN {SUMMARIES.qualified} s ON s.document_id = d.document_id AND s.kind = '{EXECUTIVE}'
            LEFT JOIN {KEYWORDS.qualified} k ON k.document_id = d.document_id AND k.rank <= 5
            GROUP BY ALL ORDER BY d.project_key, d.file_name LIMIT {GLANCE_ROWS}""").df()
    return dg.MaterializeResult(metadata=metadata | _cache_counts(cache) | {
        "documents": len(documents) - len(failed),
        "corpus_documents": corpus.documents,
        "at_a_glance": dg.MetadataValue.md(markdown_table(glance, width=600)),
        "problems": dg.MetadataValue.md(bullet_list(problems)),
    })


ASSETS = [chunks, summaries, keywords]
