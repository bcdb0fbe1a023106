"""What a run left out, and why: one list across every stage, kept across runs.

Every step reports the items it could not use as problems written `item: reason` (a document
that cannot be read, an issue payload that cannot be parsed, a status with no category, ...);
the `rejects` table gathers them. A reject seen again keeps its first sighting and counts the
runs it was seen in; one that is no longer reported stays, marked inactive, so "what went wrong
last week" can still be answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from impacting.warehouse.tables import REJECTS


@dataclass(frozen=True)
class Reject:
    stage: str
    item: str
    reason: str

    @classmethod
    def from_problem(cls, stage: str, problem: str) -> Reject:
        """A problem written `item: reason` (the convention every step follows)."""
        item, separator, reason = problem.partition(": ")
        if not separator:
            return cls(stage, "(run)", problem)
        return cls(stage, item.strip(), reason.strip())


def merge_rejects(previous: pd.DataFrame, reported: Mapping[str, Iterable[Reject]],
                  now: datetime) -> pd.DataFrame:
    """The `rejects` table after a run in which the stages in `reported` said what they left out.
    Stages that did not run keep their rows as they were."""
    rows = {(row["stage"], row["item"]): dict(row) for row in previous.to_dict("records")}
    for stage, rejects in reported.items():
        current = {(r.stage, r.item): r for r in rejects}
        for key, row in rows.items():
            if key[0] == stage and key not in current:
                row["active"] = False
        for key, reject in current.items():
            before = rows.get(key)
            rows[key] = {
                "stage": reject.stage, "item": reject.item, "reason": reject.reason,
                "first_seen": before["first_seen"] if before is not None else now,
                "last_seen": now,
                "count": int(before["count"]) + 1 if before is not None else 1,
                "active": True,
            }
    return pd.DataFrame(list(rows.values()), columns=list(REJECTS.column_names))
