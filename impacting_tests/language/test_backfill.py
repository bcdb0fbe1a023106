"""The partitioned embedding backfill's core: stable partitions; export → extract → merge leaving
the extractions the nightly `documents` step reuses (fast, the real reader process); and export →
embed → merge leaving the cache the nightly chunking would, on real sample documents and the
real model (slow)."""

import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from impacting.language.backfill import (
    PartitionReport,
    embed_partition,
    export_inputs,
    extract_partition,
    extracted_file,
    merge_extractions,
    merge_vectors,
    partition_keys,
    partition_of,
    pending_file,
    texts_file,
    vectors_file,
)
from impacting.language.encoder import CACHE_TABLE, EmbeddingCache, shared_encoder
from impacting.language.nightly import chunk_documents
from impacting.sources.document_table import EXTRACTED_COLUMNS, build_documents, extractor_version
from impacting.sources.documents.limits import ExtractionLimits
from impacting.warehouse.store import BlobStore, ensure_tables, read_table, replace_rows
from impacting.warehouse.tables import ALL_TABLES, DOCUMENT_EXTRACTIONS, DOCUMENTS, RAW_ATTACHMENTS
from impacting_tests.conftest import SAMPLE

LIMITS = ExtractionLimits()  # the nightly step's defaults: each document in the reader process
VERSION = extractor_version(LIMITS)


def test_a_document_always_lands_in_the_same_partition_and_they_are_balanced():
    # The partition is the first 8 bytes of the id's SHA-256 modulo the count: the same in every
    # process and on every machine (Python's own `hash` of a string is not).
    expected = int.from_bytes(hashlib.sha256(b"10042").digest()[:8], "big") % 4
    assert partition_of("10042", 4) == str(expected)
    counts = {key: 0 for key in partition_keys(4)}
    for n in range(4000):
        counts[partition_of(f"attachment-{n}", 4)] += 1
    assert all(800 < count < 1200 for count in counts.values()), counts


def _with_attachments(path, count: int, broken: bool = False) -> tuple[duckdb.DuckDBPyConnection, BlobStore]:
    """A working database at `path` after a first `jira_sync`: `count` of the sample's Markdown
    documents stored in an attachment store beside it (and, with `broken`, a corrupt Word file
    and a spreadsheet that is not a document), no `documents` rows yet."""
    blobs = BlobStore(path.parent / f"{path.stem}-attachments")
    files = [(p.parent.name, p.name, "text/markdown", p.read_bytes())
             for p in sorted((SAMPLE / "attachments").rglob("*.md"))[:count]]
    assert len(files) == count
    if broken:
        files += [("900001", "design.docx", None, b"PK\x03\x04 not really a zip archive"),
                  ("900002", "budget.xlsx", None, b"numbers")]
    rows = pd.DataFrame([{
        "attachment_id": attachment_id, "issue_key": f"KEP-{n % 3}", "file_name": name, "mime_type": mime,
        "size_bytes": len(content), "created_at": pd.Timestamp("2024-01-01", tz="UTC"),
        "is_document": name != "budget.xlsx", "sha256": blobs.put(content),
        "fetch_status": "stored" if name != "budget.xlsx" else "not_a_document", "fetch_reason": None,
    } for n, (attachment_id, name, mime, content) in enumerate(files)])
    con = duckdb.connect(str(path))
    ensure_tables(con, ALL_TABLES)
    replace_rows(con, RAW_ATTACHMENTS, rows)
    return con, blobs


def _nightly_documents(con, blobs) -> tuple[pd.DataFrame, object]:
    """What the nightly `documents` step builds from this database, and its counts."""
    return build_documents(read_table(con, RAW_ATTACHMENTS), blobs, read_table(con, DOCUMENTS), LIMITS,
                           extracted=read_table(con, DOCUMENT_EXTRACTIONS))


def _extracted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[["document_id", "sha256", *EXTRACTED_COLUMNS]].sort_values("document_id", ignore_index=True)
    return frame.assign(headings=frame["headings"].map(list))


