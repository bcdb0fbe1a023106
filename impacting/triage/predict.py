"""Triage of new requests: team decisions with reasons, and similar past projects.

:func:`triage` is what the nightly pipeline runs and what `impacting eval` measures: the same
model, thresholds and similarity search, so the evaluation's figures describe what users get.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from impacting.language.chunking import Chunk
from impacting.triage.corpus import Corpus
from impacting.triage.metrics import NOT_NOTIFIED, NOTIFY
from impacting.triage.similar import Match
from impacting.triage.teams import TeamModel, passage_support

PASSAGES_PER_REASON = 2
PASSAGE_CHARS = 140
# Quotes shorter than this rarely say anything on their own ("As described in CSI Migration,").
QUOTE_MIN_WORDS = 6
SIMILAR_PER_REASON = 3


@dataclass(frozen=True)
class TeamDecision:
    request_key: str
    team: str
    probability: float
    decision: str          # notify / unsure / not_notified
    threshold: float       # the team's notify threshold
    unsure_threshold: float
    reason: str
    decided_by: str = "model"   # or "feedback" when a person's verdict overrides the model


@dataclass(frozen=True)
class Verdict:
    """A person's decision on a (request, team), which overrides the model's."""

    confirmed: bool
    author: str | None = None
    recorded_at: str | None = None
    source: str | None = None


@dataclass
class TriageResult:
    probabilities: np.ndarray              # (requests, teams), calibrated
    decisions: np.ndarray                  # (requests, teams) of NOTIFY / UNSURE / NOT_NOTIFIED
    team_decisions: list[list[TeamDecision]]


def triage(model: TeamModel, requests: Corpus, matches: Sequence[Sequence[Match]] | None = None,
           pool_teams: Mapping[str, Sequence[str]] | None = None,
           verdicts: Mapping[tuple[str, str], Verdict] | None = None,
           explain: bool = True, template: frozenset[str] = frozenset()) -> TriageResult:
    """Decide, for each request, which teams to notify, and say why.

    `matches` are each request's similar past projects as the similarity search found them
    (the search runs once, elsewhere; this only cites them), `pool_teams` the teams of those
    past projects (to say which involved a team); `verdicts` are people's decisions by
    (request key, team), which win. Template sentences (the model's and `template`) are never
    quoted as a reason.
    """
    template = model.template | template
    probabilities = model.probabilities(requests)
    decisions = model.decide(probabilities)
    matches = matches if matches is not None else [[] for _ in requests.requests]
    pool_teams = pool_teams or {}
    verdicts = verdicts or {}
    note = model.history_note
    out: list[list[TeamDecision]] = []
    for i, request in enumerate(requests.requests):
        rows = []
        for j, team in enumerate(model.teams):
            verdict = verdicts.get((request.key, team))
            p = float(probabilities[i, j])
            if verdict is not None:
                decision = NOTIFY if verdict.confirmed else NOT_NOTIFIED
                decisions[i, j] = decision
                reason = verdict_reason(team, p, verdict)
            elif explain:
                reason = team_reason(
                    team, p, decisions[i, j], model.notify_thresholds[j], model.unsure_thresholds[j],
                    requests.passages[i], _support(model, requests.passage_vectors[i], team,
                                                   decisions[i, j]),
                    [(m.key, m.score) for m in matches[i] if team in pool_teams.get(m.key, ())],
                    by_vote=bool(model.rare[j]), template=template, note=note,
                )
            else:
                reason = ""
            rows.append(TeamDecision(request.key, team, p, str(decisions[i, j]),
                                     float(model.notify_thresholds[j]),
                                     float(model.unsure_thresholds[j]), reason,
                                     "feedback" if verdict is not None else "model"))
        out.append(rows)
    for (key, team), verdict in verdicts.items():  # a confirmed team the model has never seen
        position = requests.position(key)
        if position is not None and team not in model.teams and verdict.confirmed:
            out[position].append(TeamDecision(key, team, float("nan"), NOTIFY, float("nan"),
                                              float("nan"), verdict_reason(team, None, verdict),
                                              "feedback"))
    return TriageResult(probabilities, decisions, out)


def _support(model: TeamModel, passage_vectors: np.ndarray, team: str, decision: str) -> np.ndarray:
    if decision == NOT_NOTIFIED:
        return np.zeros(0)  # the reason for "not notified" is the probability alone
    return passage_support(model, passage_vectors, team)


def _quote(chunk: Chunk) -> str:
    text = chunk.text if len(chunk.text) <= PASSAGE_CHARS else chunk.text[:PASSAGE_CHARS - 1].rstrip() + "…"
    text = text.replace("'", "’")
    return f"'{text}'" + (f" ({chunk.section[-1]})" if chunk.section else "")


def supporting_passages(passages: Sequence[Chunk], support: np.ndarray,
                        template: frozenset[str] = frozenset(),
                        limit: int = PASSAGES_PER_REASON) -> list[int]:
    """Positions of the passages a reason quotes: those that push the score up most, template
    sentences left out, sentences of at least `QUOTE_MIN_WORDS` words preferred, each text once;
    a passage that pulls the score down only when nothing else is left."""
    chosen: list[int] = []
    if not len(support):
        return chosen
    seen: set[str] = set()
    ranked = [k for k in np.argsort(-support, kind="stable") if passages[k].sha256 not in template]
    quotable = [k for k in ranked if passages[k].words >= QUOTE_MIN_WORDS] or ranked
    for k in quotable:
        if len(chosen) >= limit or (support[k] <= 0 and chosen):
            break
        if passages[k].text not in seen:
            seen.add(passages[k].text)
            chosen.append(int(k))
    return chosen


def team_reason(team: str, probability: float, decision: str, threshold: float,
                unsure_threshold: float, passages: Sequence[Chunk], support: np.ndarray,
                similar: Sequence[tuple[str, float]], by_vote: bool = False,
                template: frozenset[str] = frozenset(), note: str | None = None) -> str:
    """Why a team is (not) notified, in words a team lead can check quickly.

    e.g. "sig-storage (p=0.83 ≥ 0.41): 'CSI drivers must report volume topology…' (Design
    Details); similar past projects KEP-557 (0.71), KEP-565 (0.64) involved sig-storage".
    `note` (the model's word on a history too short for its recall target) ends an unsure
    team's reason.
    """
    if decision == NOT_NOTIFIED:
        if probability >= unsure_threshold:   # a short history's reading cap was reached
            return (f"{team} (p={probability:.2f}): not notified: the reading budget went to likelier "
                    "teams")
        return f"{team} (p={probability:.2f} < {unsure_threshold:.2f}): not notified"
    if decision == NOTIFY:
        head = f"{team} (p={probability:.2f} ≥ {threshold:.2f})"
    else:
        head = f"{team} (p={probability:.2f}, unsure: between {unsure_threshold:.2f} and {threshold:.2f})"
    parts = [_quote(passages[k]) for k in supporting_passages(passages, support, template)]
    body = "; ".join(parts)
    if by_vote:
        body += ("; " if body else "") + f"few past projects of {team}: scored by the similar ones"
    if similar:
        projects = ", ".join(f"{key} ({score:.2f})" for key, score in similar[:SIMILAR_PER_REASON])
        body += ("; " if body else "") + f"similar past projects {projects} involved {team}"
    else:
        body += ("; " if body else "") + f"no similar past project involved {team}"
    if note and decision != NOTIFY:
        body += f"; {note}"
    return f"{head}: {body}"


def verdict_reason(team: str, probability: float | None, verdict: Verdict) -> str:
    who = verdict.author or "a reviewer"
    when = f" on {verdict.recorded_at[:10]}" if verdict.recorded_at else ""
    where = f" ({verdict.source})" if verdict.source else ""
    model = f"; the model said p={probability:.2f}" if probability is not None else ""
    return f"{team}: {'confirmed' if verdict.confirmed else 'rejected'} by {who}{when}{where}{model}"
