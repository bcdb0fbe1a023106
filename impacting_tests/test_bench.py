"""`impacting bench` and the quiet second run: a corpus becomes an export folder, the pipeline runs
twice, and with nothing changed the second run recomputes nothing and publishes the same."""

import json
import re
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from impacting.benchmark.corpus import CorpusError, jira_key, read_corpus, write_export
from impacting.benchmark.history import grow_history, split_requests
from impacting.cli import main
from impacting.evaluation import BenchmarkFileError
from impacting.triage.corpus import Corpus, Request
from impacting_tests.conftest import (
    assert_same_content,
    copy_sample,
    materialisations,
    published_content,
    query,
    run_pipeline,
    sample_keys,
)

TICKETS = Path(__file__).parent / "fixtures" / "triage_tickets.bench.jsonl"
# Every step that may skip when nothing changed (one asset of each).
SKIPPING = {"chunks", "summaries", "keywords", "triage_corpus", "similar_projects", "team_predictions",
            "themes", "request_summaries", "briefs", "site", "delivery_issue_times", "delivery_report"}


def test_a_corpus_becomes_an_export_with_new_keys_and_new_sentences_per_copy(tmp_path):
    records = read_corpus(TICKETS)
    exported = write_export(records, tmp_path / "export", copies=2, awaiting_share=0.1)
    issues = [json.loads(line) for line in (tmp_path / "export" / "issues.jsonl").open(encoding="utf-8")]
    assert exported.requests == len(issues) == 2 * len(records)
    keys = {issue["key"] for issue in issues}
    assert len(keys) == len(issues) and jira_key("TIMOB-1235", 1) in keys and "TIMOB-1235" in keys
    waiting = [i for i in issues if i["fields"]["status"]["statusCategory"]["key"] == "new"]
    assert len(waiting) == exported.awaiting == 2 * round(0.1 * len(records))
    assert all(not i["fields"]["components"] for i in waiting)
    # A copy's documents say the same words, but hardly a sentence of three words or more is unchanged.
    pieces = unchanged = 0
    for number in range(len(records)):
        a, b = ((tmp_path / "export" / "attachments" / str(n + number) / "document.md")
                .read_text(encoding="utf-8") for n in (1_000_000, 2_000_000))
        assert sorted(a.split()) == sorted(b.split())
        mine = [x for x in re.split(r"(?<=[.!?])\s+|\n", a) if len(x.split()) >= 3]
        kept = set(re.split(r"(?<=[.!?])\s+|\n", b))
        pieces += len(mine)
        unchanged += sum(1 for x in mine if x in kept)
    assert pieces > 100 and unchanged <= 0.02 * pieces
    # Links point to the same copy.
    linked = [i for i in issues if i["fields"]["issuelinks"] and i["key"].startswith("TIMOBC1-")]
    assert linked and all(link["outwardIssue"]["key"].split("-")[0].endswith("C1")
                          for i in linked for link in i["fields"]["issuelinks"])


