"""`impacting eval` and `impacting summarise` from the command line, on real sample documents."""

import json
import re

import pytest

from impacting.cli import main
from impacting.evaluation import BenchmarkFileError, load_records, remove_section
from impacting_tests.conftest import SAMPLE

pytestmark = pytest.mark.slow


def _sample_text(key: str) -> str:
    issue = json.loads((SAMPLE / "issues" / f"{key}.json").read_text(encoding="utf-8"))
    attachment = issue["fields"]["attachment"][0]
    return (SAMPLE / "attachments" / attachment["id"] / attachment["filename"]).read_text(
        encoding="utf-8")


def _record(key: str) -> dict:
    text = _sample_text(key)
    summary = re.search(r"^## Summary\s*\n(.*?)(?=^## )", text, re.S | re.M).group(1).strip()
    return {"key": key, "title": key, "text": text, "reference_summary": summary,
            "word_count": len(text.split())}


def _write(path, keys):
    path.write_text("".join(json.dumps(_record(k)) + "\n" for k in keys), encoding="utf-8")
    return path


def test_remove_section_drops_the_summary_and_its_subsections_only():
    text = "# T\n\n## Summary\n\nSaid it.\n\n### Detail\n\nMore.\n\n## Motivation\n\nWhy.\n"
    assert remove_section(text) == "# T\n\n## Motivation\n\nWhy.\n"
    assert remove_section("# T\n\n## Summary\n\nOnly.") == "# T\n"
    assert remove_section("# T\n\nNo summary.") == "# T\n\nNo summary."


def test_a_bad_benchmark_file_names_the_line_and_the_fix(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": "A", "text": "x"}\nnot json\n')
    with pytest.raises(BenchmarkFileError, match=r"bad.jsonl:2: not JSON"):
        load_records(bad)
    bad.write_text('["A", "x"]\n')
    with pytest.raises(BenchmarkFileError, match=r":1: not a JSON object"):
        load_records(bad)
    bad.write_text('{"key": "A"}\n')
    with pytest.raises(BenchmarkFileError, match=r":1: missing text fields \['text'\]"):
        load_records(bad)
    with pytest.raises(BenchmarkFileError, match="no such file"):
        load_records(tmp_path / "nowhere.jsonl")


def test_eval_writes_nested_results_for_summary_and_speed(tmp_path, capsys):
    train = _write(tmp_path / "train.jsonl", ["KEP-1487", "KEP-1013"])
    # KEP-1013's own summary is under 20 words, so it is not scored.
    test = _write(tmp_path / "test.jsonl", ["KEP-1138", "KEP-1488", "KEP-1013"])
    out = tmp_path / "results" / "results.json"
    out.parent.mkdir()
    out.write_text(json.dumps({"teams": {"kept": True}}))

    assert main(["eval", "--train", str(train), "--test", str(test), "--out", str(out),
                 "--section", "summary", "--section", "speed"]) == 0
    results = json.loads(out.read_text())
    assert results["teams"] == {"kept": True}  # another stage's section survives
    summary = results["summary"]
    assert summary["n_docs"] == 2
    for scores in (summary, *summary["baselines"].values()):
        assert all(0 < scores[k] < 1 for k in ("rouge1", "rouge2", "rougeL"))
    assert {"lead", "lexrank"} <= set(summary["baselines"])
    speed = results["speed"]
    assert speed["language_words_per_second"] > 0 and speed["documents"] == 3
    assert speed["cache"] == "cold" and speed["texts_embedded"] > 0
    assert json.loads(capsys.readouterr().out)["summary"]["n_docs"] == 2

    assert main(["eval", "--train", str(train), "--test", str(test), "--out", str(out),
                 "--section", "nothing"]) == 2
    assert "unknown --section nothing" in capsys.readouterr().err


def test_summarise_a_file_at_the_length_asked_for(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IMPACTING_WAREHOUSE", str(tmp_path / "none" / "impacting.duckdb"))
    document = tmp_path / "design.md"
    document.write_text(_sample_text("KEP-1138"), encoding="utf-8")

    assert main(["summarise", str(document), "--words", "50", "--keywords", "4", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["document"] == "design.md" and result["degree"] == "50 words"
    assert 25 <= len(result["summary"].split()) <= 100
    assert len(result["keywords"]) == 4
    assert result["executive_summary"]

    assert main(["summarise", str(document), "--ratio", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "## Executive summary" in out and "ratio 0.2" in out and "## Keywords" in out

    assert main(["summarise", str(document), "--ratio", "2"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert main(["summarise", "KEP-9999"]) == 2
    assert "neither a file nor a request key" in capsys.readouterr().err
