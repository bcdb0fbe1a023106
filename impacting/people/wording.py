"""The sentences a brief is read in, as plain text: both renderers use these, and escape them
for their format, so the Markdown and the HTML page say the same thing."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from impacting.people.brief import MODEL, Brief, SimilarBrief, TeamBrief
from impacting.people.reading import DESCRIPTION
from impacting.triage.metrics import NOTIFY, UNSURE

UNSURE_HELP = ("The model cannot tell for these teams. A person decides whether each reads the "
               "request; the decision (feedback) overrides the model and teaches it.")
SECTION_SEPARATOR = " › "


def probability(team: TeamBrief) -> str:
    return "named by a person" if team.probability is None else f"{team.probability:.2f}"


def decided_by(team: TeamBrief) -> str:
    return "a person (feedback)" if team.decided_by == "feedback" else "the model"


def why(team: TeamBrief) -> str:
    """One line: the probability against the team's thresholds, and the past projects behind it."""
    if team.decided_by == "feedback":
        return team.reason
    if team.decision == NOTIFY:
        head = f"Probability {team.probability:.2f}, at or above its notify threshold {team.threshold:.2f}."
    elif team.decision == UNSURE:
        head = (f"Probability {team.probability:.2f}, between its unsure threshold "
                f"{team.unsure_threshold:.2f} and its notify threshold {team.threshold:.2f}.")
    else:
        return f"Probability {team.probability:.2f}, below its unsure threshold {team.unsure_threshold:.2f}."
    if team.similar:
        return head + " Similar past projects it worked on: " + ", ".join(team.similar[:5]) + "."
    return head + " No similar past project involved it."


def document_name(name: str) -> str:
    return "the Jira description" if name == DESCRIPTION else name


def where(document: str, section: str) -> str:
    return document_name(document) + (SECTION_SEPARATOR + section if section else "")


def reading_place(team: TeamBrief) -> str:
    """"in design.md" when every section to read is in one document, else ""."""
    documents = {s.document for s in team.sections}
    return f"in {document_name(documents.pop())}" if len(documents) == 1 else ""


def section_items(team: TeamBrief) -> list[str]:
    """Each section to read, "Design Details › Topology (1,200 words)"; the document is named
    too when the sections are in several."""
    single = bool(reading_place(team))
    return [f"{(s.section or 'all of it') if single else where(s.document, s.section)} "
            f"({s.words:,} words)" for s in team.sections]


def reading_total(team: TeamBrief, brief: Brief) -> str:
    """"2,000 of 25,000 words of prose, 8%"."""
    total = sum(s.words for s in team.sections)
    share = f", {team.section_share:.0%}" if team.section_share is not None else ""
    return f"{total:,} of {brief.words:,} words of prose{share}"


def sections(team: TeamBrief, brief: Brief) -> str:
    """The sections to read in one line: "in design.md: Design Details › Topology (1,200
    words); Proposal (800 words). 2,000 of 25,000 words of prose, 8%"."""
    place = reading_place(team)
    return (f"{place + ': ' if place else ''}{'; '.join(section_items(team))}. "
            f"{reading_total(team, brief)}")


def others_summary(others: Sequence[TeamBrief]) -> str:
    known = [t for t in others if t.probability is not None]
    highest = max(known, key=lambda t: t.probability, default=None)
    tail = f" (the most likely: {highest.team}, {highest.probability:.2f})" if highest else ""
    return f"{len(others)} teams not asked to read{tail}"


def read_from(brief: Brief) -> str:
    names = [document_name(name) for name in brief.read_from]
    if not names:
        return ""
    main = names[0] + (" (the main design document)" if brief.read_from[0] != DESCRIPTION
                       and len(names) > 1 else "")
    rest = names[1:]
    listed = main if not rest else f"{main}, then {', '.join(rest)}"
    return f"Read from {listed}: {brief.words:,} words of prose."


def summary_note(brief: Brief) -> str:
    degree = f"Length: {brief.summary_degree} of the request" if brief.summary_degree.startswith("ratio") \
        else f"Length: {brief.summary_degree}"
    return f"{degree}. {read_from(brief)}"


def outcome(project: SimilarBrief) -> str:
    if project.status and project.resolution:
        return f"{project.status} ({project.resolution})"
    return project.status or "unknown"


def facts(brief: Brief) -> list[tuple[str, str]]:
    shown = [("Status", brief.status or "unknown"), ("Created", day(brief.created)),
             ("Reporter", brief.reporter or "not recorded")]
    if brief.theme:
        shown.append(("Theme", brief.theme))
    return shown


def day(value: str | None) -> str:
    return value[:10] if value else "unknown"


def timestamp(value: str | None) -> str:
    if not value:
        return "unknown"
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def history_warning(brief: Brief) -> str | None:
    """What the brief says above the teams when the history cannot support the recall target."""
    note = brief.model.history_note if brief.model is not None else None
    if not note:
        return None
    return (f"The team model says: {note[0].upper()}{note[1:]}. Read the unsure teams below as a "
            "ranked shortlist, most likely first; each decision you record teaches the model.")


def footer(brief: Brief) -> str:
    generated = f"Brief generated {timestamp(brief.generated_at)} by impacting."
    model = brief.model
    if model is None:
        return f"{brief.why_empty.get(MODEL, 'No team model.')} {generated}"
    recall = f"{model.cv_notify_recall:.0%}" if model.cv_notify_recall is not None else "not measured"
    return (f"Team model {model.version}, trained {timestamp(model.trained_at)}; cross-validated "
            f"notify recall {recall} (the share of impacted teams it notified on past requests it "
            f"had not learnt from). {generated}")