def test_a_broken_corpus_line_is_named(tmp_path):
    broken = tmp_path / "broken.bench.jsonl"
    broken.write_text('{"key": "A-1", "title": "t", "created": "2020-01-01", "text": "x"}\n{"key": \n',
                      encoding="utf-8")
    with pytest.raises(BenchmarkFileError, match=r"broken.bench.jsonl:2: not JSON"):
        read_corpus(broken)
    broken.write_text('{"key": "A-1", "title": "t", "text": "x"}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"record 1 \(A-1\) lacks created"):
        read_corpus(broken)
    assert main(["bench", "--corpus", str(tmp_path / "missing.bench.jsonl")]) == 2


def test_a_history_grows_by_varied_copies_under_new_keys():
    rng = np.random.default_rng(1)
    vectors = [rng.normal(size=(n, 8)).astype(np.float32) for n in (3, 1, 4)]
    vectors = [v / np.linalg.norm(v, axis=1, keepdims=True) for v in vectors]
    base = Corpus([Request(f"P-{i}", f"title {i}", "", teams=("a",), links=("P-9",)) for i in range(3)],
                  [[] for _ in range(3)], vectors, np.eye(3, 8, dtype=np.float32),
                  [" ".join(f"word{i}" for i in range(100))] * 3)
    history = grow_history(base, 8)
    assert len(history) == 8 and len(set(history.keys)) == 8
    assert history.keys[:3] == base.keys and history.keys[3] == "H1-P-0" and history.keys[6] == "H2-P-0"
    copy = history.position("H1-P-2")
    assert history.requests[copy].teams == ("a",) and history.requests[copy].links == ()
    assert history.passage_vectors[copy].shape == vectors[2].shape
    cosines = np.sum(history.passage_vectors[copy] * vectors[2], axis=1)
    assert np.all(cosines > 0.99) and np.all(cosines < 1.0)   # nudged, not moved away
    assert np.allclose(np.linalg.norm(history.passage_vectors[copy], axis=1), 1.0, atol=1e-5)
    assert 70 < len(history.lexical[copy].split()) < 100   # about a tenth of the words dropped
    assert set(history.lexical[copy].split()) < set(base.lexical[2].split())
    assert len(grow_history(base, 2)) == 2
    with pytest.raises(ValueError, match="--requests"):
        split_requests([{"key": "A", "created": "2020"}], requests=1)


@pytest.mark.timeout(900)
def test_the_history_bench_times_triage_for_each_size_and_compares_with_the_exact_search(tmp_path, capsys):
    assert main(["bench", "--corpus", str(TICKETS), "--history", "40,120", "--requests", "5",
                 "--added", "6", "--exact", "--cache", str(tmp_path / "cache.duckdb"), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures["triage_seconds_by_history"]) == {"40", "120"}
    assert set(figures["build_seconds_by_history"]) == {"40", "120"}
    assert figures["new_requests"] == 5 and figures["base_history"] == 41
    for size in ("40", "120"):
        row = figures["by_history"][size]
        assert row["history"] == int(size) and row["triage_seconds"] > 0 and row["peak_rss_mib"] > 0
        # The timed night extended the index the first night built and kept.
        assert (row["build"]["action"], row["action"], row["added"]) == ("built", "extended", 6)
        for night in (row, row["build"]):
            assert night["triage_seconds"] == pytest.approx(
                night["index_seconds"] + night["search_seconds"] + night["teams_seconds"], abs=2e-3)
        # The extended index finds what a fresh build (and, below 500 past projects, the exact
        # search: the same thing) finds, but for the frozen centre and vocabulary.
        assert row["top10_overlap_with_fresh_build"] >= 0.8
        assert row["top10_overlap_with_exact"] >= 0.8
    rows = figures["by_history"]
    assert rows["120"]["history_sentences"] > rows["40"]["history_sentences"]
    assert (tmp_path / "cache.duckdb").is_file()   # kept, for the next call
    with pytest.raises(SystemExit):
        main(["bench", "--corpus", str(TICKETS), "--history", "120,40"])


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_bench_reports_the_figures_and_a_second_run_that_skips_every_step(tmp_path, capsys):
    assert main(["bench", "--corpus", str(TICKETS), "--keep", str(tmp_path / "home"), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["documents"] == 46 and figures["words"] > 2000
    for name in ("first_run_seconds", "second_run_seconds", "words_per_second", "encoder_seconds",
                 "peak_rss_mib"):
        assert figures[name] > 0, name
    assert 0 < figures["encoder_share"] < 1 and figures["encoder_texts"] > 0
    assert figures["second_run_ratio"] == pytest.approx(
        figures["second_run_seconds"] / figures["first_run_seconds"], abs=1e-3)
    assert {"chunks", "summaries_and_keywords", "similar_projects", "published_warehouse"} \
        <= set(figures["stages"])
    assert figures["second_run_encoder_texts"] == 0
    assert SKIPPING <= set(figures["second_run_skipped"])
    assert "published_warehouse" not in figures["second_run_skipped"]


@pytest.mark.slow
def test_a_second_run_with_nothing_new_skips_and_publishes_the_same_and_a_new_request_is_taken_in(tmp_path):
    keys = sample_keys(4, open_requests=2)
    export = copy_sample(tmp_path / "export", keys)
    warehouse = tmp_path / "wh" / "impacting.duckdb"
    instance = dg.DagsterInstance.ephemeral()  # one instance: the runs see each other's records
    first = run_pipeline(export, warehouse, instance=instance, IMPACTING_TRIAGE_CV_FOLDS="2")
    assert first.success
    before = published_content(warehouse)
    second = run_pipeline(export, warehouse, instance=instance, IMPACTING_TRIAGE_CV_FOLDS="2")
    assert second.success
    meta = materialisations(second)
    skipped = {key for key, values in meta.items() if "skipped" in values and values["skipped"].value}
    assert SKIPPING <= skipped
    assert meta["chunks"]["reused_from_run"].value == first.run_id
    assert_same_content(before, published_content(warehouse))
    assert query(warehouse, "SELECT run_id FROM warehouse_info") == [(second.run_id,)]

    # A new request: everything it reaches is recomputed, and it is triaged.
    new = sample_keys(4, open_requests=3)[-1]
    copy_sample(export, [new])
    third = run_pipeline(export, warehouse, instance=instance, IMPACTING_TRIAGE_CV_FOLDS="2")
    assert third.success
    meta = materialisations(third)
    assert not {key for key, values in meta.items() if "skipped" in values and values["skipped"].value}
    assert query(warehouse, f"SELECT count(*) FROM similar_projects WHERE request_key = '{new}'")[0][0] > 0
    assert query(warehouse, f"SELECT count(*) FROM briefs WHERE request_key = '{new}'") == [(1,)]
