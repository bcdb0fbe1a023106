"""Per-epic roll-up and a Monte Carlo forecast of when its remaining children will be done.

The pace is the parent's own: how many of its children were finished in each of the last K
seven-day periods ending at `as_of` (only the periods since its first child was created: weeks
before there was any work on it say nothing about its pace). One trial replays the future week
by week, drawing each week's throughput at random (with replacement) from those observed weeks,
until the remaining children are done; 10,000 trials give a distribution of weeks. The *85%
date* is `as_of` plus the smallest number of weeks within which at least 85% of the trials
finished (nearest rank), read "85% of simulated futures finish on or before this date".

Each parent's random numbers come from (seed, parent key), so a run is reproducible and adding
one epic does not change another epic's forecast.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from impacting.delivery.categories import DONE, IN_PROGRESS
from impacting.delivery.flow import PERCENTILES, WEEK, IssueFlow, nearest_rank
from impacting.warehouse.tables import DELIVERY_FORECASTS

MAX_WEEKS = 520  # beyond ten years a forecast says nothing useful
BLOCK = 52


def simulate_weeks(remaining: int, weekly_throughput: Sequence[int], trials: int,
                   rng: np.random.Generator, max_weeks: int = MAX_WEEKS) -> np.ndarray:
    """Weeks each trial needs to finish `remaining` items; `max_weeks + 1` when it never does."""
    samples = np.asarray(weekly_throughput, dtype=np.int64)
    weeks = np.full(trials, max_weeks + 1, dtype=np.int64)
    if remaining <= 0:
        return np.zeros(trials, dtype=np.int64)
    if not len(samples) or samples.max() <= 0:
        return weeks
    done = np.zeros(trials, dtype=np.int64)
    pending = np.ones(trials, dtype=bool)
    for offset in range(0, max_weeks, BLOCK):
        size = min(BLOCK, max_weeks - offset)
        draws = samples[rng.integers(0, len(samples), size=(trials, size))]
        cumulative = done[:, None] + draws.cumsum(axis=1)
        reached = cumulative >= remaining
        finishes = pending & reached.any(axis=1)
        weeks[finishes] = offset + reached[finishes].argmax(axis=1) + 1
        pending &= ~finishes
        done = cumulative[:, -1]
        if not pending.any():
            break
    return weeks


def forecast_weeks(remaining: int, weekly_throughput: Sequence[int], trials: int,
                   rng: np.random.Generator) -> dict[int, int | None]:
    """Weeks to done at each percentile (None when that share of trials never finishes)."""
    weeks = simulate_weeks(remaining, weekly_throughput, trials, rng)
    out: dict[int, int | None] = {}
    for percentile in PERCENTILES:
        value = int(nearest_rank(weeks.tolist(), percentile))
        out[percentile] = value if value <= MAX_WEEKS else None
    return out


def parent_rng(seed: int, parent_key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(parent_key.encode("utf-8"))])


def weekly_throughput(done_times: Sequence[datetime], as_of: datetime, weeks: int,
                      since: datetime | None = None) -> list[int]:
    """Items done in each of the last `weeks` seven-day periods ending at `as_of`, oldest first.

    Period i covers (as_of - (weeks - i) * 7 days, as_of - (weeks - i - 1) * 7 days]. Periods
    that ended by `since` (when the work began) are left out.
    """
    if since is not None:
        weeks = min(weeks, max(1, -(-(as_of - since) // WEEK)))
    counts = [0] * weeks
    for moment in done_times:
        back = as_of - moment
        if back < timedelta(0):
            continue
        index = weeks - 1 - back // WEEK
        if 0 <= index < weeks:
            counts[index] += 1
    return counts


def rollup(flows: Sequence[IssueFlow], as_of: datetime, weeks: int, trials: int,
           seed: int) -> pd.DataFrame:
    """`delivery_forecasts`: one row per parent (epic) with children, and its forecast."""
    by_key = {flow.issue.key: flow for flow in flows}
    children: dict[str, list[IssueFlow]] = defaultdict(list)
    for flow in flows:
        if flow.issue.parent_key:
            children[flow.issue.parent_key].append(flow)
    rows = []
    for parent_key in sorted(children):
        kids = children[parent_key]
        parent = by_key.get(parent_key)
        done = [kid for kid in kids if kid.category == DONE]
        in_progress = sum(kid.category == IN_PROGRESS for kid in kids)
        remaining = len(kids) - len(done)
        history = weekly_throughput([kid.done_at for kid in done if kid.done_at], as_of, weeks,
                                    since=min(kid.issue.created_at for kid in kids))
        row = {
            "parent_key": parent_key,
            "summary": parent.issue.summary if parent else None,
            "status": parent.status if parent else None,
            "children": len(kids),
            "children_done": len(done),
            "children_in_progress": in_progress,
            "children_to_do": remaining - in_progress,
            "remaining": remaining,
            "window_weeks": weeks,
            "weekly_throughput": history,
            "trials": trials,
            "seed": seed,
            "as_of": as_of,
            "note": None,
        }
        if remaining == 0:
            row["note"] = "all children done"
        elif not sum(history):
            row["note"] = (f"no child finished in the last {len(history)} week(s), so there is no "
                           "pace to forecast from")
        else:
            forecast = forecast_weeks(remaining, history, trials, parent_rng(seed, parent_key))
            for percentile, value in forecast.items():
                row[f"p{percentile}_weeks"] = value
                row[f"p{percentile}_date"] = (as_of + value * WEEK).date() if value is not None else None
            if None in forecast.values():
                row["note"] = f"at this pace some futures take more than {MAX_WEEKS} weeks"
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(DELIVERY_FORECASTS.column_names))
    frame["as_of"] = pd.to_datetime(frame["as_of"], utc=True)
    return frame
