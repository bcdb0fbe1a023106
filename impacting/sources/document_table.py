"""Build the `documents` table from stored attachments: one row per design document.

Text is extracted once per content hash and extractor version; an unchanged document reuses
the text of the previous run. A document that cannot be read gets a row with the reason, and
never stops the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from impacting.sources.documents import ExtractedText
from impacting.sources.documents.limits import ExtractionLimits
from impacting.sources.documents.worker import ExtractionWorker
from impacting.warehouse.store import BlobStore

# Bump when extraction changes, so every document is read again with the new code.
EXTRACTOR_VERSION = "3"  # 2: Markdown read with markdown-it-py; 3: limits on size, words, time


@dataclass
class DocumentStats:
    extracted: int = 0
    reused: int = 0
    not_ok: dict[str, int] = field(default_factory=dict)  # extraction_status → count
    problems: list[str] = field(default_factory=list)


def build_documents(attachments: pd.DataFrame, blobs: BlobStore, previous: pd.DataFrame,
                    limits: ExtractionLimits | None = None) -> tuple[pd.DataFrame, DocumentStats]:
    """`documents` rows for every attachment marked `is_document`; new content is read in a
    worker process within `limits` (time, memory, inflated size, words)."""
    limits = limits or ExtractionLimits()
    with ExtractionWorker(limits) as worker:
        return _build(attachments, blobs, previous, worker, extractor_version(limits))


def extractor_version(limits: ExtractionLimits) -> str:
    """What a stored extraction was made with: the code's version and the limits (a text
    truncated, or a document refused, under one limit is read again under another)."""
    return (f"{EXTRACTOR_VERSION}/words:{limits.max_words}/inflated:{limits.max_uncompressed_bytes}"
            f"/seconds:{limits.timeout_seconds}/memory:{limits.max_memory_bytes}")


def _build(attachments: pd.DataFrame, blobs: BlobStore, previous: pd.DataFrame,
           worker: ExtractionWorker, version: str) -> tuple[pd.DataFrame, DocumentStats]:
    stats = DocumentStats()
    # Every content read before with this code and these limits is reused, including what could
    # not be read: a broken file does not mend itself, and a new upload has a new hash.
    cached = {
        row.sha256: row for row in previous.itertuples(index=False)
        if row.sha256 and row.extractor_version == version and row.format is not None
    }
    rows = []
    for attachment in attachments[attachments["is_document"].fillna(False)].itertuples(index=False):
        row = _document_row(attachment, blobs, cached, stats, worker) | {"extractor_version": version}
        if row["extraction_status"] != "ok":
            stats.not_ok[row["extraction_status"]] = stats.not_ok.get(row["extraction_status"], 0) + 1
        if row["extraction_status"] != "ok" or row["extraction_reason"]:  # failed, or truncated
            stats.problems.append(
                f"{attachment.issue_key} '{attachment.file_name}': {row['extraction_reason']}"
            )
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
        return base | {
            "format": hit.format, "word_count": hit.word_count, "headings": list(hit.headings),
            "text": hit.text, "extraction_status": hit.extraction_status,
            "extraction_reason": hit.extraction_reason,
        }
    try:
        extracted = worker.extract(blobs.get(attachment.sha256), attachment.file_name or "",
                                   attachment.mime_type)
    except Exception as error:  # a parser bug must not fail the other documents
        extracted = ExtractedText("", "unknown", "failed",
                                  f"could not be read ({type(error).__name__}: {error}); "
                                  "re-save the file and attach it again", (), 0)
    stats.extracted += 1
    return base | {
        "format": extracted.format, "word_count": extracted.word_count,
        "headings": list(extracted.headings), "text": extracted.text,
        "extraction_status": extracted.status, "extraction_reason": extracted.reason,
    }
