"""The embedding backfill: chunk and embed documents in partitions, away from the working DuckDB.

A first load (or a new embedding model) must embed every document; on one machine that is the
whole night and more. Here the work is split so any worker can take a share of it:

1. :func:`export_texts` (the single writer, briefly) writes each partition's readable documents
   to ``texts-<partition>.parquet`` in a shared folder; a document's partition is a stable hash
   of its id, so it never moves while the partition count stays the same.
2. :func:`embed_partition` (any worker, in parallel, no database) chunks one partition's documents
   exactly as the nightly run does and embeds their prose sentences, writing
   ``vectors-<partition>.parquet`` (model, text SHA-256, vector). Vectors already in that file
   from an earlier run are kept rather than computed again.
3. :func:`merge_vectors` (the single writer) inserts every partition's vectors into the embedding
   cache, so the nightly `chunks` step then finds them there and embeds nothing it already has.

Files are written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from impacting.language.chunking import chunk_document
from impacting.language.encoder import CACHE_TABLE, Encoder, create_cache_table, text_hash
from impacting.language.vectors import prose_chunks
from impacting.warehouse.tables import DOCUMENTS

# Texts embedded per model call here: bounds memory on a partition of thousands of documents.
ENCODE_BATCH_TEXTS = 4096


def partition_keys(partitions: int) -> list[str]:
    """The partition names for `partitions` partitions: "0", "1", ..."""
    return [str(k) for k in range(partitions)]


def partition_of(document_id: str, partitions: int) -> str:
    """The partition a document belongs to: a stable hash of its id (the same on every machine
    and every run, unlike Python's `hash`)."""
    digest = hashlib.sha256(document_id.encode("utf-8")).digest()
    return str(int.from_bytes(digest[:8], "big") % partitions)


def texts_file(folder: Path, partition: str) -> Path:
    return Path(folder) / f"texts-{partition}.parquet"


def vectors_file(folder: Path, partition: str) -> Path:
    return Path(folder) / f"vectors-{partition}.parquet"


def _write_parquet(rows: pd.DataFrame, path: Path, select: str = "*") -> None:
    """`rows` as a Parquet file at `path`, renamed into place so readers never see half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with duckdb.connect() as con:
        con.register("rows", rows)
        con.execute(f"COPY (SELECT {select} FROM rows) TO '{_sql(partial)}' (FORMAT parquet)")
    os.replace(partial, path)


def _read_parquet(path: Path) -> pd.DataFrame:
    with duckdb.connect() as con:
        return con.execute(f"SELECT * FROM read_parquet('{_sql(path)}')").df()


def _sql(path: Path) -> str:
    return str(path).replace("'", "''")


def export_texts(con: duckdb.DuckDBPyConnection, folder: Path, partitions: int) -> dict[str, int]:
    """Write every readable document's text to its partition's file in `folder` (every partition
    gets a file, empty ones too, so each partition step has its input); returns documents per
    partition. Files of partitions that no longer exist are removed."""
    rows = con.execute(
        f"SELECT document_id, project_key, text FROM {DOCUMENTS.qualified} "
        "WHERE extraction_status = 'ok' AND text IS NOT NULL ORDER BY document_id").df()
    rows["partition"] = [partition_of(d, partitions) for d in rows["document_id"]]
    keys = partition_keys(partitions)
    for key in keys:
        _write_parquet(rows[rows["partition"] == key], texts_file(folder, key),
                       "document_id, project_key, text")
    for stale in Path(folder).glob("texts-*.parquet"):
        if stale.name not in {texts_file(folder, k).name for k in keys}:
            stale.unlink()
    return {key: int((rows["partition"] == key).sum()) for key in keys}


@dataclass
class PartitionReport:
    """What one partition step did."""

    documents: int = 0
    texts: int = 0  # distinct prose sentences in the partition
    embedded: int = 0  # the model ran on these
    reused: int = 0  # taken from the partition's earlier vectors file
    problems: list[str] = field(default_factory=list)


def embed_partition(folder: Path, partition: str, encoder: Encoder) -> PartitionReport:
    """Chunk one partition's documents as the nightly run does, embed their prose sentences and
    write the partition's vectors file. A document that cannot be chunked is reported and left
    to the nightly run; it never stops the partition."""
    documents = _read_parquet(texts_file(folder, partition))
    report = PartitionReport(documents=len(documents))
    wanted: dict[str, str] = {}
    for document_id, project_key, text in documents[["document_id", "project_key", "text"]].itertuples(
            index=False):
        try:
            chunks = chunk_document(document_id, text)
        except Exception as error:  # one odd document must not stop the others
            report.problems.append(f"{document_id} ({project_key}): could not be split into "
                                   f"sentences ({error}); the nightly run will report it")
            continue
        for chunk in prose_chunks(chunks):
            wanted.setdefault(text_hash(chunk.text), chunk.text)
    report.texts = len(wanted)
    known = _earlier_vectors(vectors_file(folder, partition), encoder.model_id, set(wanted))
    missing = [h for h in wanted if h not in known]
    for start in range(0, len(missing), ENCODE_BATCH_TEXTS):
        batch = missing[start:start + ENCODE_BATCH_TEXTS]
        known.update(zip(batch, encoder.encode([wanted[h] for h in batch]), strict=True))
    report.embedded, report.reused = len(missing), len(wanted) - len(missing)
    hashes = sorted(wanted)
    _write_parquet(pd.DataFrame({"model": encoder.model_id, "text_sha256": hashes,
                                 "vector": [np.asarray(known[h], dtype=np.float32) for h in hashes]}),
                   vectors_file(folder, partition), "model, text_sha256, vector::FLOAT[] AS vector")
    return report


def _earlier_vectors(path: Path, model: str, wanted: set[str]) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    rows = _read_parquet(path)
    rows = rows[(rows["model"] == model) & rows["text_sha256"].isin(wanted)]
    return {h: np.asarray(v, dtype=np.float32)
            for h, v in zip(rows["text_sha256"], rows["vector"], strict=True)}


@dataclass
class MergeReport:
    """What merging the partitions' vectors into the embedding cache did."""

    offered: int = 0  # vectors in the partitions' files
    added: int = 0  # new to the cache
    missing_partitions: list[str] = field(default_factory=list)  # no vectors file yet


def merge_vectors(con: duckdb.DuckDBPyConnection, folder: Path, partitions: Sequence[str]) -> MergeReport:
    """Insert the vectors of `partitions` into the embedding cache; vectors it already holds are
    left as they are. Partitions without a vectors file are reported, not fatal: the nightly run
    embeds whatever is still missing."""
    create_cache_table(con)
    files = [vectors_file(folder, p) for p in partitions]
    report = MergeReport(missing_partitions=[p for p, f in zip(partitions, files, strict=True)
                                             if not f.is_file()])
    present = [f"'{_sql(f)}'" for f in files if f.is_file()]
    if not present:
        return report
    source = f"read_parquet([{', '.join(present)}])"
    [(report.offered,)] = con.execute(f"SELECT count(*) FROM {source}").fetchall()
    [(before,)] = con.execute(f"SELECT count(*) FROM {CACHE_TABLE}").fetchall()
    con.execute(f"INSERT OR IGNORE INTO {CACHE_TABLE} SELECT model, text_sha256, vector FROM {source}")
    [(after,)] = con.execute(f"SELECT count(*) FROM {CACHE_TABLE}").fetchall()
    report.added = after - before
    return report
