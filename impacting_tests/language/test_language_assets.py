"""The language assets in a real Dagster run on a small real export: tables filled, UI metadata,
and a second run with unchanged documents embedding nothing."""

import duckdb
import pytest

from impacting.language.keywords import Keyword
from impacting.language.nightly import replace_keeping
from impacting.language.rows import keyword_rows
from impacting.warehouse.store import ensure_tables, read_table
from impacting.warehouse.tables import KEYWORDS
from impacting_tests.conftest import copy_sample, failures, materialisations, run_pipeline
from impacting_tests.conftest import query as _query

# Three short design documents from the sample keep the two model runs quick.
KEYS = ["KEP-1138", "KEP-1487", "KEP-1488"]


@pytest.fixture
def export(tmp_path):
    return copy_sample(tmp_path / "export", KEYS)


def _run(export, warehouse):
    # Ingest and language, then publish: other stages are tested on their own.
    result = run_pipeline(export, warehouse, "group:ingest or group:language",
                          IMPACTING_EXECUTIVE_WORDS="40", IMPACTING_KEYWORDS="6")
    assert result.success, failures(result)
    return materialisations(result)


@pytest.mark.slow
def test_language_tables_are_filled_and_a_rerun_embeds_nothing(export, tmp_path):
    warehouse = tmp_path / "impacting.duckdb"
    first = _run(export, warehouse)

    [(documents,)] = _query(warehouse, "SELECT count(*) FROM documents WHERE extraction_status = 'ok'")
    assert documents == len(KEYS)
    # Every part of every document is kept, each with its kind; only prose is embedded.
    kinds = dict(_query(warehouse, "SELECT kind, count(*) FROM chunks GROUP BY 1"))
    assert {"sentence", "heading", "comment", "toc"} <= set(kinds)
    assert _query(warehouse, "SELECT bool_and(kind = 'sentence') FROM chunks WHERE embedded") == [(True,)]
    assert _query(warehouse, "SELECT count(DISTINCT document_id) FROM chunks") == [(documents,)]

    # Two summaries per document, the executive one near its 40-word budget, both made of the
    # document's own sentences in document order.
    rows = _query(warehouse, "SELECT kind, count(*), max(words) FROM summaries GROUP BY 1 ORDER BY 1")
    assert [(kind, count) for kind, count, _ in rows] == [("executive", documents), ("standard", documents)]
    assert dict((kind, longest) for kind, _, longest in rows)["executive"] <= 80
    assert _query(warehouse, """
        SELECT bool_and(list_sort(s.chunk_indexes) = s.chunk_indexes AND len(s.chunk_indexes) > 0)
        FROM summaries s""") == [(True,)]
    assert _query(warehouse, """
        SELECT count(*) FROM summaries s, unnest(s.chunk_indexes) AS u(i)
        LEFT JOIN chunks c ON c.document_id = s.document_id AND c.chunk_index = u.i
        WHERE c.kind IS DISTINCT FROM 'sentence' OR position(c.text IN s.text) = 0""") == [(0,)]
    [(ratio,)] = _query(warehouse, "SELECT avg(words / document_words) FROM summaries "
                         "WHERE kind = 'standard'")
    assert 0.05 < ratio < 0.2  # the default ratio is 0.1 of the document

    # Six keywords per document, ranked, none of them a phrase most documents share.
    assert _query(warehouse, "SELECT count(DISTINCT document_id), max(rank), min(rank) FROM keywords") \
        == [(documents, 6, 1)]
    assert _query(warehouse, "SELECT bool_and(corpus_share <= 0.5) FROM keywords") == [(True,)]

    [(prose,)] = _query(warehouse, "SELECT count(*) FROM chunks WHERE embedded")
    counted = first["chunks"]["texts_embedded"].value + first["chunks"]["texts_reused"].value
    assert counted == prose and first["chunks"]["texts_embedded"].value > 0
    glance = first["keywords"]["at_a_glance"].value
    [(an_executive_summary, a_keyword)] = _query(warehouse, """
        SELECT s.text, k.phrase FROM summaries s JOIN keywords k USING (document_id)
        WHERE s.kind = 'executive' AND k.rank = 1 LIMIT 1""")
    assert an_executive_summary[:40] in glance and a_keyword in glance

    second = _run(export, warehouse)
    for asset in ("chunks", "summaries", "keywords"):
        assert second[asset]["texts_embedded"].value == 0, asset
        assert second[asset]["texts_reused"].value > 0, asset
    assert _query(warehouse, "SELECT count(*) FROM summaries") == [(2 * documents,)]


def test_a_document_that_fails_keeps_its_previous_rows_and_the_others_are_replaced(tmp_path):
    def rows(document_id, phrase):
        return keyword_rows(document_id, "KEP-1", [Keyword(phrase, 0.5, 0.5, 0.0, 1)])

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_tables(con, [KEYWORDS])
        replace_keeping(con, KEYWORDS, [rows("A", "old a"), rows("B", "old b"),
                                         rows("C", "old c")], set())
        replace_keeping(con, KEYWORDS, [rows("A", "new a")], {"B"})
        table = read_table(con, KEYWORDS, "ORDER BY document_id")
    # A is replaced, B failed and keeps last run's row, C is gone from the collection.
    assert list(zip(table["document_id"], table["phrase"], strict=True)) == [("A", "new a"),
                                                                            ("B", "old b")]
