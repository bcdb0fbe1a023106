"""The similarity index kept between nights: loaded as it was, extended with new past projects,
built again whenever what it was built from changed, and never trusted when damaged."""

import hashlib

import numpy as np
import pytest

from impacting.triage.kept_index import BUILT, EXTENDED, LOADED, SENTENCES, KeptIndex
from impacting.triage.similar import SimilarityIndex
from impacting_tests.triage import test_similar

pytestmark = pytest.mark.slow
corpora = test_similar.corpora   # the same past projects and requests, embedded once per module
MODEL = "all-MiniLM-L6-v2"


def _documents(pool, keys=None, edited=()):
    keys = keys or pool.keys
    return [(k, hashlib.sha256((pool.requests[pool.position(k)].text + ("!" if k in edited else ""))
                               .encode()).hexdigest()) for k in keys]


def _update(kept, pool, documents, template=frozenset(), weight=0.6, loaded=None):
    def load(keys):
        if loaded is not None:
            loaded.append(list(keys))
        return pool.subset([pool.position(k) for k in keys])

    return kept.update(documents, template, load, lexical_weight=weight, candidates=0, model_id=MODEL)


def test_a_kept_index_is_loaded_as_it_was_built_and_scores_like_a_fresh_one(corpora, tmp_path):
    pool, queries = corpora
    kept = KeptIndex(tmp_path / "index")
    built, report = _update(kept, pool, _documents(pool))
    assert (report.action, report.documents, report.reason) == (BUILT, 5, "no index kept yet")
    loaded_keys = []
    again, report = _update(kept, pool, _documents(pool), loaded=loaded_keys)
    assert report.action == LOADED and loaded_keys == []   # nothing read from the history
    assert isinstance(again._sentences, np.memmap)
    fresh = SimilarityIndex(pool, 0.6, template=frozenset(), candidates=0)
    for index in (built, again):
        for mine, theirs in zip(index.halves(queries), fresh.halves(queries), strict=True):
            np.testing.assert_allclose(mine, theirs, atol=1e-6)
    # Asked for in another order, the columns follow that order.
    order = ["P-5", "P-1", "P-4", "P-2", "P-3"]
    permuted, report = _update(kept, pool, _documents(pool, order))
    assert report.action == LOADED and permuted.keys == order
    lexical, semantic = permuted.halves(queries)
    columns = [pool.keys.index(k) for k in order]
    np.testing.assert_allclose(semantic, fresh.halves(queries)[1][:, columns], atol=1e-6)
    np.testing.assert_allclose(lexical, fresh.halves(queries)[0][:, columns], atol=1e-6)
    # The past projects against each other (the ranking's training), in that order too.
    in_order = pool.subset(columns)
    for mine, theirs in zip(permuted.halves(in_order), fresh.halves(pool), strict=True):
        np.testing.assert_allclose(mine, theirs[np.ix_(columns, columns)], atol=1e-6)


def test_new_past_projects_are_appended_and_found(corpora, tmp_path):
    pool, queries = corpora
    kept = KeptIndex(tmp_path / "index", rebuild_growth=1.0)
    _update(kept, pool, _documents(pool, ["P-1", "P-2", "P-3"]))
    loaded_keys = []
    index, report = _update(kept, pool, _documents(pool), loaded=loaded_keys)
    assert (report.action, report.added, report.since_build) == (EXTENDED, 2, 2)
    assert loaded_keys == [["P-4", "P-5"]]          # only the new ones were read
    assert index.keys == pool.keys
    # A request that is an appended project's own text finds it first, and the related one
    # still comes first for the CSI query.
    as_query = pool.subset([pool.position("P-4")])
    hits = index.similarity(as_query)[0]
    assert index.keys[int(np.argmax(hits))] == "P-4"
    assert index.search(queries, top_k=1, min_score=0.0)[0][0].key == "P-1"
    # The next night with nothing new loads the extended index as it is.
    _, report = _update(kept, pool, _documents(pool))
    assert (report.action, report.since_build) == (LOADED, 2)


@pytest.mark.parametrize("change, reason", [
    ("removed", "left the history"),
    ("edited", "text changed"),
    ("grown", "added since the last build"),
    ("template", "template sentences"),
    ("weight", "settings"),
    ("damaged", "could not be read"),
    ("lost", "could not be read"),
])
def test_anything_but_new_past_projects_builds_the_index_again(corpora, tmp_path, change, reason):
    pool, _ = corpora
    kept = KeptIndex(tmp_path / "index", rebuild_growth=0.5)
    _update(kept, pool, _documents(pool, ["P-1", "P-2", "P-3", "P-4"]))
    documents, template, weight = _documents(pool, ["P-1", "P-2", "P-3", "P-4"]), frozenset(), 0.6
    if change == "removed":
        documents = documents[1:]
    elif change == "edited":
        documents = _documents(pool, ["P-1", "P-2", "P-3", "P-4"], edited={"P-2"})
    elif change == "grown":  # 4 built, 1 added: 25% is within 0.5; so lower the bar
        kept = KeptIndex(tmp_path / "index", rebuild_growth=0.2)
        documents = _documents(pool)
    elif change == "template":
        template = frozenset({pool.passages[0][0].sha256})
    elif change == "weight":
        weight = 0.3
    elif change == "damaged":
        (tmp_path / "index" / "index.json").write_text("{not json")
    else:
        (tmp_path / "index" / "counts-0.npz").unlink()
    index, report = _update(kept, pool, documents, template, weight)
    assert report.action == BUILT and reason in report.reason
    assert index.keys == [k for k, _ in documents]
    _, report = _update(kept, pool, documents, template, weight)
    assert report.action == LOADED


def test_rows_a_killed_extension_left_behind_are_ignored(corpora, tmp_path):
    pool, queries = corpora
    kept = KeptIndex(tmp_path / "index", rebuild_growth=1.0)
    _update(kept, pool, _documents(pool, ["P-1", "P-2", "P-3"]))
    before = _update(kept, pool, _documents(pool, ["P-1", "P-2", "P-3"]))[0].halves(queries)
    with (tmp_path / "index" / SENTENCES).open("ab") as handle:   # half an append, no description
        handle.write(np.ones((7, 384), np.float32).tobytes())
    with (tmp_path / "index" / "terms.txt").open("ab") as handle:
        handle.write(b"half written\nterms\n")
    index, report = _update(kept, pool, _documents(pool, ["P-1", "P-2", "P-3"]))
    assert report.action == LOADED
    for mine, theirs in zip(index.halves(queries), before, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)
    index, report = _update(kept, pool, _documents(pool))
    assert report.action == EXTENDED and len(index._sentences) == sum(
        len(v) + 1 for v in pool.passage_vectors)   # every passage and title, nothing stray
    assert "half written" not in (tmp_path / "index" / "terms.txt").read_text().splitlines()
    # Its words are exactly a fresh build's.
    fresh = SimilarityIndex(pool, 0.6, template=frozenset(), candidates=0)
    np.testing.assert_allclose(index.halves(queries)[0], fresh.halves(queries)[0], atol=1e-6)
