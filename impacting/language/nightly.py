"""The language stage over the warehouse: documents → `chunks` → `summaries` and `keywords`.

One loop per step, each document on its own: a document that fails is reported, keeps the rows
the last run made for it, and never stops the others; a model that cannot load (an
:class:`~impacting.errors.ActionableError`) stops the step, because then every document fails.
The Dagster assets call these and report what they return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import duckdb
import pandas as pd

from impacting.errors import ActionableError
from impacting.language.analysis import LanguageConfig, document_title, summarise_document, title_vector
from impacting.language.chunking import chunk_document
from impacting.language.document_frequencies import CorpusStats
from impacting.language.encoder import EmbeddingCache
from impacting.language.keywords import KeywordExtractor
from impacting.language.rows import chunk_rows, chunks_from_rows, concat, keyword_rows, summary_rows
from impacting.language.vectors import embed_chunks, prose_chunks
from impacting.progress import Progress
from impacting.warehouse.store import read_table, replace_rows
from impacting.warehouse.tables import CHUNKS, DOCUMENTS, KEYWORDS, SUMMARIES, Table

T = TypeVar("T")
# Texts handed to the model at once, and at most this many documents per block: large enough
# that the model's length-sorted batches carry little padding (a block of a few short tickets
# cost 2-3 times as much per sentence as a block of long documents), small enough to bound
# memory and to store progress as a long first run goes.
EMBED_BATCH_TEXTS = 4096
EMBED_BATCH_DOCUMENTS = 1000


def text_blocks(items: Iterable[T], texts: Callable[[T], int]) -> Iterator[list[T]]:
    """Consecutive `items` in blocks of about `EMBED_BATCH_TEXTS` texts (`texts` counts an
    item's) and at most `EMBED_BATCH_DOCUMENTS` items."""
    block: list[T] = []
    count = 0
    for item in items:
        block.append(item)
        count += texts(item)
        if count >= EMBED_BATCH_TEXTS or len(block) >= EMBED_BATCH_DOCUMENTS:
            yield block
            block, count = [], 0
    if block:
        yield block


@dataclass
class StepReport:
    """What one step did: documents done, those that failed (their old rows kept), and why."""

    documents: int = 0
    failed: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return self.documents - len(self.failed)


def replace_keeping(con: duckdb.DuckDBPyConnection, table: Table, frames: list[pd.DataFrame],
                    failed: set[str]) -> None:
    """Replace `table` with `frames` plus the last run's rows of the documents in `failed`, so a
    failure never loses them (the old rows are read only when something failed)."""
    if failed:
        previous = read_table(con, table)
        frames = [*frames, previous[previous["document_id"].isin(failed)]]
    replace_rows(con, table, concat(frames, table.column_names))


def chunk_documents(con: duckdb.DuckDBPyConnection, cache: EmbeddingCache,
                    progress: Callable[[str], None] | None = None) -> StepReport:
    """Split every readable document into `chunks` and embed its prose through the cache;
    `progress` hears how far it has got now and then."""
    documents = con.execute(
        f"SELECT document_id, project_key, text FROM {DOCUMENTS.qualified} "
        "WHERE extraction_status = 'ok' AND text IS NOT NULL ORDER BY document_id").fetchall()
    report = StepReport(documents=len(documents))
    frames = []
    done = Progress("documents", len(documents), progress, cache.encoder)

    def chunked():
        """(project, chunks, prose chunks) of each document that could be split."""
        for document_id, project_key, text in documents:
            try:
                chunks = chunk_document(document_id, text)
            except Exception as error:  # one odd document must not stop the others
                report.failed.add(document_id)
                report.problems.append(f"{document_id} ({project_key}): could not be split into "
                                       f"sentences ({error}); its previous chunks are kept")
                done.advance()
                continue
            yield project_key, chunks, prose_chunks(chunks)

    for block in text_blocks(chunked(), lambda document: len(document[2])):
        embed_chunks(cache, [c for _, _, prose in block for c in prose])
        frames += [chunk_rows(key, chunks, (c.index for c in prose)) for key, chunks, prose in block]
        done.advance(len(block))
    done.finish()
    replace_keeping(con, CHUNKS, frames, report.failed)
    return report


@dataclass
class LanguageReport:
    summaries: StepReport
    keywords: StepReport
    corpus: CorpusStats


def summarise_and_extract(con: duckdb.DuckDBPyConnection, cache: EmbeddingCache,
                          config: LanguageConfig, write: set[str] | None = None,
                          progress: Callable[[str], None] | None = None) -> LanguageReport:
    """`summaries` and `keywords` of every chunked document in one loop: one read of `chunks`,
    one set of corpus statistics (template sentences, phrase frequencies), one vector lookup per
    document. `write` names the tables to write (both by default); a document whose summary or
    keywords fail keeps its previous rows of that table. `progress` hears how far it has got."""
    rows = read_table(con, CHUNKS)
    projects = dict(zip(rows["document_id"], rows["project_key"], strict=True))
    documents = chunks_from_rows(rows)
    corpus = CorpusStats.build(documents.values())
    wanted = {SUMMARIES.name, KEYWORDS.name} if write is None else set(write)
    extractor = KeywordExtractor(cache, corpus, config.keywords) if KEYWORDS.name in wanted else None
    steps = {SUMMARIES.name: StepReport(), KEYWORDS.name: StepReport()}
    frames: dict[str, list[pd.DataFrame]] = {SUMMARIES.name: [], KEYWORDS.name: []}

    def summary_of(document_id: str, chunks: list, prose: list, vectors) -> pd.DataFrame:
        return summary_rows(document_id, projects[document_id], sum(c.words for c in prose),
                            summarise_document(prose, vectors, config, corpus.template_sentences,
                                               title_vector(cache, chunks)))

    def keywords_of(document_id: str, chunks: list, vectors, phrases: list[str] | None) -> pd.DataFrame:
        return keyword_rows(document_id, projects[document_id],
                            extractor.extract(chunks, vectors, phrases))

    def attempt(table: Table, document_id: str, make: Callable[..., pd.DataFrame], *args) -> None:
        report = steps[table.name]
        report.documents += 1
        try:
            frames[table.name].append(make(document_id, *args))
        except ActionableError:
            raise  # e.g. the model cannot load: every document would fail the same way
        except Exception as error:  # one odd document must not stop the others
            report.failed.add(document_id)
            report.problems.append(f"{document_id} ({projects[document_id]}): no {table.name} "
                                   f"({error}); its previous {table.name} are kept")

    def planned(document_id: str, chunks: list) -> tuple:
        """A document, its prose, its candidate phrases (None when they cannot be found: its
        keywords then fail on their own and say why) and every text its summary and keywords embed."""
        prose, title = prose_chunks(chunks), document_title(chunks)
        try:
            phrases = extractor.phrases(chunks) if extractor is not None else []
        except Exception:
            phrases = None
        texts = [c.text for c in prose] + ([title] if title else []) + (phrases or [])
        return document_id, chunks, prose, phrases, texts

    done = Progress("documents", len(documents), progress, cache.encoder)
    plans = (planned(document_id, chunks) for document_id, chunks in documents.items())
    for block in text_blocks(plans, lambda plan: len(plan[-1])):
        # One lookup and large batches for the block (short tickets pay per call, not per word).
        with cache.preloaded(text for *_, texts in block for text in texts):
            for document_id, chunks, prose, phrases, _ in block:
                vectors = embed_chunks(cache, prose)
                if SUMMARIES.name in wanted:
                    attempt(SUMMARIES, document_id, summary_of, chunks, prose, vectors)
                if extractor is not None:
                    attempt(KEYWORDS, document_id, keywords_of, chunks, vectors, phrases)
                done.advance()
    done.finish()
    for table in (SUMMARIES, KEYWORDS):
        if table.name in wanted:
            replace_keeping(con, table, frames[table.name], steps[table.name].failed)
    return LanguageReport(steps[SUMMARIES.name], steps[KEYWORDS.name], corpus)
