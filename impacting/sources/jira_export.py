"""A folder of raw Jira issue JSON as an :class:`IssueSource`.

Layout (what a Jira export or a scripted dump of the REST API looks like)::

    <folder>/
      *.json                one issue, a list of issues, or a search response {"issues": [...]}
      *.jsonl, *.jsonl.gz   one issue per line
      attachments/<attachment id>/<file name>    (as in Jira's /secure/attachment/<id>/<name>)
      attachments/<issue key>/<file name>        (also accepted)

Files are read in name order (sub-folders too, except `attachments/`); when a key appears more
than once the version with the latest `updated` wins. A line or file that is not an issue is
skipped and reported in `problems`, naming the file and line.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from impacting.settings import var
from impacting.sources.issue_source import AttachmentUnavailable, SourceError
from impacting.sources.jira_fields import PayloadError, issue_key, parse_jira_time

ISSUE_FILE_SUFFIXES = (".json", ".jsonl", ".jsonl.gz")
# Optional, at the top of the folder: Jira's status list as `GET /rest/api/2/status` returns it.
STATUS_LIST_FILE = "statuses.json"


class ExportSource:
    kind = "export"
    complete = True

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.location = str(self.folder)
        self.problems: list[str] = []

    def issues(self, updated_since: datetime | None = None) -> Iterator[dict[str, Any]]:
        if not self.folder.is_dir():
            raise SourceError(
                f"export folder {self.folder} does not exist: set {var('source.export_dir')} to a folder "
                "of Jira issue JSON, or unset it to use the embedded sample"
            )
        self.problems = []
        latest: dict[str, dict[str, Any]] = {}
        for raw in self._payloads():
            key = raw["key"]
            if key in latest and _updated(latest[key]) > _updated(raw):
                continue
            latest[key] = raw
        for key in sorted(latest, key=_key_order):
            raw = latest[key]
            if updated_since is None or _updated(raw) >= updated_since:
                yield raw

    def attachment_content(self, attachment: dict[str, Any]) -> bytes:
        root = (self.folder / "attachments").resolve()
        name = PurePosixPath(str(attachment.get("filename") or "")).name
        tried = []
        for owner in (str(attachment.get("id") or ""), str(attachment.get("issue_key") or "")):
            if not owner or not name or owner in {".", ".."} or "/" in owner:
                continue
            candidate = (root / owner / name).resolve()
            if candidate.parent.parent != root:  # never step outside attachments/
                continue
            tried.append(str(candidate.relative_to(self.folder.resolve())))
            if candidate.is_file():
                return candidate.read_bytes()
        raise AttachmentUnavailable(
            "missing",
            f"attachment {attachment.get('id')} '{name}' is not in the export "
            f"(looked for {', '.join(tried) or 'a usable file name'}); copy it to "
            f"attachments/{attachment.get('id')}/ in the export folder",
        )

    def statuses(self) -> list[dict[str, Any]] | None:
        path = self.folder / STATUS_LIST_FILE
        if not path.is_file():
            return None
        try:
            found = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise SourceError(f"{STATUS_LIST_FILE} in {self.folder} is not readable JSON ({error}); "
                              "save Jira's GET /rest/api/2/status answer there, or remove it") from None
        if not isinstance(found, list):
            raise SourceError(f"{STATUS_LIST_FILE} in {self.folder} must be a JSON list of statuses, "
                              "as Jira's GET /rest/api/2/status returns")
        return [status for status in found if isinstance(status, dict)]

    def _payloads(self) -> Iterator[dict[str, Any]]:
        files = sorted(
            path for path in self.folder.rglob("*")
            if path.is_file() and path.name.endswith(ISSUE_FILE_SUFFIXES)
            and "attachments" not in path.relative_to(self.folder).parts[:-1]
            and path.relative_to(self.folder).as_posix() != STATUS_LIST_FILE
        )
        if not files:
            raise SourceError(
                f"export folder {self.folder} has no .json, .jsonl or .jsonl.gz files of Jira issues"
            )
        for path in files:
            where = str(path.relative_to(self.folder))
            try:
                if path.name.endswith(".json"):
                    yield from self._checked(_issues_in(_loads(path.read_text("utf-8"), where)), where)
                    continue
                opener = gzip.open if path.name.endswith(".gz") else open
                with opener(path, "rt", encoding="utf-8") as lines:
                    for number, line in enumerate(lines, start=1):
                        if not line.strip():
                            continue
                        try:
                            yield from self._checked([_loads(line, f"{where} line {number}")],
                                                     f"{where} line {number}")
                        except PayloadError as error:
                            self.problems.append(f"skipped {error}; fix or remove the line")
            except (OSError, EOFError, UnicodeDecodeError, PayloadError) as error:
                self.problems.append(f"{where}: {error}; fix or remove the file")

    def _checked(self, payloads: list[Any], where: str) -> Iterator[dict[str, Any]]:
        for number, raw in enumerate(payloads, start=1):
            place = where if len(payloads) == 1 else f"{where} item {number}"
            try:
                issue_key(raw, place)
                _updated(raw)
            except (PayloadError, ValueError) as error:
                self.problems.append(f"skipped {place}: {error}")
                continue
            yield raw


def _loads(line: str, where: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise PayloadError(f"{where} is not JSON ({error.msg} at column {error.colno})") from None


def _issues_in(document: Any) -> list[Any]:
    if isinstance(document, dict) and isinstance(document.get("issues"), list):
        return document["issues"]
    if isinstance(document, list):
        return document
    return [document]


def _updated(raw: dict[str, Any]) -> datetime:
    fields = raw["fields"]
    value = parse_jira_time(fields.get("updated") or fields.get("created"))
    if value is None:
        raise PayloadError(f"{raw['key']} has neither 'updated' nor 'created'")
    return value


def _key_order(key: str) -> tuple[str, int, str]:
    project, _, number = key.rpartition("-")
    return (project, int(number), key) if number.isdigit() else (key, 0, key)