def test_partitions_extract_what_the_nightly_documents_step_then_reuses(tmp_path):
    folder = tmp_path / "vectors"
    con, blobs = _with_attachments(tmp_path / "backfilled.duckdb", 4, broken=True)
    with con:
        # A first load: nothing extracted yet, so every stored document is pending; the
        # spreadsheet (not a document) is not exported at all.
        exported = export_inputs(con, folder, 2, blobs, VERSION)
        assert sum(exported.pending.values()) == 5 and sum(exported.texts.values()) == 0
        pending = duckdb.sql(f"SELECT * FROM '{folder}/pending-*.parquet'").df()
        assert set(pending["file_name"]) >= {"design.docx"} and "budget.xlsx" not in set(pending["file_name"])
        paths = zip(pending["sha256"], pending["content_path"], strict=True)
        assert all(blobs.path(sha) == Path(path) for sha, path in paths)

        readable = {}
        for key in partition_keys(2):
            report_texts = extract_partition(folder, key, LIMITS)
            readable.update(zip(report_texts["document_id"], report_texts["text"], strict=True))
        # the corrupt Word file is recorded as failed with its reason; it did not stop its partition
        assert len(readable) == 4 and "900001" not in readable
        extractions = duckdb.sql(f"SELECT * FROM '{folder}/extracted-*.parquet'").df()
        [broken] = extractions[extractions["format"] != "markdown"].itertuples()
        assert broken.extraction_status == "failed" and broken.extraction_reason

        assert merge_extractions(con, folder, partition_keys(2), VERSION) == 5
        rows, stats = _nightly_documents(con, blobs)
        assert (stats.extracted, stats.reused) == (0, 5)
        assert stats.problems and "design.docx" in stats.problems[0]
        replace_rows(con, DOCUMENTS, rows)
        # Now `documents` holds them: the next merge drops them from the waiting extractions, and
        # the next export sends their texts, not their content, to the partitions.
        assert merge_extractions(con, folder, partition_keys(2), VERSION) == 0
        assert read_table(con, DOCUMENT_EXTRACTIONS).empty
        again = export_inputs(con, folder, 2, blobs, VERSION)
        assert sum(again.pending.values()) == 0 and sum(again.texts.values()) == 4

    single, blobs = _with_attachments(tmp_path / "single.duckdb", 4, broken=True)
    with single:
        direct, stats = _nightly_documents(single, blobs)
        assert (stats.extracted, stats.reused) == (5, 0)
    pd.testing.assert_frame_equal(_extracted(rows), _extracted(direct))


def test_a_partition_run_again_reads_nothing_again_and_a_missing_content_is_left_to_the_nightly_run(
        tmp_path):
    folder = tmp_path / "vectors"
    con, blobs = _with_attachments(tmp_path / "w.duckdb", 3)
    with con:
        export_inputs(con, folder, 1, blobs, VERSION)
        first = PartitionReport()
        extract_partition(folder, "0", LIMITS, first)
        again = PartitionReport()
        extract_partition(folder, "0", LIMITS, again)
        assert (first.extracted, again.extracted, again.extractions_reused) == (3, 0, 3)

        # A worker that does not see the attachment store: the document is reported, and not
        # recorded as unreadable (the nightly step reads it).
        extracted_file(folder, "0").unlink()
        gone = read_table(con, RAW_ATTACHMENTS)["sha256"][0]
        content = blobs.get(gone)
        blobs.path(gone).unlink()
        blind = PartitionReport()
        texts = extract_partition(folder, "0", LIMITS, blind)
        assert blind.extracted == 2 and len(texts) == 2
        assert "mount the attachment store" in blind.problems[0]
        blobs.put(content)
        assert merge_extractions(con, folder, ["0", "1"], VERSION) == 2  # "1" never ran: nothing
        # an extraction made under other limits is never reused, and leaves at the next merge
        other = extractor_version(ExtractionLimits(max_words=10))
        con.execute(f"UPDATE {DOCUMENT_EXTRACTIONS.qualified} SET extractor_version = ?", [other])
        _, stats = _nightly_documents(con, blobs)
        assert (stats.extracted, stats.reused) == (3, 0)
        merge_extractions(con, folder, [], VERSION)
        assert read_table(con, DOCUMENT_EXTRACTIONS).empty


