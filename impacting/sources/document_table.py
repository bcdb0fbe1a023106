"""Build the `documents` table from stored attachments: one row per design document.

Text is extracted once per content hash and extractor version; an unchanged document reuses
the text of the previous run, or the text the embedding backfill's partitions extracted
(`internal.document_extractions`). A document that cannot be read gets a row with the reason,
and never stops the others. :func:`extract_document` is the one way content is read, here and
in the backfill's partitions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from impacting.sources.documents import ExtractedText
from impacting.sources.documents.limits import ExtractionLimits
from impacting.sources.documents.worker import ExtractionWorker
from impacting.warehouse.store import BlobStore

# Bump when extraction changes, so every document is read again with the new code.
EXTRACTOR_VERSION = "3"  # 2: Markdown read with markdown-it-py; 3: limits on size, words, time
# The columns of a `documents` row that come from reading the content (the others describe the
# attachment): what an extraction stored for reuse holds besides its SHA-256 and version.
EXTRACTED_COLUMNS = ("format", "word_count", "headings", "text", "extraction_status", "extraction_reason")


@dataclass
class DocumentStats:
    extracted: int = 0
    reused: int = 0
    not_ok: dict[str, int] = field(default_factory=dict)  # extraction_status → count
    problems: list[str] = field(default_factory=list)


def build_documents(attachments: pd.DataFrame, blobs: BlobStore, previous: pd.DataFrame,
                    limits: ExtractionLimits | None = None,
                    extracted: pd.DataFrame | None = None) -> tuple[pd.DataFrame, DocumentStats]:
    """`documents` rows for every attachment marked `is_document`; content already read with
    these limits (in `previous`, the last `documents` rows, or in `extracted`, the backfill's
    extractions) is reused, new content is read in a worker process within `limits` (time,
    memory, inflated size, words)."""
    limits = limits or ExtractionLimits()
    version = extractor_version(limits)
    frames = [previous] if extracted is None else [previous, extracted]
    with ExtractionWorker(limits) as worker:
        return _build(attachments, blobs, reusable_extractions(frames, version), worker, version)


def extractor_version(limits: ExtractionLimits) -> str:
    """What a stored extraction was made with: the code's version and the limits (a text
    truncated, or a document refused, under one limit is read again under another)."""
    return (f"{EXTRACTOR_VERSION}/words:{limits.max_words}/inflated:{limits.max_uncompressed_bytes}"
            f"/seconds:{limits.timeout_seconds}/memory:{limits.max_memory_bytes}")


def reusable_extractions(frames: Iterable[pd.DataFrame], version: str) -> dict[str, Any]:
    """Every extraction in `frames` (rows with `sha256`, `extractor_version` and the extracted
    columns) made with `version`, by content SHA-256. What could not be read is included: a
    broken file does not mend itself, and a new upload has a new hash."""
    return {row.sha256: row for frame in frames for row in frame.itertuples(index=False)
            if row.sha256 and row.extractor_version == version and row.format is not None}


def stored_extraction(row: Any) -> dict[str, Any]:
    """The extracted columns of a stored extraction (a `documents` or extractions row)."""
    return {"format": row.format, "word_count": row.word_count, "headings": list(row.headings),
            "text": row.text, "extraction_status": row.extraction_status,
            "extraction_reason": row.extraction_reason}


def extract_document(worker: ExtractionWorker, content: Callable[[], bytes], file_name: str | None,
                     mime_type: str | None) -> dict[str, Any]:
    """The extracted columns for one document whose bytes `content` returns, read by `worker`
    within its limits. Never raises: a parser bug or unreadable content is a `failed` result
    with the reason."""
    try:
        extracted = worker.extract(content(), file_name or "", mime_type)
    except Exception as error:  # a parser bug must not fail the other documents
        extracted = ExtractedText("", "unknown", "failed",
                                  f"could not be read ({type(error).__name__}: {error}); "
                                  "re-save the file and attach it again", (), 0)
    return {"format": extracted.format, "word_count": extracted.word_count,
            "headings": list(extracted.headings), "text": extracted.text,
            "extraction_status": extracted.status, "extraction_reason": extracted.reason}


def extraction_problem(project_key: str, file_name: str | None, columns: dict[str, Any]) -> str | None:
    """What to report about an extraction: why it failed, or why its text was cut; else None."""
    if columns["extraction_status"] != "ok" or columns["extraction_reason"]:
        return f"{project_key} '{file_name}': {columns['extraction_reason']}"
    return None


def _build(attachments: pd.DataFrame, blobs: BlobStore, cached: dict[str, Any],
           worker: ExtractionWorker, version: str) -> tuple[pd.DataFrame, DocumentStats]:
    stats = DocumentStats()
    rows = []
    for attachment in attachments[attachments["is_document"].fillna(False)].itertuples(index=False):
        row = _document_row(attachment, blobs, cached, stats, worker) | {"extractor_version": version}
        if row["extraction_status"] != "ok":
            stats.not_ok[row["extraction_status"]] = stats.not_ok.get(row["extraction_status"], 0) + 1
        problem = extraction_problem(attachment.issue_key, attachment.file_name, row)  # failed, or cut
        if problem:
            stats.problems.append(problem)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if len(frame):
        frame = frame.sort_values(["project_key", "attached_at", "document_id"], kind="stable")
    return frame, stats


def _document_row(attachment: Any, blobs: BlobStore, cached: dict[str, Any],
                  stats: DocumentStats, worker: ExtractionWorker) -> dict[str, Any]:
    base = {
        "document_id": attachment.attachment_id,
        "project_key": attachment.issue_key,
        "file_name": attachment.file_name,
        "mime_type": attachment.mime_type,
        "size_bytes": attachment.size_bytes,
        "sha256": attachment.sha256,
        "attached_at": attachment.created_at,
        "extractor_version": EXTRACTOR_VERSION,
    }
    if attachment.fetch_status != "stored":
        return base | {
            "format": None, "word_count": 0, "headings": [], "text": "",
            "extraction_status": "skipped" if attachment.fetch_status != "failed" else "failed",
            "extraction_reason": attachment.fetch_reason
            or f"content not stored ({attachment.fetch_status})",
        }
    hit = cached.get(attachment.sha256)
    if hit is not None:
        stats.reused += 1
        return base | stored_extraction(hit)
    stats.extracted += 1
    return base | extract_document(worker, lambda: blobs.get(attachment.sha256), attachment.file_name,
                                   attachment.mime_type)
