"""What a raw Jira issue payload means: the `projects`, `status_changes` and attachment rows.

Works on the REST JSON exactly as Jira returns it (API v2 or v3, Cloud or Data Center), so the
export folder and the live connector share one interpretation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from impacting.sources.markup import description_to_text


class PayloadError(ValueError):
    """A payload lacks what every Jira issue has (a key, fields); the message names the item."""


def parse_jira_time(value: str | None) -> datetime | None:
    """Jira timestamps (`2015-01-31T10:25:00.000+0000`, `...Z`, dates) → aware UTC datetime."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Jira writes offsets without a colon (+0000); fromisoformat wants +00:00 on older Pythons.
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and "T" in text:
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def issue_key(raw: dict[str, Any], where: str = "") -> str:
    key = raw.get("key") if isinstance(raw, dict) else None
    if not isinstance(key, str) or not key or not isinstance(raw.get("fields"), dict):
        place = f" in {where}" if where else ""
        raise PayloadError(
            f"not a Jira issue{place}: expected an object with 'key' and 'fields' as returned by "
            "GET /rest/api/2/issue/KEY"
        )
    return key


def names(value: Any) -> list[str]:
    """Names out of whatever a team-like field holds: strings, options, components, teams."""
    if value is None:
        return []
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            for name in names(item):
                if name not in out:
                    out.append(name)
        return out
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        for field in ("name", "value", "title", "displayName", "key"):
            if isinstance(value.get(field), str) and value[field].strip():
                return [value[field].strip()]
    return []


def _person(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    identity = value.get("accountId") or value.get("name") or value.get("key")
    return value.get("displayName") or identity, identity


def _name(value: Any) -> str | None:
    return value.get("name") if isinstance(value, dict) else None


def browse_url(raw: dict[str, Any], base_url: str | None) -> str | None:
    """`<base>/browse/<key>`, the base taken from the configured URL or the payload's `self`."""
    base = base_url
    if not base and isinstance(raw.get("self"), str) and "/rest/api/" in raw["self"]:
        base = raw["self"].split("/rest/api/")[0]
    return f"{base.rstrip('/')}/browse/{raw['key']}" if base else None


def links(raw: dict[str, Any]) -> list[dict[str, str | None]]:
    out = []
    for link in raw["fields"].get("issuelinks") or []:
        kind = link.get("type") or {}
        for direction in ("outward", "inward"):
            other = link.get(f"{direction}Issue")
            if isinstance(other, dict) and other.get("key"):
                out.append({
                    "key": other["key"],
                    "type": kind.get("name"),
                    "direction": direction,
                    "relation": kind.get(direction),
                })
    return out


def project_row(raw: dict[str, Any], *, team_field: str = "components",
                base_url: str | None = None, source: str = "export") -> dict[str, Any]:
    """One `projects` row (without `document_count`, which the documents stage knows)."""
    key = issue_key(raw)
    fields = raw["fields"]
    status = fields.get("status") or {}
    assignee, assignee_id = _person(fields.get("assignee"))
    reporter, reporter_id = _person(fields.get("reporter"))
    parent = fields.get("parent") or {}
    return {
        "key": key,
        "issue_id": str(raw.get("id")) if raw.get("id") is not None else None,
        "project": (fields.get("project") or {}).get("key") or key.rsplit("-", 1)[0],
        "issue_type": _name(fields.get("issuetype")),
        "summary": fields.get("summary") or "",
        "description": description_to_text(fields.get("description")),
        "status": status.get("name"),
        "status_category": (status.get("statusCategory") or {}).get("key"),
        "resolution": _name(fields.get("resolution")),
        "priority": _name(fields.get("priority")),
        "created_at": parse_jira_time(fields.get("created")),
        "updated_at": parse_jira_time(fields.get("updated")),
        "resolved_at": parse_jira_time(fields.get("resolutiondate")),
        "teams": names(fields.get(team_field)),
        "teams_set_at": field_filled_at(raw, team_field),
        "components": names(fields.get("components")),
        "labels": names(fields.get("labels")),
        "assignee": assignee,
        "assignee_id": assignee_id,
        "reporter": reporter,
        "reporter_id": reporter_id,
        "parent_key": parent.get("key") if isinstance(parent, dict) else None,
        "links": links(raw),
        "url": browse_url(raw, base_url),
        "source": source,
    }


# How changelogs name the built-in team-like fields when an item carries no `fieldId` (Server).
_CHANGELOG_NAMES = {"components": "component", "labels": "labels"}


def field_filled_at(raw: dict[str, Any], field_id: str) -> datetime | None:
    """When the field `field_id` (a team field: components, labels or a custom field) was first
    filled in, from the changelog; the creation time when it was filled in at creation; None
    while it is empty.

    Components change one item per component added or removed, so the set at creation is found
    by undoing the changes from the current value; other fields change as a whole, so the value
    before the first change is the value at creation.
    """
    fields = raw["fields"]
    if not names(fields.get(field_id)):
        return None
    created = parse_jira_time(fields.get("created"))
    changes = sorted(
        ((parse_jira_time(history.get("created")), item)
         for history in (raw.get("changelog") or {}).get("histories") or []
         for item in history.get("items") or [] if _is_field(item, field_id)),
        key=lambda change: change[0] or datetime.min.replace(tzinfo=UTC))
    if not changes:
        return created
    if field_id != "components":
        if (changes[0][1].get("fromString") or "").strip():
            return created
        return next((at for at, item in changes if (item.get("toString") or "").strip()), created)
    present = set(names(fields.get(field_id)))
    for _at, item in reversed(changes):
        present.discard((item.get("toString") or "").strip())
        present.add((item.get("fromString") or "").strip())
    present.discard("")
    if present:
        return created
    for at, item in changes:
        present.discard((item.get("fromString") or "").strip())
        present.add((item.get("toString") or "").strip())
        present.discard("")
        if present:
            return at
    return created


def _is_field(item: dict[str, Any], field_id: str) -> bool:
    if item.get("fieldId"):
        return item["fieldId"] == field_id
    return (item.get("field") or "").lower() == _CHANGELOG_NAMES.get(field_id, field_id).lower()


def status_changes(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Status transitions from the payload's changelog, oldest first."""
    key = issue_key(raw)
    histories = (raw.get("changelog") or {}).get("histories") or []
    out = []
    for history in histories:
        for item in history.get("items") or []:
            if (item.get("field") or "").lower() != "status":
                continue
            out.append({
                "project_key": key,
                "changed_at": parse_jira_time(history.get("created")),
                "from_status": item.get("fromString"),
                "to_status": item.get("toString"),
                "author": _person(history.get("author"))[0],
                "history_id": str(history.get("id")) if history.get("id") is not None else None,
            })
    out.sort(key=lambda row: (row["changed_at"] or datetime.min.replace(tzinfo=UTC)))
    return out


def attachments(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The payload's attachment entries, each with the issue key added."""
    key = issue_key(raw)
    return [dict(entry, issue_key=key) for entry in raw["fields"].get("attachment") or []
            if isinstance(entry, dict) and entry.get("id") is not None]
