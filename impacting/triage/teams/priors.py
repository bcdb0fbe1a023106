"""Each team's base rate as it stands for one request: drift and the request's own project.

A team's share of past requests is a poor prior when the mix of work drifts (a team that did
much five years ago and little since) or when requests come from several Jira projects whose
teams differ. The context prior of team t for request q is

    (sum over same-prefix past requests i of w_qi * y_it + m * g_qt) / (sum of those w_qi + m)

where w_qi = 0.5 ** (days between q and i / half-life) weighs nearby history more (for a new
request, the recent past), g_qt is the same weighted share over all past requests, and m
(`PREFIX_STRENGTH`) pulls a project with little history toward it. The prefix is the key's
letters before the number (`TIMOB` in `TIMOB-1234`); one prefix for all (KEPs) leaves g.
The calibrator reads the log of this prior beside each score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import numpy as np

from impacting.triage.corpus import Request

PREFIX_STRENGTH = 20.0
SMOOTHING = 0.5   # pseudo-examples per team, as in the plain base rate


def key_prefix(key: str) -> str:
    match = re.match(r"^([A-Za-z][A-Za-z0-9]*)-\d", key)
    return match.group(1).upper() if match else ""


def _days(requests: Sequence[Request]) -> np.ndarray:
    out = np.full(len(requests), np.nan)
    for i, request in enumerate(requests):
        if request.created:
            try:
                out[i] = date.fromisoformat(request.created[:10]).toordinal()
            except ValueError:
                pass
    return out


class ContextPriors:
    """Per-request team priors learned from past requests (see the module docstring)."""

    def __init__(self, half_life_days: float | None = None, prefix_strength: float = PREFIX_STRENGTH):
        self.half_life_days = half_life_days
        self.prefix_strength = prefix_strength
        self.days: np.ndarray | None = None
        self.prefixes: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.newest: float = np.nan

    def fit(self, requests: Sequence[Request], labels: np.ndarray) -> ContextPriors:
        self.days = _days(requests)
        self.prefixes = np.array([key_prefix(r.key) for r in requests])
        self.labels = labels.astype(np.float32)
        dated = self.days[np.isfinite(self.days)]
        self.newest = float(dated.max()) if len(dated) else np.nan
        return self

    def _weights(self, queries: Sequence[Request]) -> np.ndarray:
        n = len(self.labels)
        if self.half_life_days is None:
            return np.ones((len(queries), n))
        query_days = _days(queries)
        # An undated request is placed after the newest past one (it is new); an undated past
        # request counts as recent as the newest.
        query_days = np.where(np.isfinite(query_days), query_days, self.newest)
        past_days = np.where(np.isfinite(self.days), self.days, self.newest)
        gap = np.abs(query_days[:, None] - past_days[None, :])
        gap = np.where(np.isfinite(gap), gap, 0.0)
        return 0.5 ** (gap / self.half_life_days)

    def __call__(self, queries: Sequence[Request]) -> np.ndarray:
        """(len(queries), teams) priors in (0, 1)."""
        weights = self._weights(queries)
        totals = weights.sum(axis=1, keepdims=True)
        overall = (weights @ self.labels + SMOOTHING) / (totals + 1.0)
        if len(set(self.prefixes.tolist())) <= 1:
            return overall
        query_prefixes = np.array([key_prefix(r.key) for r in queries])
        same = (query_prefixes[:, None] == self.prefixes[None, :]) * weights
        same_totals = same.sum(axis=1, keepdims=True)
        m = self.prefix_strength
        return np.clip((same @ self.labels + m * overall) / (same_totals + m), 1e-6, 1 - 1e-6)
