"""The embedding backfill: extract, chunk and embed documents in partitions, away from the
working DuckDB.

A first load (or a new embedding model) must read and embed every document; on one machine that
is the whole night and more. Here the work is split so any worker can take a share of it:

1. :func:`export_inputs` (the single writer, briefly) writes, per partition, the stored design
   documents whose text is already known (``texts-<partition>.parquet``: from `documents` or
   earlier backfills, with the current extractor version) and those still to be read
   (``pending-<partition>.parquet``: SHA-256, file name, MIME type and the path of the content
   in the attachment store). A document's partition is a stable hash of its id, so it never
   moves while the partition count stays the same. Only `jira_sync` must have run.
2. :func:`embed_partition` (any worker, in parallel, no database) reads the pending documents
   with the nightly `documents` step's reader process and limits (:func:`extract_partition`,
   writing ``extracted-<partition>.parquet``), then chunks every readable document exactly as
   the nightly run does and embeds their prose sentences, writing ``vectors-<partition>.parquet``
   (model, text SHA-256, vector). Extractions and vectors already in those files from an earlier
   run are kept rather than computed again.
3. :func:`merge_vectors` and :func:`merge_extractions` (the single writer) insert every
   partition's vectors into the embedding cache and its extractions into
   `internal.document_extractions`, so the nightly `documents` step reads nothing it already has
   and the `chunks` step embeds nothing it already has.

Files are written to a temporary name and renamed, so a reader never sees half a file. The
content paths in the pending files are the attachment store's (`impacting.work/attachments/`
beside the warehouse): workers must see that folder at the same path, as they see the vectors.
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
from impacting.sources.document_table import (
    EXTRACTED_COLUMNS,
    extract_document,
    extraction_problem,
    extractor_version,
    reusable_extractions,
    stored_extraction,
)
from impacting.sources.documents.limits import ExtractionLimits
from impacting.sources.documents.worker import ExtractionWorker
from impacting.warehouse.store import BlobStore
from impacting.warehouse.tables import DOCUMENT_EXTRACTIONS, DOCUMENTS, RAW_ATTACHMENTS

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


def pending_file(folder: Path, partition: str) -> Path:
    return Path(folder) / f"pending-{partition}.parquet"


def extracted_file(folder: Path, partition: str) -> Path:
    return Path(folder) / f"extracted-{partition}.parquet"


# Columns of the files, cast so that an empty or all-null column keeps its type.
_TEXTS = "document_id, project_key, text"
_PENDING = "document_id, project_key, file_name, mime_type, sha256, content_path"
_EXTRACTED = ("sha256, extractor_version, format, word_count::INTEGER AS word_count, "
              "headings::VARCHAR[] AS headings, text, extraction_status, "
              "extraction_reason::VARCHAR AS extraction_reason")


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


# Every stored design document, with the text already extracted from its content by the current
# extractor version (in `documents` or the backfill's extractions), if any.
_INPUTS = f"""
WITH known AS (
    SELECT sha256, first(text ORDER BY origin) AS text,
           first(extraction_status ORDER BY origin) AS extraction_status
    FROM (SELECT sha256, text, extraction_status, 0 AS origin FROM {DOCUMENTS.qualified}
          WHERE extractor_version = $version AND format IS NOT NULL
          UNION ALL
          SELECT sha256, text, extraction_status, 1 FROM {DOCUMENT_EXTRACTIONS.qualified}
          WHERE extractor_version = $version)
    GROUP BY sha256)
SELECT a.attachment_id AS document_id, a.issue_key AS project_key, a.file_name, a.mime_type,
       a.sha256, known.sha256 IS NOT NULL AS known, known.text, known.extraction_status
