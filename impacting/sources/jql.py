"""Composing the JQL the live connector sends: the configured scope, a time window, a key list.

Jira reads a JQL date such as `updated >= "2024/05/01 09:30"` to the minute, in the time zone
of the user the token belongs to. The helpers here turn a UTC instant into such a string that
never starts after the instant, so a window can only be too wide, never too narrow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# With no user time zone known, Jira may read the date in any zone from UTC-12 to UTC+14.
UNKNOWN_ZONE_MARGIN = timedelta(hours=14)

_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)


def without_order_by(jql: str) -> str:
    """`jql` without its `ORDER BY` clause (the connector sets its own order)."""
    outside = _unquoted_positions(jql)
    for match in _ORDER_BY.finditer(jql):
        if match.start() in outside:
            return jql[: match.start()].strip()
    return jql.strip()


def _unquoted_positions(jql: str) -> set[int]:
    positions: set[int] = set()
    quote: str | None = None
    escaped = False
    for index, char in enumerate(jql):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
            continue
        positions.add(index)
    return positions


def jql_time(instant: datetime, zone: ZoneInfo | None) -> str:
    """`yyyy/MM/dd HH:mm` in `zone` for a window starting at `instant`, floored to the minute.

    Floors (JQL has no seconds), steps back an hour where a daylight-saving change makes the
    wall-clock time ambiguous, and widens by 14 hours when the zone is unknown.
    """
    instant = instant.astimezone(UTC)
    if zone is None:
        return (instant - UNKNOWN_ZONE_MARGIN).strftime("%Y/%m/%d %H:%M")
    candidate = instant
    for _ in range(3):
        local = candidate.astimezone(zone).replace(second=0, microsecond=0)
        wall = local.replace(tzinfo=None)
        readings = {wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
        if max(readings) <= instant:
            return wall.strftime("%Y/%m/%d %H:%M")
        candidate -= timedelta(hours=1)
    return (instant - UNKNOWN_ZONE_MARGIN).strftime("%Y/%m/%d %H:%M")


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scoped(jql: str, *, updated_since: str | None = None, order: str = "updated DESC") -> str:
    """`(<scope>) AND updated >= "<since>" ORDER BY <order>`, leaving out what is empty."""
    clauses = []
    scope = without_order_by(jql)
    if scope:
        clauses.append(f"({scope})")
    if updated_since:
        clauses.append(f"updated >= {quoted(updated_since)}")
    return f"{' AND '.join(clauses)} ORDER BY {order}".strip()


def keys_in(keys: Sequence[str]) -> str:
    return f"key in ({', '.join(quoted(key) for key in keys)}) ORDER BY key ASC"
