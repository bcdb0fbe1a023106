"""The impacting funnel: how fast each request reaches the right teams, and the reading it spares.

Per request (an issue without a parent), five moments:

1. **created** (`projects.created_at`);
2. **triaged**: its first team decision: the team model's first decisions for it
   (`internal.first_team_decisions`, kept for good because `team_predictions` is replaced every
   run), or its teams being confirmed if a person got there first;
3. **teams confirmed**: the earlier of a confirmation in `team_feedback` and the team field
   being filled in (`projects.teams_set_at`, from the changelog);
4. **work started**: the first of its delivery items (child issues at any depth) to enter an
   in-progress status (`delivery_issue_times.started_at`); a request without items counts from
   its own first in-progress status;
5. **done** (`delivery_issue_times.done_at` of the request).

And what triage spared: the teams asked to read it (notify + unsure at the first decision)
against every team the model knew, and the reading hours saved, for every known team not
asked: its readers × the request's words ÷ the reading speed.

The funnel is measured at the delivery tables' `as_of`, or at its newest event when that is
later: an export folder's `as_of` is the moment it was taken, but the model triages it at run time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from impacting.delivery.flow import DAY, iso_week, week_start
from impacting.settings import DeliverySettings
from impacting.triage.feedback import Feedback, load_feedback, training_teams
from impacting.warehouse.store import read_table
from impacting.warehouse.tables import (
    DOCUMENTS,
    FIRST_TEAM_DECISIONS,
    FUNNEL_STAGES,
    IMPACTING_FUNNEL,
    IMPACTING_FUNNEL_WEEKLY,
    PROJECTS,
    TEAM_PREDICTIONS,
)

CREATED, TRIAGED, CONFIRMED, STARTED, DONE = FUNNEL_STAGES
MODEL, PERSON = "model", "person"
TEAM_FIELD, FEEDBACK = "team field", "feedback"


@dataclass(frozen=True)
class FunnelInputs:
    """What the funnel reads besides the delivery tables."""

    projects: pd.DataFrame          # key, summary, project, parent_key, created_at, teams, teams_set_at
    predictions: pd.DataFrame       # this run's `team_predictions`
    decisions: pd.DataFrame         # `internal.first_team_decisions` so far
    feedback: list[Feedback]
    words: dict[str, int]           # request key → words of its description and documents


def read_inputs(con: duckdb.DuckDBPyConnection) -> FunnelInputs:
    projects = con.execute(
        f"SELECT key, summary, project, parent_key, created_at, teams, teams_set_at, "
        f"CASE WHEN trim(coalesce(description, '')) = '' THEN 0 "
        f"ELSE len(regexp_split_to_array(trim(description), '\\s+')) END AS description_words "
        f"FROM {PROJECTS.qualified}").df()
    documents = dict(con.execute(
        f"SELECT project_key, sum(word_count) FROM {DOCUMENTS.qualified} "
        f"WHERE extraction_status = 'ok' GROUP BY project_key").fetchall())
    words = {key: int(n) + int(documents.get(key) or 0)
             for key, n in zip(projects["key"], projects["description_words"], strict=True)}
    return FunnelInputs(projects, read_table(con, TEAM_PREDICTIONS), read_table(con, FIRST_TEAM_DECISIONS),
                        load_feedback(con), words)


def new_first_decisions(predictions: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
    """`first_team_decisions` rows for the requests `predictions` decides that `known` does not
    hold yet: the teams scored, notified and unsure, most likely first."""
    seen = set(known["request_key"]) if len(known) else set()
    rows = []
    if len(predictions):
        ordered = predictions.sort_values(["request_key", "rank"])
        for key, group in ordered.groupby("request_key", sort=True):
            if key in seen:
                continue
            rows.append({
                "request_key": key, "decided_at": group["predicted_at"].min(),
                "model_version": group["model_version"].iloc[0],
                "teams_scored": group["team"].tolist(),
                "teams_notified": group.loc[group["decision"] == "notify", "team"].tolist(),
                "teams_unsure": group.loc[group["decision"] == "unsure", "team"].tolist(),
            })
    return pd.DataFrame(rows, columns=list(FIRST_TEAM_DECISIONS.column_names))


def build_funnel(inputs: FunnelInputs, issue_times: pd.DataFrame, settings: DeliverySettings,
                 as_of: datetime) -> pd.DataFrame:
    """`impacting_funnel`: every request's five moments, the days between, and reading saved."""
    projects = inputs.projects
    requests = projects[projects["parent_key"].isna()]
    started = _moments(issue_times, "started_at")
    done = _moments(issue_times, "done_at")
    children: dict[str, list[str]] = defaultdict(list)
    for key, parent in zip(projects["key"], projects["parent_key"], strict=True):
        if isinstance(parent, str):
            children[parent].append(key)
    decisions = {row["request_key"]: row for row in inputs.decisions.to_dict("records")}
    field_teams = {k: tuple(t) if t is not None else () for k, t in zip(projects["key"], projects["teams"],
                                                                          strict=True)}
    teams_now = training_teams(field_teams, inputs.feedback)
    confirmations: dict[str, datetime] = {}
    for item in inputs.feedback:
        if item.confirmed and (item.request_key not in confirmations
                               or item.recorded_at < confirmations[item.request_key]):
            confirmations[item.request_key] = item.recorded_at

    rows = []
    for row in requests.to_dict("records"):
        key = row["key"]
        created = _stamp(row["created_at"])
        decision = decisions.get(key)
        decided = _stamp(decision["decided_at"]) if decision else None
        field_set = _stamp(row.get("teams_set_at"))
        feedback_at = confirmations.get(key)
        confirmed = min((t for t in (field_set, _stamp(feedback_at)) if t is not None), default=None)
        confirmed_by = None if confirmed is None else (TEAM_FIELD if confirmed == field_set else FEEDBACK)
        triaged = min((t for t in (decided, confirmed) if t is not None), default=None)
        triaged_by = None if triaged is None else (MODEL if decided is not None and decided == triaged
                                                   else PERSON)
        items = _descendants(key, children)
        work_started = min((started[k] for k in items if k in started), default=None) \
            if items else started.get(key)
        rows.append({
            "request_key": key, "summary": row.get("summary"), "project": row.get("project"),
            "created_at": created, "triaged_at": triaged, "triaged_by": triaged_by,
            "teams_confirmed_at": confirmed, "confirmed_by": confirmed_by,
            "work_started_at": work_started, "done_at": done.get(key),
            "teams_confirmed": list(teams_now.get(key, ())),
            "document_words": inputs.words.get(key, 0),
            **_reading(decision, inputs.words.get(key, 0), settings),
        })
    return _derived(pd.DataFrame(rows, columns=list(IMPACTING_FUNNEL.column_names)), as_of)


