"""The partitioned embedding backfill's core: stable partitions, and export → embed → merge leaving
the cache the nightly chunking would, on real sample documents and the real model."""

import hashlib

import duckdb
import numpy as np
import pytest

from impacting.language.backfill import (
    embed_partition,
    export_texts,
    merge_vectors,
    partition_keys,
    partition_of,
    texts_file,
    vectors_file,
)
from impacting.language.encoder import CACHE_TABLE, EmbeddingCache, shared_encoder
from impacting.language.nightly import chunk_documents
from impacting.warehouse.store import ensure_tables, replace_rows
from impacting.warehouse.tables import CHUNKS, DOCUMENTS
from impacting_tests.conftest import SAMPLE


def test_a_document_always_lands_in_the_same_partition_and_they_are_balanced():
    # The partition is the first 8 bytes of the id's SHA-256 modulo the count: the same in every
    # process and on every machine (Python's own `hash` of a string is not).
    expected = int.from_bytes(hashlib.sha256(b"10042").digest()[:8], "big") % 4
    assert partition_of("10042", 4) == str(expected)
    counts = {key: 0 for key in partition_keys(4)}
    for n in range(4000):
        counts[partition_of(f"attachment-{n}", 4)] += 1
    assert all(800 < count < 1200 for count in counts.values()), counts


def _with_documents(path, count: int) -> duckdb.DuckDBPyConnection:
    """A working database at `path` holding `count` of the sample's Markdown documents."""
    import pandas as pd

    texts = sorted((SAMPLE / "attachments").rglob("*.md"))[:count]
    assert len(texts) == count
    rows = pd.DataFrame({"document_id": [p.parent.name for p in texts], "project_key": "KEP-1",
                         "text": [p.read_text(encoding="utf-8") for p in texts],
                         "extraction_status": "ok"})
    con = duckdb.connect(str(path))
    ensure_tables(con, [DOCUMENTS, CHUNKS])
    con.register("sample_documents", rows)
    columns = ", ".join(DOCUMENTS.column_names)
    selected = ", ".join(c if c in rows.columns else f"NULL AS {c}" for c in DOCUMENTS.column_names)
    con.execute(f"INSERT INTO {DOCUMENTS.qualified} ({columns}) SELECT {selected} FROM sample_documents")
    return con


@pytest.mark.slow
def test_export_embed_merge_leaves_the_cache_the_nightly_chunking_would(tmp_path):
    encoder, folder = shared_encoder(), tmp_path / "vectors"
    with _with_documents(tmp_path / "backfilled.duckdb", 5) as con:
        counts = export_texts(con, folder, 3)
        assert sum(counts.values()) == 5 and sorted(counts) == ["0", "1", "2"]
        reports = [embed_partition(folder, key, encoder) for key in partition_keys(3)]
        # an extra partition that never ran is reported by the merge, not fatal
        merged = merge_vectors(con, folder, [*partition_keys(3), "3"])
        assert merged.missing_partitions == ["3"]
        assert merged.added == merged.offered == sum(r.texts for r in reports) > 100
        backfilled = dict(con.execute(f"SELECT text_sha256, vector FROM {CACHE_TABLE}").fetchall())
        # The nightly chunking afterwards finds every prose sentence in the cache.
        cache = EmbeddingCache(con, encoder)
        chunk_documents(con, cache)
        assert cache.stats.embedded == 0 and cache.stats.reused > 100

    with _with_documents(tmp_path / "single.duckdb", 5) as con:
        chunk_documents(con, EmbeddingCache(con, encoder))
        single = dict(con.execute(f"SELECT text_sha256, vector FROM {CACHE_TABLE}").fetchall())
    assert backfilled.keys() == single.keys()
    assert max(float(np.abs(np.asarray(backfilled[k]) - np.asarray(single[k])).max()) for k in single) < 1e-5


@pytest.mark.slow
def test_a_partition_run_again_reuses_its_vectors_and_follows_its_documents(tmp_path):
    encoder, folder = shared_encoder(), tmp_path / "vectors"
    with _with_documents(tmp_path / "w.duckdb", 2) as con:
        export_texts(con, folder, 1)
        first = embed_partition(folder, "0", encoder)
        again = embed_partition(folder, "0", encoder)
        assert (first.embedded, again.embedded, again.reused) == (first.texts, 0, first.texts)
        # one document gone: its sentences leave the partition's file
        replace_rows(con, DOCUMENTS, con.execute(f"SELECT * FROM {DOCUMENTS.qualified} LIMIT 1").df())
        export_texts(con, folder, 1)
        fewer = embed_partition(folder, "0", encoder)
        assert fewer.embedded == 0 and 0 < fewer.texts < first.texts
    with duckdb.connect() as con:
        count = "SELECT count(*) FROM '{}'"
        assert con.execute(count.format(vectors_file(folder, "0"))).fetchall() == [(fewer.texts,)]
        assert con.execute(count.format(texts_file(folder, "0"))).fetchall() == [(1,)]
