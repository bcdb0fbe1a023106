import gzip
import json

import pytest

from impacting.sources.issue_source import AttachmentUnavailable, SourceError
from impacting.sources.jira_export import ExportSource
from impacting.sources.jira_fields import parse_jira_time
from impacting_tests.conftest import raw_fixture_issues


def _issue(key, updated="2024-01-01T10:00:00.000+0000", **fields):
    return {"id": "1", "key": key, "fields": {"summary": key, "updated": updated, **fields}}


def test_reads_json_jsonl_gzip_and_search_responses(tmp_path):
    raw = raw_fixture_issues()
    (tmp_path / "one.json").write_text(json.dumps(raw[0]))
    (tmp_path / "list.json").write_text(json.dumps(raw[1:3]))
    (tmp_path / "search.json").write_text(json.dumps({"startAt": 0, "issues": raw[3:5]}))
    (tmp_path / "more.jsonl").write_text("\n".join(json.dumps(r) for r in raw[5:8]) + "\n\n")
    with gzip.open(tmp_path / "rest.jsonl.gz", "wt") as out:
        out.write("\n".join(json.dumps(r) for r in raw[8:]))
    source = ExportSource(tmp_path)
    issues = list(source.issues())
    assert sorted(i["key"] for i in issues) == sorted(r["key"] for r in raw)
    assert issues == sorted(issues, key=lambda i: (i["key"].split("-")[0], int(i["key"].split("-")[1])))
    assert source.problems == []
    # exactly as stored: the export yields Jira's own payloads, untouched
    assert next(i for i in issues if i["key"] == raw[0]["key"]) == raw[0]


def test_latest_version_of_a_key_wins(tmp_path):
    newer = _issue("P-1", "2024-01-02T00:00:00.000+0000", summary="new")
    older = _issue("P-1", "2024-01-01T00:00:00.000+0000", summary="old")
    (tmp_path / "a.jsonl").write_text(json.dumps(newer))
    (tmp_path / "b.jsonl").write_text(json.dumps(older))
    [issue] = ExportSource(tmp_path).issues()
    assert issue["fields"]["summary"] == "new"


def test_bad_lines_are_reported_by_file_and_line_and_the_rest_is_read(tmp_path):
    (tmp_path / "x.jsonl").write_text(
        json.dumps(_issue("P-1")) + "\n{not json\n" + json.dumps({"nokey": 1}) + "\n"
        + json.dumps(_issue("P-2")) + "\n")
    source = ExportSource(tmp_path)
    assert [i["key"] for i in source.issues()] == ["P-1", "P-2"]
    assert any("x.jsonl line 2" in p and "not JSON" in p for p in source.problems)
    assert any("x.jsonl line 3" in p and "'key'" in p for p in source.problems)


def test_updated_since_filters(tmp_path):
    (tmp_path / "x.jsonl").write_text("\n".join([
        json.dumps(_issue("P-1", "2024-01-01T00:00:00.000+0000")),
        json.dumps(_issue("P-2", "2024-03-01T00:00:00.000+0100")),
    ]))
    since = parse_jira_time("2024-02-01T00:00:00Z")
    assert [i["key"] for i in ExportSource(tmp_path).issues(since)] == ["P-2"]


def test_missing_or_empty_folder_says_what_to_set(tmp_path):
    with pytest.raises(SourceError, match="IMPACTING_EXPORT_DIR"):
        list(ExportSource(tmp_path / "nowhere").issues())
    with pytest.raises(SourceError, match="no .json"):
        list(ExportSource(tmp_path).issues())


def test_attachments_by_id_or_issue_key_and_never_outside_the_folder(tmp_path):
    (tmp_path / "attachments" / "77").mkdir(parents=True)
    (tmp_path / "attachments" / "77" / "design.md").write_bytes(b"# Design")
    (tmp_path / "attachments" / "P-9").mkdir()
    (tmp_path / "attachments" / "P-9" / "notes.txt").write_bytes(b"notes")
    (tmp_path / "secret.txt").write_bytes(b"do not read")
    source = ExportSource(tmp_path)
    assert source.attachment_content({"id": "77", "filename": "design.md", "issue_key": "P-1"}) == b"# Design"
    assert source.attachment_content({"id": "78", "filename": "notes.txt", "issue_key": "P-9"}) == b"notes"
    for hostile in ({"id": "..", "filename": "secret.txt", "issue_key": "P-1"},
                    {"id": "77", "filename": "../../secret.txt", "issue_key": "P-1"}):
        with pytest.raises(AttachmentUnavailable) as caught:
            source.attachment_content(hostile)
        assert caught.value.status == "missing"
    with pytest.raises(AttachmentUnavailable, match="attachments/79/"):
        source.attachment_content({"id": "79", "filename": "gone.pdf", "issue_key": "P-1"})


def test_an_exported_status_list_is_read_and_never_taken_for_issues(tmp_path):
    source = ExportSource(tmp_path)
    (tmp_path / "x.jsonl").write_text(json.dumps(_issue("P-1")))
    assert source.statuses() is None  # no list exported: delivery uses the issues' own statuses
    statuses = [{"id": "10", "name": "Review", "statusCategory": {"key": "indeterminate"}}]
    (tmp_path / "statuses.json").write_text(json.dumps(statuses))
    assert source.statuses() == statuses
    assert [i["key"] for i in source.issues()] == ["P-1"] and source.problems == []
    (tmp_path / "statuses.json").write_text('{"name": "Review"}')
    with pytest.raises(SourceError, match="GET /rest/api/2/status"):
        source.statuses()
