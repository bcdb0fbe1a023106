"""A benchmark corpus (`*.bench.jsonl`) as a Jira export folder the pipeline reads.

Every record becomes one issue (summary = title, description = its reference summary or title,
components = its teams) with its text as a Markdown attachment, so the language stage reads it
as a design document. The newest share of the records are open requests awaiting triage (no
teams); the rest are past projects (Done, teams known). Copy `c` > 0 of the corpus gets new
keys (`KEP-689` → `KEPC1-689`) and lightly varied text (in every sentence of three words or more
two neighbouring words swap places, seeded by copy and key), so its sentences are new to the
embedding cache and the work scales with the copies, while its words stay the same.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from impacting.errors import ActionableError

JIRA = "https://jira.example.com"  # placeholder host: a benchmark export is not a real Jira
# Splits a line into sentence-like pieces (the variation only needs every piece to change).
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
KEY = re.compile(r"^([A-Za-z][A-Za-z0-9]*)-(\d+)")


class CorpusError(ActionableError, ValueError):
    """A benchmark file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class ExportSummary:
    """What was written: requests, of them awaiting triage, and words of text."""

    folder: Path
    requests: int
    awaiting: int
    words: int


def read_corpus(path: Path) -> list[dict]:
    """The records of a `*.bench.jsonl` file (read as `impacting eval` reads them), checked for
    the fields an export needs besides `key` and `text`."""
    from impacting.evaluation import load_records

    records = load_records(path)
    for number, record in enumerate(records, start=1):
        missing = [f for f in ("title", "created") if not record.get(f)]
        if missing:
            raise CorpusError(f"{path}: record {number} ({record['key']}) lacks {', '.join(missing)}: "
                              "the export needs a title and a creation date for every record")
    return records


def jira_key(bench_key: str, copy: int = 0) -> str:
    """`KEP-689-windows-gmsa` → `KEP-689` (copy 0) or `KEPC2-689` (copy 2)."""
    match = KEY.match(bench_key)
    if not match:
        raise CorpusError(f"benchmark key {bench_key!r} does not start like a Jira key (PROJECT-123)")
    project, number = match.group(1).upper(), match.group(2)
    return f"{project}{f'C{copy}' if copy else ''}-{number}"


def varied(text: str, seed: str) -> str:
    """`text` with two neighbouring words swapped in every sentence-like piece of 3+ words."""
    rng = random.Random(seed)
    lines = []
    for line in text.split("\n"):
        pieces = []
        for piece in SENTENCE_END.split(line):
            words = piece.split(" ")
            swappable = [i for i in range(len(words) - 1) if words[i] and words[i + 1]
                         and words[i] != words[i + 1]]
            if len([w for w in words if w]) >= 3 and swappable:
                at = rng.choice(swappable)
                words[at], words[at + 1] = words[at + 1], words[at]
            pieces.append(" ".join(words))
        lines.append(" ".join(pieces))
    return "\n".join(lines)


def awaiting_keys(records: list[dict], share: float) -> set[str]:
    """The newest `share` of the records (by created, then key), at least one."""
    ordered = sorted(records, key=lambda r: (r["created"], r["key"]))
    count = max(1, round(len(ordered) * share))
    return {r["key"] for r in ordered[-count:]}


def issues(records: list[dict], copies: int, awaiting: set[str]) -> Iterator[tuple[dict, str, str]]:
    """(issue JSON, attachment id, document text) for every record of every copy."""
    for copy in range(copies):
        for number, record in enumerate(records):
            key = jira_key(record["key"], copy)
            is_open = record["key"] in awaiting
            text = record["text"] if copy == 0 else varied(record["text"], f"{copy}:{record['key']}")
            attachment_id = str(1_000_000 * (copy + 1) + number)
            issue_id = str(2_000_000 * (copy + 1) + number)
            created = f"{record['created']}T09:00:00.000+0000"
            name = "document.md"
            links = [{"id": f"{issue_id}{n:03d}",
                      "type": {"id": "10003", "name": "Relates", "inward": "relates to",
                               "outward": "relates to"},
                      "outwardIssue": {"key": target, "self": f"{JIRA}/rest/api/2/issue/{target}"}}
                     for n, target in enumerate(sorted({jira_key(k, copy) for k in record.get("links") or []
                                                         if KEY.match(k)} - {key}))]
            status = ({"name": "Open", "statusCategory": {"id": 2, "key": "new", "name": "To Do"}}
                      if is_open else
                      {"name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}})
            fields = {
                "project": {"id": "10000", "key": key.split("-")[0], "name": key.split("-")[0]},
                "issuetype": {"id": "10000", "name": "Epic", "subtask": False},
                "summary": record["title"],
                "description": record.get("reference_summary") or record["title"],
                "components": [] if is_open else [{"name": t} for t in record.get("teams") or []],
                "status": status,
                "resolution": None if is_open else {"name": "Done"},
                "created": created, "updated": created,
                "resolutiondate": None if is_open else created,
                "issuelinks": links,
                "attachment": [{
                    "id": attachment_id, "self": f"{JIRA}/rest/api/2/attachment/{attachment_id}",
                    "filename": name, "created": created, "size": len(text.encode("utf-8")),
                    "mimeType": "text/markdown",
                    "content": f"{JIRA}/secure/attachment/{attachment_id}/{name}",
                }],
            }
            yield ({"id": issue_id, "key": key, "self": f"{JIRA}/rest/api/2/issue/{issue_id}",
                    "fields": fields}, attachment_id, text)


def write_export(records: list[dict], folder: Path, copies: int = 1,
                 awaiting_share: float = 0.1) -> ExportSummary:
    """Write `copies` copies of `records` as an export folder (`issues.jsonl`, `attachments/`)."""
    if copies < 1:
        raise CorpusError(f"--copies must be at least 1 (got {copies})")
    awaiting = awaiting_keys(records, awaiting_share)
    folder.mkdir(parents=True, exist_ok=True)
    count = words = 0
    with (folder / "issues.jsonl").open("w", encoding="utf-8") as out:
        for issue, attachment_id, text in issues(records, copies, awaiting):
            target = folder / "attachments" / attachment_id
            target.mkdir(parents=True, exist_ok=True)
            (target / "document.md").write_text(text, encoding="utf-8")
            out.write(json.dumps(issue, ensure_ascii=False) + "\n")
            count += 1
            words += len(text.split())
    return ExportSummary(folder, count, len(awaiting) * copies, words)
