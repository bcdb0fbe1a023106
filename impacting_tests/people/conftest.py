"""The nightly job on a small real export with hostile and empty requests added, run once for
the people tests (pipeline, browser, `impacting triage`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from impacting_tests.conftest import SAMPLE, copy_sample, failures, materialisations, run_pipeline

# Storage and API-policy proposals, and open requests resembling some of them (the triage
# tests' set), plus the requests added below.
PAST_KEPS = ["KEP-2923", "KEP-557", "KEP-603", "KEP-770", "KEP-2261", "KEP-1635", "KEP-2337",
             "KEP-1333", "KEP-986"]
OPEN_KEPS = ["KEP-1487", "KEP-3136", "KEP-3107"]
HOSTILE_KEY, EMPTY_KEY = "KEP-9001", "KEP-9002"
ODD_TEAM = "Ops <b>Platform</b>/Edge"
SCRIPT = "<script>alert('x')</script>"
IMG = "<img src=x onerror=alert(1)>"
HOSTILE_DOCUMENT = f"""# Hostile design {IMG}

## Summary {SCRIPT}

This proposal moves storage volume snapshots into a new controller that CSI drivers call.
A link that must never run: [click here](javascript:alert(document.cookie)) for details.
Encoded markup must stay text too: &lt;script&gt;alert('encoded')&lt;/script&gt; in a sentence.

## Design Details

The snapshot controller watches VolumeSnapshot objects and calls the CSI driver for each one.
Volume snapshots are restored by provisioning a new persistent volume from the snapshot.
<script>alert('raw')</script>
"""
FAST = {"IMPACTING_TRIAGE_CV_FOLDS": "2"}


@dataclass
class Briefed:
    root: Path
    warehouse: Path
    site: Path
    metadata: dict

    def query(self, sql: str) -> list:
        from impacting_tests.conftest import query

        return query(self.warehouse, sql)


def _issue(template: str, key: str, number: int, **fields) -> dict:
    issue = json.loads((SAMPLE / "issues" / f"{template}.json").read_text(encoding="utf-8"))
    issue.update({"key": key, "id": str(number), "changelog": {"histories": []}})
    issue["fields"].update(fields)
    return issue


def _attachment(export: Path, attachment_id: str, name: str, content: bytes, mime: str) -> dict:
    folder = export / "attachments" / attachment_id
    folder.mkdir(parents=True)
    (folder / name).write_bytes(content)
    return {"id": attachment_id, "filename": name, "created": "2022-02-01T09:00:00.000+0000",
            "size": len(content), "mimeType": mime,
            "content": f"https://jira.example.com/secure/attachment/{attachment_id}/{name}"}


def hostile_export(export: Path) -> Path:
    """The triage tests' export, plus a request full of hostile text (title, reporter, description,
    a document, a corrupt PDF), a request with nothing to read, and a team with an odd name."""
    copy_sample(export, PAST_KEPS + OPEN_KEPS)
    hostile = _issue("KEP-3136", HOSTILE_KEY, 909001, summary=f"Snapshots {SCRIPT}",
                     description=f"Snapshot work {IMG} [x](javascript:alert(1)).",
                     reporter={"displayName": f"Mallory {IMG}", "name": "mallory"},
                     created="2022-02-01T09:00:00.000+0000", updated="2022-02-01T09:00:00.000+0000",
                     attachment=[
                         _attachment(export, "909101", f"design {IMG}.md", HOSTILE_DOCUMENT.encode(),
                                     "text/markdown"),
                         _attachment(export, "909102", "broken.pdf", b"%PDF-1.4 not really a pdf",
                                     "application/pdf")])
    empty = _issue("KEP-3136", EMPTY_KEY, 909002, summary="A request with nothing written yet",
                   description=None, attachment=[], created="2022-02-02T09:00:00.000+0000",
                   updated="2022-02-02T09:00:00.000+0000")
    for issue in (hostile, empty):
        (export / "issues" / f"{issue['key']}.json").write_text(json.dumps(issue), encoding="utf-8")
    past = export / "issues" / "KEP-557.json"
    issue = json.loads(past.read_text(encoding="utf-8"))
    issue["fields"]["components"].append({"name": ODD_TEAM})
    past.write_text(json.dumps(issue), encoding="utf-8")
    return export


@pytest.fixture(scope="session")
def briefed(tmp_path_factory) -> Briefed:
    root = tmp_path_factory.mktemp("briefed")
    warehouse = root / "wh" / "impacting.duckdb"
    result = run_pipeline(hostile_export(root / "export"), warehouse, **FAST)
    assert result.success, failures(result)
    return Briefed(root, warehouse, root / "wh" / "site", materialisations(result))
