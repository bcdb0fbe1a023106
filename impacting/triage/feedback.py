"""People's decisions on (request, team): from a CSV drop folder and from Jira's team field.

A CSV file in the feedback folder (``triage.feedback_dir``) has a header row and one
decision per line::

    request,team,verdict,author,at,note
    KEP-3157,sig-storage,confirmed,alice,2024-05-02,owns the CSI part
    KEP-3157,sig-node,rejected,bob,,

``verdict`` is ``confirmed`` or ``rejected`` (also yes/no, true/false, 1/0); ``author``,
``at`` (ISO date) and ``note`` are optional. A bad line is reported with its file and line
number and skipped; the rest of the file still counts.

When a request the model triaged later gets its team field filled in Jira, that is feedback
too: its teams are confirmed, and teams the model notified that are not among them rejected.

Feedback is training data (confirmed teams are added to a request's teams, rejected ones
removed, so a request without a team field but with confirmations becomes a past example) and
overrides the model's decision for that request and team.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from impacting.settings import var
from impacting.warehouse.store import upsert_rows
from impacting.warehouse.tables import PROJECTS, TEAM_FEEDBACK, TEAM_PREDICTIONS

CSV_SOURCE = "csv"
JIRA_SOURCE = "jira"

_YES = {"confirmed", "confirm", "yes", "y", "true", "1", "impacted", "+"}
_NO = {"rejected", "reject", "no", "n", "false", "0", "not impacted", "-"}
_COLUMNS = {
    "request": ("request", "request_key", "key", "issue", "issue_key"),
    "team": ("team",),
    "verdict": ("verdict", "decision", "impacted"),
    "author": ("author", "by", "who"),
    "at": ("at", "date", "recorded_at", "when"),
    "note": ("note", "comment"),
}


@dataclass(frozen=True)
class Feedback:
    request_key: str
    team: str
    confirmed: bool
    source: str                 # "csv" or "jira"
    origin: str                 # file and line, or the Jira field
    author: str | None
    recorded_at: datetime
    note: str | None = None


def read_feedback_folder(folder: Path) -> tuple[list[Feedback], list[str]]:
    """Every decision in `folder`/*.csv (sorted by name) and the problems found.

    A missing folder is not an error: nobody has dropped feedback yet.
    """
    if not folder.exists():
        return [], []
    if not folder.is_dir():
        return [], [f"feedback folder {folder} is a file; set {var('triage.feedback_dir')} to a folder"]
    rows: list[Feedback] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.csv")):
        found, issues = read_feedback_csv(path)
        rows.extend(found)
        problems.extend(issues)
    return rows, problems


def read_feedback_csv(path: Path) -> tuple[list[Feedback], list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        return [], [f"{path.name}: could not be read ({error}); save it as UTF-8 CSV"]
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        return [], [f"{path.name}: empty file; add a header row: request,team,verdict,author,at,note"]
    names = [h.strip().lower() for h in header]
    columns = {}
    for field, aliases in _COLUMNS.items():
        columns[field] = next((names.index(a) for a in aliases if a in names), None)
    missing = [f for f in ("request", "team", "verdict") if columns[f] is None]
    if missing:
        return [], [f"{path.name}: no {', '.join(missing)} column; the header must name at least "
                    "request,team,verdict (optional: author,at,note)"]
    modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    rows: list[Feedback] = []
    problems: list[str] = []
    for line_number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue

        def get(field: str, row: list[str] = values) -> str:
            position = columns[field]
            return row[position].strip() if position is not None and position < len(row) else ""

        where = f"{path.name}:{line_number}"
        request, team, verdict = get("request"), get("team"), get("verdict").lower()
        if not request or not team:
            problems.append(f"{where}: request and team are both needed; line skipped")
            continue
        if verdict not in _YES | _NO:
            problems.append(f"{where}: verdict {get('verdict')!r} is not 'confirmed' or 'rejected'; "
                            "line skipped")
            continue
        at = get("at")
        try:
            recorded = _parse_time(at) if at else modified
        except ValueError:
            problems.append(f"{where}: date {at!r} is not an ISO date such as 2024-05-02; "
                            "line skipped")
            continue
        rows.append(Feedback(request, team, verdict in _YES, CSV_SOURCE, where,
                             get("author") or None, recorded, get("note") or None))
    return rows, problems


COMMAND_FILE = "command-line.csv"
HEADER = ("request", "team", "verdict", "author", "at", "note")


def append_decision(folder: Path, request: str, team: str, confirmed: bool, author: str | None,
                    note: str | None, at: datetime) -> Path:
    """Add one decision to the folder's `command-line.csv` (the `impacting feedback` command),
    so decisions typed at the command line take the same path as any dropped CSV file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / COMMAND_FILE
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(HEADER)
        writer.writerow([request, team, "confirmed" if confirmed else "rejected", author or "",
                         at.isoformat(), " ".join((note or "").split())])
    return path


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def jira_feedback(current_teams: Mapping[str, Sequence[str]],
                  previous_decisions: Iterable[tuple[str, str, str]],
                  field_name: str, now: datetime) -> list[Feedback]:
    """Feedback from requests the model triaged whose team field is now filled in.

    `previous_decisions` are (request key, team, decision) from the last triage; `current_teams`
    the team field of every request now.
    """
    notified: dict[str, set[str]] = {}
    triaged: set[str] = set()
    for key, team, decision in previous_decisions:
        triaged.add(key)
        if decision == "notify":
            notified.setdefault(key, set()).add(team)
    rows = []
    for key in sorted(triaged):
        teams = list(current_teams.get(key) or ())
        if not teams:
            continue
        origin = f"Jira field {field_name}"
        rows.extend(Feedback(key, team, True, JIRA_SOURCE, origin, None, now) for team in teams)
        rows.extend(Feedback(key, team, False, JIRA_SOURCE, origin, None, now)
                    for team in sorted(notified.get(key, set()) - set(teams)))
    return rows


def latest_verdicts(feedback: Iterable[Feedback]) -> dict[tuple[str, str], Feedback]:
    """The newest decision per (request, team); a person's CSV line beats Jira on a tie."""
    out: dict[tuple[str, str], Feedback] = {}
    for row in sorted(feedback, key=lambda f: (f.recorded_at, f.source == CSV_SOURCE)):
        out[(row.request_key, row.team)] = row
    return out


def training_teams(field_teams: Mapping[str, Sequence[str]],
                   feedback: Iterable[Feedback]) -> dict[str, tuple[str, ...]]:
    """Teams per request for training: the team field, plus confirmed, minus rejected teams.

    Only people's CSV decisions change labels (Jira's own field already is the label).
    """
    teams = {key: list(values) for key, values in field_teams.items()}
    for (key, team), row in latest_verdicts(f for f in feedback if f.source == CSV_SOURCE).items():
        current = teams.setdefault(key, [])
        if row.confirmed and team not in current:
            current.append(team)
        elif not row.confirmed and team in current:
            current.remove(team)
    return {key: tuple(values) for key, values in teams.items()}


# --- the warehouse side ------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedbackRun:
    csv_decisions: int
    jira_decisions_new: int
    problems: list[str]


def load_feedback(con: duckdb.DuckDBPyConnection) -> list[Feedback]:
    """Every decision recorded in `team_feedback`."""
    rows = con.execute(f"SELECT request_key, team, verdict, source, origin, author, recorded_at, note "
                       f"FROM {TEAM_FEEDBACK.qualified}").fetchall()
    return [Feedback(key, team, verdict == "confirmed", source, origin, author,
                     _utc(recorded_at), note)
            for key, team, verdict, source, origin, author, recorded_at, note in rows]


def _utc(value) -> datetime:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def feedback_rows(feedback: Sequence[Feedback]) -> pd.DataFrame:
    """`team_feedback` rows: the newest decision per (request, team, source)."""
    newest: dict[tuple[str, str, str], Feedback] = {}
    for row in sorted(feedback, key=lambda f: f.recorded_at):
        newest[(row.request_key, row.team, row.source)] = row
    return pd.DataFrame([{
        "request_key": f.request_key, "team": f.team,
        "verdict": "confirmed" if f.confirmed else "rejected", "source": f.source,
        "origin": f.origin, "author": f.author, "recorded_at": f.recorded_at, "note": f.note,
    } for f in newest.values()], columns=list(TEAM_FEEDBACK.column_names))


def record_feedback(con: duckdb.DuckDBPyConnection, folder: Path, team_field: str,
                    now: datetime) -> FeedbackRun:
    """Read the CSV folder and the team field of triaged requests into `team_feedback`. A
    decision Jira's field gave is recorded once: its first sighting is when it was decided."""
    from_csv, problems = read_feedback_folder(folder)
    current = dict(con.execute(f"SELECT key, teams FROM {PROJECTS.qualified}").fetchall())
    previous = con.execute(f"SELECT request_key, team, decision FROM {TEAM_PREDICTIONS.qualified}"
                           ).fetchall()
    already = set(con.execute(f"SELECT request_key, team FROM {TEAM_FEEDBACK.qualified} "
                              f"WHERE source = '{JIRA_SOURCE}'").fetchall())
    from_jira = [f for f in jira_feedback(current, previous, team_field, now)
                 if (f.request_key, f.team) not in already]
    upsert_rows(con, TEAM_FEEDBACK, feedback_rows([*from_csv, *from_jira]))
    return FeedbackRun(len(from_csv), len(from_jira), problems)


def verdicts_for(feedback: Iterable[Feedback]):
    """People's CSV decisions by (request, team), newest first, as overrides of the model."""
    from impacting.triage.predict import Verdict

    return {key: Verdict(f.confirmed, f.author, f.recorded_at.isoformat(), f.origin)
            for key, f in latest_verdicts(x for x in feedback if x.source == CSV_SOURCE).items()}