@pytest.mark.slow
def test_export_embed_merge_leaves_the_cache_the_nightly_chunking_would(tmp_path):
    encoder, folder = shared_encoder(), tmp_path / "vectors"
    con, blobs = _with_attachments(tmp_path / "backfilled.duckdb", 5)
    with con:
        exported = export_inputs(con, folder, 3, blobs, VERSION)
        assert sum(exported.pending.values()) == 5 and sorted(exported.pending) == ["0", "1", "2"]
        reports = [embed_partition(folder, key, encoder, LIMITS) for key in partition_keys(3)]
        assert sum(r.extracted for r in reports) == sum(r.documents for r in reports) == 5
        # an extra partition that never ran is reported by the merge, not fatal
        merged = merge_vectors(con, folder, [*partition_keys(3), "3"])
        assert merged.missing_partitions == ["3"]
        assert merged.added == merged.offered == sum(r.texts for r in reports) > 100
        assert merge_extractions(con, folder, [*partition_keys(3), "3"], VERSION) == 5
        backfilled = dict(con.execute(f"SELECT text_sha256, vector FROM {CACHE_TABLE}").fetchall())
        # The nightly run afterwards reads no document again and embeds no prose sentence again.
        rows, stats = _nightly_documents(con, blobs)
        assert (stats.extracted, stats.reused) == (0, 5)
        replace_rows(con, DOCUMENTS, rows)
        cache = EmbeddingCache(con, encoder)
        chunk_documents(con, cache)
        assert cache.stats.embedded == 0 and cache.stats.reused > 100

    con, blobs = _with_attachments(tmp_path / "single.duckdb", 5)
    with con:
        replace_rows(con, DOCUMENTS, _nightly_documents(con, blobs)[0])
        chunk_documents(con, EmbeddingCache(con, encoder))
        single = dict(con.execute(f"SELECT text_sha256, vector FROM {CACHE_TABLE}").fetchall())
    assert backfilled.keys() == single.keys()
    assert max(float(np.abs(np.asarray(backfilled[k]) - np.asarray(single[k])).max()) for k in single) < 1e-5


@pytest.mark.slow
def test_a_partition_run_again_reuses_its_vectors_and_follows_its_documents(tmp_path):
    encoder, folder = shared_encoder(), tmp_path / "vectors"
    con, blobs = _with_attachments(tmp_path / "w.duckdb", 2)
    with con:
        export_inputs(con, folder, 1, blobs, VERSION)
        first = embed_partition(folder, "0", encoder, LIMITS)
        again = embed_partition(folder, "0", encoder, LIMITS)
        assert (first.embedded, again.embedded, again.reused) == (first.texts, 0, first.texts)
        assert (first.extracted, again.extracted, again.extractions_reused) == (2, 0, 2)
        # one document gone: its sentences leave the partition's file
        replace_rows(con, RAW_ATTACHMENTS, read_table(con, RAW_ATTACHMENTS).head(1))
        export_inputs(con, folder, 1, blobs, VERSION)
        fewer = embed_partition(folder, "0", encoder, LIMITS)
        assert fewer.embedded == 0 and 0 < fewer.texts < first.texts
    with duckdb.connect() as con:
        count = "SELECT count(*) FROM '{}'"
        assert con.execute(count.format(vectors_file(folder, "0"))).fetchall() == [(fewer.texts,)]
        assert con.execute(count.format(pending_file(folder, "0"))).fetchall() == [(1,)]
        assert con.execute(count.format(texts_file(folder, "0"))).fetchall() == [(0,)]
