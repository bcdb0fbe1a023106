"""`impacting summarise`: any document, at any length, on demand.

A document comes from a file (any format ingest reads) or from the warehouse by request key or
document id. Vectors come from the warehouse's embedding cache when the working database is free
(so a document the nightly run has seen costs no model run), else from a cache file the caller
names, else from memory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from impacting.errors import ActionableError
from impacting.language.analysis import DocumentLanguage, LanguageConfig, analyse_document
from impacting.language.document_frequencies import CorpusStats
from impacting.language.encoder import EmbeddingCache, Encoder
from impacting.language.keywords import KeywordExtractor
from impacting.language.rows import chunks_from_rows
from impacting.warehouse.store import Warehouse, WarehouseBusy, read_table
from impacting.warehouse.tables import CHUNKS, DOCUMENTS


class DocumentNotFound(ActionableError, LookupError):
    """Neither a readable file nor a document in the warehouse; the message says what was tried."""


@dataclass(frozen=True)
class SourceDocument:
    document_id: str
    label: str   # what to call it in output: the file name or "KEY: file name"
    text: str


@dataclass
class Workspace:
    """The embedding cache and the corpus statistics available to this command."""

    cache: EmbeddingCache
    corpus: CorpusStats
    con: duckdb.DuckDBPyConnection
    note: str
    shared: bool = False   # the cache is the warehouse's working database (its tables are at hand)


@contextmanager
def open_workspace(warehouse_path: Path, encoder: Encoder, cache_path: Path | None = None
                   ) -> Iterator[Workspace]:
    """The best cache at hand: `cache_path`, else the working database (if it exists and no
    run holds it), else an in-memory one. Corpus statistics come from the warehouse's chunks."""
    warehouse = Warehouse(warehouse_path)
    with ExitStack() as stack:
        con, note, shared = None, "embedding in memory", False
        if cache_path is not None:
            con = stack.enter_context(duckdb.connect(str(cache_path)))
            note = f"embedding cache: {cache_path}"
        elif warehouse.working_path.is_file():
            try:
                con = stack.enter_context(warehouse.connect(wait_seconds=5))
                note, shared = f"embedding cache: {warehouse.working_path}", True
            except WarehouseBusy:
                note = "the warehouse is busy (a run holds it): embedding in memory"
        if con is None:
            con = stack.enter_context(duckdb.connect(":memory:"))
        corpus = CorpusStats()
        if _has_table(con, CHUNKS.qualified):
            corpus = CorpusStats.build(chunks_from_rows(read_table(con, CHUNKS)).values())
        yield Workspace(EmbeddingCache(con, encoder), corpus, con, note, shared)


def _has_table(con, qualified: str) -> bool:
    schema, name = qualified.split(".")
    [(count,)] = con.execute("SELECT count(*) FROM information_schema.tables "
                             "WHERE table_schema = ? AND table_name = ?", [schema, name]).fetchall()
    return count > 0


def find_documents(source: str, workspace: Workspace, published: Path) -> list[SourceDocument]:
    """The documents `source` names: '-' (standard input), a file, or a key / document id."""
    from impacting.sources.documents import extract_text

    if source == "-":
        return [SourceDocument("stdin", "standard input", sys.stdin.read())]
    path = Path(source).expanduser()
    if path.is_file():
        extracted = extract_text(path.read_bytes(), path.name)
        if extracted.status != "ok":
            raise DocumentNotFound(f"{path}: {extracted.reason}")
        return [SourceDocument(path.name, path.name, extracted.text)]
    query = (f"SELECT document_id, project_key, file_name, text FROM {DOCUMENTS.qualified} "
             "WHERE (project_key = ? OR document_id = ?) AND extraction_status = 'ok' "
             "ORDER BY document_id")
    rows = _rows(workspace.con, query, source)
    if not rows and published.is_file():
        with duckdb.connect(str(published), read_only=True) as con:
            rows = _rows(con, query, source)
    if not rows:
        raise DocumentNotFound(
            f"{source!r} is neither a file nor a request key or document id with a readable "
            "document in the warehouse; give a path to a .md, .txt, .html, .docx or .pdf file, "
            "'-' for standard input, or a key such as KEP-1234 after `impacting run`")
    return [SourceDocument(i, f"{key}: {name}", text) for i, key, name, text in rows]


def _rows(con, query: str, source: str) -> list[tuple]:
    try:
        return con.execute(query, [source, source]).fetchall()
    except duckdb.CatalogException:  # a cache file or an empty database: no documents table
        return []


def summarise_documents(documents: list[SourceDocument], workspace: Workspace,
                        config: LanguageConfig) -> list[DocumentLanguage]:
    extractor = KeywordExtractor(workspace.cache, workspace.corpus, config.keywords)
    return [analyse_document(d.document_id, d.text, workspace.cache, config, workspace.corpus,
                             extractor) for d in documents]
