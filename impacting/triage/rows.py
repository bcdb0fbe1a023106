"""Triage results ↔ warehouse rows (`similar_projects`, `team_predictions`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from impacting.triage.corpus import Corpus
from impacting.triage.predict import TriageResult
from impacting.triage.similar import Match, closest_passages
from impacting.warehouse.store import missing_as_none
from impacting.warehouse.tables import SIMILAR_PROJECTS


def similar_rows(waiting: Corpus, result_matches: Sequence[Sequence[Match]], pool: Corpus,
                 details: pd.DataFrame, teams_of: Mapping[str, Sequence[str]],
                 template: frozenset[str] = frozenset()) -> pd.DataFrame:
    """`similar_projects` rows; `template` (the index's template sentences) is never quoted."""
    rows = []
    for i, (request, matches) in enumerate(zip(waiting.requests, result_matches, strict=True)):
        for match in matches:
            past = details.loc[match.key]
            j = pool.position(match.key)
            why = closest_passages(waiting.passages[i], waiting.passage_vectors[i],
                                   pool.passages[j], pool.passage_vectors[j], template) \
                if j is not None else None
            rows.append({
                "request_key": request.key, "rank": match.rank, "similar_key": match.key,
                "score": match.score, "lexical_score": match.lexical,
                "semantic_score": match.semantic, "closest_passages": why,
                "probability": match.probability,
                "summary": past["summary"],
                "teams": list(teams_of.get(match.key, ())),
                "status": past["status"],
                **{column: missing_as_none(past[column]) for column in (
                    "assignee", "reporter", "resolution", "created_at", "resolved_at", "url")},
            })
    return pd.DataFrame(rows, columns=list(SIMILAR_PROJECTS.column_names))


def matches_from_rows(rows: pd.DataFrame, keys: Sequence[str]) -> list[list[Match]]:
    """Each request's similar past projects, read back from `similar_projects` rows."""
    found: dict[str, list[Match]] = {key: [] for key in keys}
    for row in rows.sort_values(["request_key", "rank"]).itertuples(index=False):
        if row.request_key in found:
            probability = getattr(row, "probability", None)
            found[row.request_key].append(Match(
                row.similar_key, int(row.rank), float(row.score), float(row.lexical_score),
                float(row.semantic_score), None if probability is None or pd.isna(probability)
                else float(probability)))
    return [found[key] for key in keys]


def prediction_rows(result: TriageResult, version: str, now: datetime) -> pd.DataFrame:
    rows = []
    for decisions in result.team_decisions:
        ordered = sorted(decisions, key=lambda d: (-np.nan_to_num(d.probability, nan=2.0), d.team))
        for rank, d in enumerate(ordered, start=1):
            rows.append({
                "request_key": d.request_key, "team": d.team, "rank": rank,
                "probability": None if math.isnan(d.probability) else d.probability,
                "decision": d.decision,
                "threshold": None if math.isnan(d.threshold) else d.threshold,
                "unsure_threshold": None if math.isnan(d.unsure_threshold) else d.unsure_threshold,
                "reason": d.reason, "decided_by": d.decided_by, "model_version": version,
                "predicted_at": now,
            })
    return pd.DataFrame(rows)


def triage_glance(predictions: pd.DataFrame, similar: pd.DataFrame, details: pd.DataFrame,
                  limit: int = 100) -> pd.DataFrame:
    """One line per request awaiting triage: its notified and unsure teams and its best
    matches, for a reader who wants the whole queue at once."""
    rows = []
    for key in list(dict.fromkeys(predictions["request_key"]))[:limit]:
        mine = predictions[predictions["request_key"] == key]

        def teams(decision: str, frame: pd.DataFrame = mine) -> str:
            chosen = frame[frame["decision"] == decision]
            return ", ".join(f"{t} ({p:.2f})" if p is not None and not pd.isna(p) else t
                             for t, p in zip(chosen["team"], chosen["probability"], strict=True))

        matches = similar[similar["request_key"] == key].head(3)
        rows.append({
            "request": key,
            "summary": details.loc[key, "summary"] if key in details.index else "",
            "notify": teams("notify") or "—",
            "unsure": teams("unsure") or "—",
            "similar": ", ".join(f"{k} ({s:.2f})" for k, s in
                                 zip(matches["similar_key"], matches["score"], strict=True)) or "none",
        })
    return pd.DataFrame(rows)
