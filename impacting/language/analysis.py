"""Language analysis of documents: chunks, vectors, summaries and keywords.

One pass of the model per text: each document is chunked, its prose sentences are embedded
through the shared cache (so unchanged text is never embedded again), and both summaries and
the keywords are computed from those same vectors. The Dagster assets, `impacting eval`,
`impacting summarise` and the benchmark all run these functions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from impacting.language.abstractive import AbstractiveSummariser
from impacting.language.chunking import HEADING, Chunk, chunk_document
from impacting.language.document_frequencies import CorpusStats
from impacting.language.encoder import EmbeddingCache
from impacting.language.keywords import Keyword, KeywordExtractor, KeywordParams
from impacting.language.summarise import (
    DEFAULT_PARAMS,
    Degree,
    Summary,
    SummaryParams,
    extractive_summary,
)
from impacting.language.vectors import embed_chunks, prose_chunks
from impacting.settings import LanguageSettings

EXECUTIVE = "executive"
STANDARD = "standard"


@dataclass(frozen=True)
class LanguageConfig:
    """How long the summaries are, how they are made, and how many keywords to keep."""

    summary: Degree
    executive: Degree
    keywords: KeywordParams
    params: SummaryParams = DEFAULT_PARAMS
    abstractive: AbstractiveSummariser | None = None

    @classmethod
    def from_settings(cls, settings: LanguageSettings | None = None, **changes) -> LanguageConfig:
        """The configuration the `language` settings ask for (the defaults when None); `changes`
        override settings first (e.g. `summary_words=300` for one command) and are validated
        like them."""
        settings = settings or LanguageSettings()
        if changes:
            settings = LanguageSettings.from_values(settings.model_dump() | changes)
        summary = Degree(words=settings.summary_words) if settings.summary_words is not None \
            else Degree(ratio=settings.summary_ratio)
        abstractive = shared_abstractive(settings.abstractive_model) \
            if settings.summary_method == "abstractive" and settings.abstractive_model else None
        return cls(summary=summary, executive=Degree(words=settings.executive_words),
                   keywords=KeywordParams(top_n=settings.keyword_count), abstractive=abstractive)


@lru_cache(maxsize=2)
def shared_abstractive(model: str) -> AbstractiveSummariser:
    """One abstractive summariser per model for the whole process (the model loads once)."""
    return AbstractiveSummariser(model)


@dataclass(frozen=True)
class DocumentLanguage:
    """Everything the language stage produced for one document."""

    document_id: str
    chunks: list[Chunk]
    prose: list[Chunk]
    summaries: dict[str, Summary]   # EXECUTIVE and STANDARD
    keywords: list[Keyword]

    @property
    def prose_words(self) -> int:
        return sum(c.words for c in self.prose)


def summarise_chunks(prose: Sequence[Chunk], vectors: np.ndarray, degree: Degree,
                     config: LanguageConfig, skip: Collection[str] = (),
                     title_vector: np.ndarray | None = None) -> Summary:
    """One summary at `degree`, by the configured method (extractive unless abstractive is set)."""
    if config.abstractive is not None:
        return config.abstractive.summarise(prose, vectors, degree, params=config.params,
                                            skip=skip, title_vector=title_vector)
    return extractive_summary(prose, vectors, degree, params=config.params, skip=skip,
                              title_vector=title_vector)


def summarise_document(prose: Sequence[Chunk], vectors: np.ndarray, config: LanguageConfig,
                       skip: Collection[str] = (),
                       title_vector: np.ndarray | None = None) -> dict[str, Summary]:
    """The executive and the standard summary of a document, from its prose and vectors."""
    return {kind: summarise_chunks(prose, vectors, degree, config, skip, title_vector)
            for kind, degree in ((EXECUTIVE, config.executive), (STANDARD, config.summary))}


def document_title(chunks: Sequence[Chunk]) -> str | None:
    """The document's title: its first heading, if it has one."""
    return next((c.text for c in chunks if c.kind == HEADING and c.text), None)


def title_vector(cache: EmbeddingCache, chunks: Sequence[Chunk]) -> np.ndarray | None:
    """The embedded title (through the cache), or None for a document without headings."""
    title = document_title(chunks)
    return cache.embed([title])[0] if title else None


def analyse_document(document_id: str, text: str, cache: EmbeddingCache, config: LanguageConfig,
                     corpus: CorpusStats, extractor: KeywordExtractor) -> DocumentLanguage:
    """The whole language stage for one document's text."""
    chunks = chunk_document(document_id, text)
    prose = prose_chunks(chunks)
    vectors = embed_chunks(cache, prose)
    summaries = summarise_document(prose, vectors, config, corpus.template_sentences,
                                   title_vector(cache, chunks))
    return DocumentLanguage(document_id, chunks, prose, summaries, extractor.extract(chunks, vectors))


def run_language_stage(documents: Iterable[tuple[str, str]], cache: EmbeddingCache,
                       config: LanguageConfig, corpus: CorpusStats) -> list[DocumentLanguage]:
    """The language stage over `(document_id, text)` pairs, with document frequencies from
    `corpus` (`impacting eval` passes the training documents')."""
    extractor = KeywordExtractor(cache, corpus, config.keywords)
    return [analyse_document(i, t, cache, config, corpus, extractor) for i, t in documents]
