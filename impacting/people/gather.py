"""One request's brief from what the pipeline computed: a pure function of row-shaped inputs.

The nightly step slices the warehouse's tables per request (`people.nightly`), and `impacting
triage` computes the same rows for a draft (`people.on_demand`); both hand them to
:func:`gather_brief`, so a brief says the same thing whichever way it was made.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from impacting.people.brief import (
    DOCUMENTS,
    EXECUTIVE_SUMMARY,
    KEYWORDS,
    MODEL,
    OTHER_TEAMS,
    SIMILAR,
    SUMMARY,
    TEAMS,
    UNSURE_TEAMS,
    Brief,
    DocumentNote,
    ModelNote,
    SimilarBrief,
    TeamBrief,
)
from impacting.people.reading import TeamEvidence
from impacting.settings import var
from impacting.triage.metrics import NOTIFY, UNSURE


@dataclass(frozen=True)
class BriefInputs:
    """Everything the pipeline knows about one request, as rows of its tables."""

    request: Mapping[str, Any]                 # `projects` columns: key, summary, status, ...
    summaries: Mapping[str, Mapping[str, Any]]  # kind → `request_summaries` row
    part_names: Mapping[str, str]              # document id → how a reader knows it
    keywords: Sequence[str]
    predictions: Sequence[Mapping[str, Any]]   # `team_predictions` rows, most likely first
    evidence: Mapping[str, TeamEvidence]       # team → quotes and sections to read
    similar: Sequence[Mapping[str, Any]]       # `similar_projects` rows, best first
    durations: Mapping[str, Mapping[str, Any]]  # past project → `delivery_issue_times` row
    documents: Sequence[Mapping[str, Any]]     # `documents` rows of the request
    model: Mapping[str, Any] | None            # the accepted `models` row, if any
    past_projects: int                         # how many past projects there are to resemble
    min_score: float                           # the similar-project cut-off in force
    similar_note: str | None = None            # why no search could run, when it could not
    theme: str | None = None


def gather_brief(inputs: BriefInputs, generated_at: datetime) -> Brief:
    """The brief of one request; every empty section says why it is empty."""
    request = inputs.request
    key = str(request["key"])
    executive = inputs.summaries.get("executive") or {}
    standard = inputs.summaries.get("standard") or {}
    parts = strings(standard.get("parts")) or strings(executive.get("parts"))
    documents = tuple(_document(d) for d in inputs.documents)
    teams = tuple(_team(row, inputs) for row in inputs.predictions)
    similar = tuple(_similar(row, inputs.durations.get(str(row["similar_key"]))) for row in inputs.similar)
    model = _model(inputs.model)
    why: dict[str, str] = {}
    unreadable = [d for d in documents if d.status != "ok"]
    if not (executive.get("text") or "").strip():
        why[EXECUTIVE_SUMMARY] = why[SUMMARY] = _nothing_to_summarise(documents, unreadable)
    if not inputs.keywords:
        why[KEYWORDS] = ("Keywords come from design documents, and this request has no readable "
                         "one." if not any(d.status == "ok" for d in documents) else
                         "The documents are too short for keywords.")
    if model is None:
        why[TEAMS] = _no_model()
        why[UNSURE_TEAMS] = why[OTHER_TEAMS] = "No team model yet (see Teams to read)."
        why[MODEL] = "No team model yet."
    else:
        if not any(t.decision == NOTIFY for t in teams):
            why[TEAMS] = ("No team reached its notify threshold; see the unsure teams and the other "
                          "teams' probabilities below.")
        if not any(t.decision == UNSURE for t in teams):
            why[UNSURE_TEAMS] = "No team falls between its unsure and notify thresholds."
        if not any(t.decision not in (NOTIFY, UNSURE) for t in teams):
            why[OTHER_TEAMS] = "Every team the model knows is listed above."
    if not similar:
        why[SIMILAR] = inputs.similar_note or (
            "There are no past projects to compare with yet: no past request has a team."
            if not inputs.past_projects else
            f"No past project scored at least {inputs.min_score:g} "
            f"({var('triage.similar_min_score')}) among {inputs.past_projects}: nothing delivered "
            "before resembles this request closely.")
    if not documents:
        why[DOCUMENTS] = ("No design document is attached. Attach it to the Jira issue (Markdown, "
                          "PDF, Word, HTML or text) for a fuller brief.")
    return Brief(
        key=key, title=str(request.get("summary") or ""), url=_text(request.get("url")),
        status=_text(request.get("status")), created=_timestamp(request.get("created_at")),
        reporter=_text(request.get("reporter")),
        executive_summary=(executive.get("text") or "").strip(),
        summary=(standard.get("text") or "").strip(),
        summary_degree=str(standard.get("degree") or ""),
        read_from=tuple(inputs.part_names.get(p, p) for p in parts),
        words=int(_number(standard.get("request_words")) or 0),
        keywords=tuple(inputs.keywords), teams=teams, similar=similar, documents=documents,
        model=model, generated_at=generated_at.isoformat(timespec="seconds"), why_empty=why,
        theme=inputs.theme,
    )


def _team(row: Mapping[str, Any], inputs: BriefInputs) -> TeamBrief:
    team = str(row["team"])
    evidence = inputs.evidence.get(team)
    involved = tuple(str(s["similar_key"]) for s in inputs.similar if team in strings(s.get("teams")))
    return TeamBrief(
        team=team, probability=_number(row.get("probability")), decision=str(row["decision"]),
        threshold=_number(row.get("threshold")), unsure_threshold=_number(row.get("unsure_threshold")),
        reason=str(row.get("reason") or ""), decided_by=str(row.get("decided_by") or "model"),
        similar=involved,
        quotes=evidence.quotes if evidence else (),
        sections=evidence.sections if evidence else (),
        section_share=evidence.share if evidence and evidence.sections else None,
    )


def _similar(row: Mapping[str, Any], times: Mapping[str, Any] | None) -> SimilarBrief:
    people = tuple(dict.fromkeys(p for p in (_text(row.get("assignee")), _text(row.get("reporter")))
                                 if p))
    return SimilarBrief(
        key=str(row["similar_key"]), title=str(row.get("summary") or ""),
        score=float(row["score"]), teams=strings(row.get("teams")), people=people,
        url=_text(row.get("url")), status=_text(row.get("status")),
        resolution=_text(row.get("resolution")), took=_took(times),
        why=_text(row.get("closest_passages")))


def _took(times: Mapping[str, Any] | None) -> str | None:
    """How long a past project took, as delivery reporting measured it."""
    if not times:
        return None
    cycle, lead = _number(times.get("cycle_time_days")), _number(times.get("lead_time_days"))
    if cycle is not None:
        return f"{cycle:,.0f} days from start to done"
    if lead is not None:
        return f"{lead:,.0f} days from creation to done"
    return "not done yet" if times.get("status_category") != "done" else None


def _document(row: Mapping[str, Any]) -> DocumentNote:
    status = str(row.get("extraction_status") or "ok")
    return DocumentNote(name=str(row.get("file_name") or row.get("document_id") or "document"),
                        format=_text(row.get("format")),
                        words=int(_number(row.get("word_count")) or 0) if status == "ok" else None,
                        status=status,
                        problem=None if status == "ok" else _text(row.get("extraction_reason")))


def _model(row: Mapping[str, Any] | None) -> ModelNote | None:
    if not row:
        return None
    trained = row.get("trained_at")
    return ModelNote(version=str(row["version"]),
                     trained_at=None if _missing(trained) else pd.Timestamp(trained).isoformat(),
                     cv_notify_recall=_number(row.get("cv_notify_recall")),
                     history_note=_history_note(row.get("metrics")))


def _history_note(metrics: Any) -> str | None:
    """The model's statement that its history cannot support the recall target, if it made one."""
    if isinstance(metrics, str):
        try:
            metrics = json.loads(metrics)
        except ValueError:
            return None
    history = (metrics or {}).get("history") if isinstance(metrics, Mapping) else None
    if not isinstance(history, Mapping) or history.get("supports_target", True):
        return None
    return str(history.get("message") or "") or None


def _nothing_to_summarise(documents: Sequence[DocumentNote], unreadable: Sequence[DocumentNote]) -> str:
    text = "The request has no description and no readable document, so there is nothing to summarise."
    if unreadable:
        text += " " + ", ".join(d.name for d in unreadable) + " could not be read: see Documents."
    return text


def _no_model() -> str:
    return (f"No team model yet: no past request has its team field ({var('source.team_field')}) "
            f"filled in, or none was accepted. Fill it in on past requests, or drop decisions in "
            f"{var('triage.feedback_dir')}, and the next run trains one.")


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _number(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def _text(value: Any) -> str | None:
    return None if _missing(value) or str(value) == "" else str(value)


def _timestamp(value: Any) -> str | None:
    return None if _missing(value) else pd.Timestamp(value).isoformat()


def strings(value: Any) -> tuple[str, ...]:
    """A list column's value (a list, a NumPy array or missing) as a tuple of strings."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    return tuple(str(v) for v in value)
