"""Build `projects` and `status_changes` from the stored raw payloads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from impacting.settings import var
from impacting.sources.jira_fields import project_row, status_changes

# Fields every request should have; one without them is kept, and reported.
EXPECTED_FIELDS = ("summary", "status", "created", "issuetype")


def build_projects(payloads: Iterable[tuple[str, str, str]], *, team_field: str,
                   base_url: str | None, document_counts: Mapping[str, int]
                   ) -> tuple[pd.DataFrame, list[str]]:
    """`projects` rows from (key, payload JSON, source) triples; unreadable ones are reported."""
    rows, problems = [], []
    for key, payload, source in payloads:
        try:
            issue = _load(payload)
            row = project_row(issue, team_field=team_field, base_url=base_url, source=source)
        except (ValueError, TypeError, AttributeError, RecursionError) as error:
            problems.append(f"{key}: payload could not be read ({error}); re-sync it with --full")
            continue
        fields = issue.get("fields") or {}
        missing = [name for name in EXPECTED_FIELDS if fields.get(name) in (None, "", {})]
        if missing:
            problems.append(f"{key}: Jira sent no {', '.join(missing)}; kept with those empty. "
                            "Check the issue in Jira, and that the token's user may see those fields")
        row["document_count"] = int(document_counts.get(key, 0))
        rows.append(row)
    known = {row["key"] for row in rows}
    for row in rows:
        outside = sorted({link["key"] for link in row.get("links") or [] if link.get("key") not in known})
        if outside:
            problems.append(f"{row['key']}: links to {', '.join(outside)}, outside the scope "
                            f"({var('source.jira_jql')} or the export); the links are kept but not "
                            "followed")
    return pd.DataFrame(rows), problems


def build_status_changes(payloads: Iterable[tuple[str, str, str]]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for _key, payload, _source in payloads:
        try:
            rows.extend(status_changes(_load(payload)))
        except (ValueError, TypeError, AttributeError, RecursionError):
            continue  # build_projects reports the same payload
    return pd.DataFrame(rows)


def _load(payload: str | dict[str, Any]) -> dict[str, Any]:
    return json.loads(payload) if isinstance(payload, str) else payload
