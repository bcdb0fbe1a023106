"""Language: documents → chunks embedded once → summaries and keywords."""

import dagster as dg

from impacting.defs.errors import failures
from impacting.defs.metadata import (
    bullet_list,
    definition_metadata,
    markdown_table,
    problems_metadata,
    table_metadata,
)
from impacting.defs.resources import WAREHOUSE_POOL, LanguageResource, WarehouseResource
from impacting.language.analysis import EXECUTIVE
from impacting.language.encoder import EmbeddingCache
from impacting.language.nightly import chunk_documents, summarise_and_extract
from impacting.settings import var
from impacting.warehouse.tables import CHUNKS, DOCUMENTS, KEYWORDS, SUMMARIES

GROUP = "language"
# The "at a glance" tables in the UI show this many documents.
GLANCE_ROWS = 200


def _cache_counts(cache: EmbeddingCache) -> dict[str, int]:
    return {"texts_embedded": cache.stats.embedded, "texts_reused": cache.stats.reused}


@dg.asset(
    pool=WAREHOUSE_POOL,
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
    with failures(), warehouse.open().connect() as con:
        cache = EmbeddingCache(con, language.encoder())
        report = chunk_documents(con, cache)
        metadata = table_metadata(con, CHUNKS, ["document_id", "chunk_index", "kind", "text"])
        kinds = dict(con.execute(f"SELECT kind, count(*) FROM {CHUNKS.qualified} GROUP BY 1 "
                                 "ORDER BY 1").fetchall())
        [(prose_words,)] = con.execute(f"SELECT coalesce(sum(words), 0) FROM {CHUNKS.qualified} "
                                       "WHERE embedded").fetchall()
    for problem in report.problems:
        context.log.warning(problem)
    context.log.info(f"embedded {cache.stats.embedded} texts, reused {cache.stats.reused}")
    return dg.MaterializeResult(metadata=metadata | _cache_counts(cache) | {
        "documents": report.succeeded,
        "prose_words": int(prose_words),
        "embedding_model": cache.encoder.model_id,
        "chunks_by_kind": dg.MetadataValue.md(bullet_list([f"{k}: {n}" for k, n in kinds.items()])),
        **problems_metadata(report.problems),
    })


SPECS = [
    dg.AssetSpec(
        SUMMARIES.name, group_name=GROUP, deps=[chunks], kinds={"duckdb"},
        description=f"An executive summary (~{var('language.executive_words')} words) and a "
        f"standard summary ({var('language.summary_ratio')} of the document, or "
        f"{var('language.summary_words')} words) per document: whole sentences that cover its "
        "main sections, no near-duplicates, in document order.",
        metadata=definition_metadata(SUMMARIES)),
    dg.AssetSpec(
        KEYWORDS.name, group_name=GROUP, deps=[chunks], kinds={"duckdb"},
        description="The key phrases of each document (KeyBERT with MMR on the shared model, the "
        "document represented by all its sentences), penalised when most documents share them. "
        "Its metadata shows every document's executive summary and top keywords at a glance.",
        metadata=definition_metadata(KEYWORDS)),
]


@dg.multi_asset(pool=WAREHOUSE_POOL, specs=SPECS, name="summaries_and_keywords", can_subset=True,
                description="Summaries and keywords from one pass over the chunked documents: "
                "one read of `chunks`, one set of corpus statistics, one vector lookup per document.")
def summaries_and_keywords(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                           language: LanguageResource):
    config = language.config()
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    with failures(), warehouse.open().connect() as con:
        cache = EmbeddingCache(con, language.encoder())
        report = summarise_and_extract(con, cache, config, write=selected)
        for problem in report.summaries.problems + report.keywords.problems:
            context.log.warning(problem)
        if SUMMARIES.name in selected:
            executive = con.execute(
                f"SELECT project_key, document_id, words, text AS executive_summary "
                f"FROM {SUMMARIES.qualified} WHERE kind = '{EXECUTIVE}' "
                f"ORDER BY project_key, document_id LIMIT {GLANCE_ROWS}").df()
            yield dg.MaterializeResult(asset_key=SUMMARIES.name, metadata=table_metadata(
                con, SUMMARIES) | _cache_counts(cache) | {
                "documents": report.summaries.succeeded,
                "template_sentences_skipped": len(report.corpus.template_sentences),
                "method": "abstractive" if config.abstractive else "extractive",
                "standard_degree": config.summary.describe(),
                "executive_degree": config.executive.describe(),
                "executive_summaries": dg.MetadataValue.md(markdown_table(executive, width=600)),
                **problems_metadata(report.summaries.problems),
            })
        if KEYWORDS.name in selected:
            glance = con.execute(f"""
                SELECT d.project_key, d.file_name, s.text AS executive_summary,
                       string_agg(k.phrase, ', ' ORDER BY k.rank) AS top_keywords
                FROM {DOCUMENTS.qualified} d
                JOIN {SUMMARIES.qualified} s ON s.document_id = d.document_id AND s.kind = '{EXECUTIVE}'
                LEFT JOIN {KEYWORDS.qualified} k ON k.document_id = d.document_id AND k.rank <= 5
                GROUP BY ALL ORDER BY d.project_key, d.file_name LIMIT {GLANCE_ROWS}""").df()
            yield dg.MaterializeResult(asset_key=KEYWORDS.name, metadata=table_metadata(
                con, KEYWORDS, ["document_id", "rank", "phrase", "score"]) | _cache_counts(cache) | {
                "documents": report.keywords.succeeded,
                "corpus_documents": report.corpus.documents,
                "at_a_glance": dg.MetadataValue.md(markdown_table(glance, width=600)),
                **problems_metadata(report.keywords.problems),
            })


ASSETS = [chunks, summaries_and_keywords]
