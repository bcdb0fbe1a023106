"""When the history is too short to promise the target recall without asking most teams.

With a few dozen past requests the thresholds for 95% recall sit so low that most teams are
notified about every request: "everyone reads everything" is no triage at all. When the
cross-validated thresholds for the target would notify more than the reading budget allows,
the model says so (`HistorySupport`) and decides differently: within the reading budget per
request (teams notified + unsure), most likely first, it notifies the teams at or above the
best-F1 threshold (the teams it is fairly sure of) and asks the other teams the target recall
would have notified as `unsure`; the rest are not notified.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from impacting.triage.metrics import NOT_NOTIFIED, NOTIFY, UNSURE


@dataclass(frozen=True)
class HistorySupport:
    supports_target: bool
    past_requests: int
    teams: int
    target_recall: float
    notify_per_request_at_target: float   # cross-validated, with the target's thresholds
    reading_budget: float                 # share of the teams per request
    reading_cap: int                      # teams asked (notify + unsure) per request, at most

    def message(self) -> str:
        if self.supports_target:
            return (f"{self.past_requests} past requests support the {self.target_recall:.0%} recall "
                    f"target within the reading budget ({self.notify_per_request_at_target:.1f} of "
                    f"{self.teams} teams notified per request in cross-validation)")
        return (f"history too short for {self.target_recall:.0%} recall within the reading budget: "
                f"with {self.past_requests} past requests the target would notify "
                f"{self.notify_per_request_at_target:.1f} of {self.teams} teams per request, so only "
                f"likely teams are notified and up to {self.reading_cap} teams per request are asked "
                "to read (the rest of them as unsure)")

    def as_dict(self) -> dict:
        return asdict(self) | {"message": self.message()}


def reading_cap(reading_budget: float, teams: int) -> int:
    """Teams asked to read per request at most: the budget's share of the teams, at least one."""
    return max(1, int(math.floor(reading_budget * teams + 1e-9)))


def history_support(target_decisions: np.ndarray, past_requests: int, target_recall: float,
                    reading_budget: float) -> HistorySupport:
    """Whether the target's cross-validated decisions (requests x teams) fit the budget."""
    teams = target_decisions.shape[1]
    per_request = float((target_decisions == NOTIFY).sum(axis=1).mean()) if len(target_decisions) else 0.0
    return HistorySupport(
        supports_target=per_request <= reading_budget * teams + 1e-9,
        past_requests=past_requests, teams=teams, target_recall=target_recall,
        notify_per_request_at_target=per_request, reading_budget=reading_budget,
        reading_cap=reading_cap(reading_budget, teams),
    )


def capped_decisions(probabilities: np.ndarray, notify: np.ndarray, unsure: np.ndarray,
                     cap: int) -> np.ndarray:
    """Per request, most likely first and at most `cap` teams asked in all: NOTIFY where
    `notify` (boolean), then UNSURE where `unsure`; the rest NOT_NOTIFIED."""
    decisions = np.full(probabilities.shape, NOT_NOTIFIED, dtype=object)
    for i in range(len(probabilities)):
        order = np.argsort(-probabilities[i], kind="stable")
        asked = 0
        for j in order:
            if asked >= cap or not (notify[i, j] or unsure[i, j]):
                continue
            decisions[i, j] = NOTIFY if notify[i, j] else UNSURE
            asked += 1
    return decisions