def _reading(decision: Mapping | None, words: int, settings: DeliverySettings) -> dict:
    if not decision:
        return {"teams_known": None, "teams_asked": None, "teams_notified": None, "teams_asked_list": [],
                "reading_hours_saved": None}
    scored = list(decision["teams_scored"])
    asked = [t for t in scored if t in set(decision["teams_notified"]) | set(decision["teams_unsure"])]
    readers = sum(settings.readers(team) for team in scored if team not in asked)
    return {"teams_known": len(scored), "teams_asked": len(asked),
            "teams_notified": len(decision["teams_notified"]), "teams_asked_list": asked,
            "reading_hours_saved": readers * words / settings.reading_words_per_minute / 60.0}


MOMENTS = ("created_at", "triaged_at", "teams_confirmed_at", "work_started_at", "done_at")


def _derived(frame: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Stage, the days between moments, the days in the current stage, and `as_of` (the delivery
    tables' as_of, or the newest moment when later)."""
    moments = list(MOMENTS)
    for column in moments:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    measured = max([pd.Timestamp(as_of), *(frame[c].max() for c in moments if frame[c].notna().any())])

    def between(start: str, end: str) -> pd.Series:
        return (frame[end] - frame[start]) / pd.Timedelta(DAY)

    frame["days_to_triage"] = between("created_at", "triaged_at")
    frame["days_to_confirm"] = between("triaged_at", "teams_confirmed_at")
    frame["days_to_start"] = between("teams_confirmed_at", "work_started_at")
    frame["days_to_done"] = between("work_started_at", "done_at")
    frame["lead_time_days"] = between("created_at", "done_at")
    reached = frame[moments].notna().to_numpy()
    furthest = reached.shape[1] - 1 - np.argmax(reached[:, ::-1], axis=1) if len(frame) else np.zeros(0, int)
    frame["stage"] = [FUNNEL_STAGES[i] for i in furthest]
    since = [frame[moments[i]].iloc[row] for row, i in enumerate(furthest)]
    frame["days_in_stage"] = [None if stage == DONE or pd.isna(at) else (measured - at) / pd.Timedelta(DAY)
                              for stage, at in zip(frame["stage"], since, strict=True)]
    frame["as_of"] = measured
    return frame[list(IMPACTING_FUNNEL.column_names)]


def weekly_funnel(funnel: pd.DataFrame) -> pd.DataFrame:
    """`impacting_funnel_weekly`: requests reaching each stage per ISO week, the median days to
    triage and to confirmation, reading hours saved, and requests awaiting triage at the week's end."""
    if not len(funnel):
        return pd.DataFrame(columns=list(IMPACTING_FUNNEL_WEEKLY.column_names))
    measured = pd.Timestamp(funnel["as_of"].iloc[0]).to_pydatetime()
    first = week_start(pd.Timestamp(funnel["created_at"].min()).to_pydatetime())
    weeks = [first + timedelta(weeks=i) for i in range((week_start(measured) - first).days // 7 + 1)]
    position = {day: i for i, day in enumerate(weeks)}

    def week_of(series: pd.Series) -> pd.Series:
        return series.map(lambda t: position.get(week_start(t.to_pydatetime())) if pd.notna(t) else None)

    frame = funnel.assign(**{f"_{c}": week_of(funnel[c]) for c in MOMENTS})
    confirm_days = (funnel["teams_confirmed_at"] - funnel["created_at"]) / pd.Timedelta(DAY)
    ends = np.array([np.datetime64(pd.Timestamp(d + timedelta(days=7)).to_datetime64()) for d in weeks])
    created = np.sort(funnel["created_at"].dt.tz_localize(None).to_numpy())
    triaged = np.sort(funnel["triaged_at"].dropna().dt.tz_localize(None).to_numpy())
    awaiting = np.searchsorted(created, ends, side="left") - np.searchsorted(triaged, ends, side="left")
    rows = []
    for i, day in enumerate(weeks):
        in_triage = frame["_triaged_at"] == i
        in_confirm = frame["_teams_confirmed_at"] == i
        rows.append({
            "week": iso_week(day), "week_start": day,
            "created": int((frame["_created_at"] == i).sum()),
            "triaged": int(in_triage.sum()),
            "triaged_by_model": int((in_triage & (frame["triaged_by"] == MODEL)).sum()),
            "teams_confirmed": int(in_confirm.sum()),
            "work_started": int((frame["_work_started_at"] == i).sum()),
            "done": int((frame["_done_at"] == i).sum()),
            "median_days_to_triage": _median(frame.loc[in_triage, "days_to_triage"]),
            "median_days_to_confirm": _median(confirm_days[in_confirm]),
            "reading_hours_saved": float(pd.to_numeric(frame.loc[in_triage, "reading_hours_saved"]).sum()),
            "awaiting_triage": int(awaiting[i]),
        })
    return pd.DataFrame(rows, columns=list(IMPACTING_FUNNEL_WEEKLY.column_names))


def funnel_counts(funnel: pd.DataFrame) -> list[tuple[str, int, float | None]]:
    """(stage, requests that reached it, median days from the stage before) for each stage."""
    gaps = {TRIAGED: "days_to_triage", CONFIRMED: "days_to_confirm", STARTED: "days_to_start",
            DONE: "days_to_done"}
    columns = {CREATED: "created_at", TRIAGED: "triaged_at", CONFIRMED: "teams_confirmed_at",
               STARTED: "work_started_at", DONE: "done_at"}
    return [(stage, int(funnel[columns[stage]].notna().sum()) if len(funnel) else 0,
             _median(funnel[gaps[stage]]) if stage in gaps and len(funnel) else None)
            for stage in FUNNEL_STAGES]


def _median(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.median()) if len(values) else None


def _moments(issue_times: pd.DataFrame, column: str) -> dict[str, datetime]:
    if not len(issue_times):
        return {}
    known = issue_times[issue_times[column].notna()]
    return {key: _stamp(at) for key, at in zip(known["key"], known[column], strict=True)}


def _descendants(key: str, children: Mapping[str, Sequence[str]]) -> list[str]:
    out, stack, seen = [], list(children.get(key, ())), {key}
    while stack:
        item = stack.pop()
        if item in seen:
            continue
        seen.add(item)
        out.append(item)
        stack.extend(children.get(item, ()))
    return out


def _stamp(value) -> datetime | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()