FROM {RAW_ATTACHMENTS.qualified} a LEFT JOIN known ON known.sha256 = a.sha256
WHERE a.is_document AND a.fetch_status = 'stored' AND a.sha256 IS NOT NULL
ORDER BY a.attachment_id
"""


@dataclass
class ExportReport:
    """What the export wrote, per partition."""

    texts: dict[str, int]  # documents whose text is known
    pending: dict[str, int]  # documents to read in the partition


def export_inputs(con: duckdb.DuckDBPyConnection, folder: Path, partitions: int, blobs: BlobStore,
                  version: str) -> ExportReport:
    """Write each partition's inputs to `folder`: the readable documents whose text `version`
    already extracted (texts file), and the stored documents it has not read yet (pending
    file, with the path of their content in `blobs`). Every partition gets both files, empty
    ones too, so each partition step has its input; files of partitions that no longer exist
    are removed. Needs only `raw.jira_attachments` and the stored content."""
    rows = con.execute(_INPUTS, {"version": version}).df()
    rows["partition"] = [partition_of(d, partitions) for d in rows["document_id"]]
    rows["content_path"] = [str(blobs.path(sha)) for sha in rows["sha256"]]
    known = rows[rows["known"]]
    texts = known[(known["extraction_status"] == "ok") & known["text"].notna()]
    pending = rows[~rows["known"]]
    keys = partition_keys(partitions)
    for key in keys:
        _write_parquet(texts[texts["partition"] == key], texts_file(folder, key), _TEXTS)
        _write_parquet(pending[pending["partition"] == key], pending_file(folder, key), _PENDING)
    current = {f(folder, k).name for k in keys for f in (texts_file, pending_file)}
    for pattern in ("texts-*.parquet", "pending-*.parquet"):
        for stale in Path(folder).glob(pattern):
            if stale.name not in current:
                stale.unlink()
    return ExportReport(texts={key: int((texts["partition"] == key).sum()) for key in keys},
                        pending={key: int((pending["partition"] == key).sum()) for key in keys})


@dataclass
class PartitionReport:
    """What one partition step did."""

    documents: int = 0  # readable documents chunked
    texts: int = 0  # distinct prose sentences in the partition
    embedded: int = 0  # the model ran on these
    reused: int = 0  # taken from the partition's earlier vectors file
    extracted: int = 0  # contents read here
    extractions_reused: int = 0  # taken from the partition's earlier extractions file
    not_ok: int = 0  # contents read here or before that gave no text (skipped or failed)
    problems: list[str] = field(default_factory=list)


def extract_partition(folder: Path, partition: str, limits: ExtractionLimits,
                      report: PartitionReport | None = None) -> pd.DataFrame:
    """Read one partition's pending documents as the nightly `documents` step does (the same
    reader process and `limits`) and write the partition's extractions file; returns the
    partition's readable documents (id, project, text): those exported with their text and
    those just read. A document that cannot be read gets its status and reason, as in
    `documents`; one whose content is not where the export said is reported and left to the
    nightly run (a worker without the attachment store mounted must not record it as broken)."""
    report = report if report is not None else PartitionReport()
    version = extractor_version(limits)
    pending = _read_parquet(pending_file(folder, partition))
    earlier = (reusable_extractions([_read_parquet(extracted_file(folder, partition))], version)
               if extracted_file(folder, partition).is_file() else {})
    extractions: dict[str, dict] = {}
    read_here = []
    with ExtractionWorker(limits) as worker:
        for item in pending.itertuples(index=False):
            if item.sha256 not in extractions:
                columns = _extract(item, earlier, worker, report)
                if columns is None:
                    continue
                extractions[item.sha256] = columns
            columns = extractions[item.sha256]
            if columns["extraction_status"] == "ok":
                read_here.append((item.document_id, item.project_key, columns["text"]))
    report.not_ok += sum(c["extraction_status"] != "ok" for c in extractions.values())
    _write_parquet(pd.DataFrame([{"sha256": sha, "extractor_version": version} | columns
                                 for sha, columns in extractions.items()],
                                columns=["sha256", "extractor_version", *EXTRACTED_COLUMNS]),
                   extracted_file(folder, partition), _EXTRACTED)
    exported = _read_parquet(texts_file(folder, partition))[["document_id", "project_key", "text"]]
    return pd.concat([exported, pd.DataFrame(read_here, columns=["document_id", "project_key", "text"])],
                     ignore_index=True)


def _extract(item, earlier: dict, worker: ExtractionWorker, report: PartitionReport) -> dict | None:
    hit = earlier.get(item.sha256)
    if hit is not None:
        report.extractions_reused += 1
        return stored_extraction(hit)
    path = Path(item.content_path)
    if not path.is_file():
        report.problems.append(f"{item.project_key} '{item.file_name}': its content is not at {path} on "
                               "this worker; mount the attachment store there (docs/scaling.md). The "
                               "nightly run reads it")
        return None
    columns = extract_document(worker, path.read_bytes, item.file_name, item.mime_type)
    report.extracted += 1
    problem = extraction_problem(item.project_key, item.file_name, columns)
    if problem:
        report.problems.append(problem)
    return columns


def embed_partition(folder: Path, partition: str, encoder: Encoder,
                    limits: ExtractionLimits | None = None) -> PartitionReport:
    """Read the partition's pending documents (:func:`extract_partition`, within `limits`), chunk
    its readable documents as the nightly run does, embed their prose sentences and write the
    partition's vectors file. A document that cannot be read or chunked is reported and left
    to the nightly run; it never stops the partition."""
    report = PartitionReport()
    documents = extract_partition(folder, partition, limits or ExtractionLimits(), report)
    report.documents = len(documents)
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


def merge_extractions(con: duckdb.DuckDBPyConnection, folder: Path, partitions: Sequence[str],
                      version: str) -> int:
    """Add the extractions of `partitions` made with `version` to `internal.document_extractions`
    (where the nightly `documents` step reuses them), then drop the rows `documents` already
    holds (the nightly step has taken them over) and those of another version; returns the rows
    added. Partitions without an extractions file add nothing."""
    present = [f"'{_sql(f)}'" for f in (extracted_file(folder, p) for p in partitions) if f.is_file()]
    table = DOCUMENT_EXTRACTIONS.qualified
    columns = ", ".join(DOCUMENT_EXTRACTIONS.column_names)
    [(before,)] = con.execute(f"SELECT count(*) FROM {table}").fetchall()
    con.execute("BEGIN TRANSACTION")
    try:
        if present:
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT DISTINCT ON (sha256) {columns} "
                f"FROM read_parquet([{', '.join(present)}]) AS new "
                "WHERE extractor_version = $version AND NOT EXISTS (SELECT 1 FROM "
                f"{table} AS old WHERE old.sha256 = new.sha256 AND old.extractor_version = $version) "
                "ORDER BY sha256", {"version": version})
        [(added,)] = con.execute(f"SELECT count(*) FROM {table}").fetchall()
        con.execute(f"DELETE FROM {table} WHERE extractor_version <> $version OR sha256 IN (SELECT "
                    f"sha256 FROM {DOCUMENTS.qualified} WHERE extractor_version = $version "
                    "AND format IS NOT NULL)", {"version": version})
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return added - before
