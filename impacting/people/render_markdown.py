"""A brief as Markdown: `briefs/<KEY>.md` in the site, the `briefs.markdown` column, the
Dagster UI's preview and `impacting triage`'s default output.

Text from Jira or a document is escaped (:func:`md_text`) so that a Markdown viewer shows it
as written: no HTML tag, link, image or heading can come out of it.
"""

from __future__ import annotations

import re

from impacting.people import wording
from impacting.people.brief import (
    DOCUMENTS,
    EXECUTIVE_SUMMARY,
    KEYWORDS,
    OTHER_TEAMS,
    SIMILAR,
    SUMMARY,
    TEAMS,
    UNSURE_TEAMS,
    Brief,
    TeamBrief,
)
from impacting.people.html_page import web_url

# The characters that start Markdown or HTML syntax anywhere in a line (links and images need
# `[`, autolinks and tags `<`); CommonMark lets any of them be backslash-escaped to stand for
# itself. Parentheses, `!` and `|` only mean something next to these, and `&` only where it
# starts an entity (`&lt;`), so they stay readable.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#]|&(?=#?\w+;))")
_LINE_START = re.compile(r"^(\d+(?=[.)]\s|[.)]$)|(?=[-+=]))(.)")


def md_text(value) -> str:
    """Text shown literally by any CommonMark viewer, on one line."""
    text = " ".join(("" if value is None else str(value)).split())
    text = _SPECIAL.sub(r"\\\1", text)
    # At the start of a line, "-", "=" or "1." would begin a list, a rule or a heading underline.
    return _LINE_START.sub(r"\1\\\2", text)


def md_link(text: str, url: str | None) -> str:
    """A link only for an http(s) address (its parentheses encoded), else the text alone."""
    safe = web_url(url)
    if not safe:
        return md_text(text)
    return f"[{md_text(text)}](<{safe.replace('<', '%3C').replace('>', '%3E')}>)"


def brief_markdown(brief: Brief) -> str:
    """The whole brief as Markdown, in the page's order."""
    def empty(section: str) -> str:
        return f"_{md_text(brief.why_empty.get(section, 'Nothing to show.'))}_"

    lines = [f"# {md_text(brief.title or brief.key)}", ""]
    facts = [md_link(brief.key, brief.url)] + [f"{label}: {md_text(value)}"
                                              for label, value in wording.facts(brief)]
    lines += [" · ".join(facts), "", "## In short", ""]
    if brief.executive_summary:
        lines += [md_text(brief.executive_summary), "", f"_{md_text(wording.read_from(brief))}_"]
    else:
        lines.append(empty(EXECUTIVE_SUMMARY))
    lines += ["", "## Keywords", "",
              ", ".join(md_text(k) for k in brief.keywords) if brief.keywords else empty(KEYWORDS)]
    for section, title, teams in ((TEAMS, "Teams to read", brief.notified),
                                  (UNSURE_TEAMS, "Unsure: a person decides", brief.unsure)):
        lines += ["", f"## {title} ({len(teams)})", ""]
        if section == TEAMS and (warning := wording.history_warning(brief)):
            lines += [f"_{md_text(warning)}_", ""]
        if section == UNSURE_TEAMS and teams:
            lines += [f"_{md_text(wording.UNSURE_HELP)}_", ""]
        if not teams:
            lines.append(empty(section))
        for team in teams:
            lines += _team(team, brief)
    others = brief.others
    lines += ["", f"## Other teams ({len(others)})", ""]
    lines.append(", ".join(f"{md_text(t.team)} {wording.probability(t)}" for t in others)
                 if others else empty(OTHER_TEAMS))
    lines += ["", "## Similar past projects", ""]
    if not brief.similar:
        lines.append(empty(SIMILAR))
    for project in brief.similar:
        people = ", ".join(project.people) or "not recorded"
        teams = ", ".join(project.teams) or "none recorded"
        lines.append(f"- {md_link(project.key, project.url)} {md_text(project.title)} "
                     f"(score {project.score:.2f}). Teams: {md_text(teams)}. Delivered by: "
                     f"{md_text(people)}. Outcome: {md_text(wording.outcome(project))}. Took: "
                     f"{md_text(project.took or 'no delivery data')}.")
    lines += ["", "## Summary", ""]
    if brief.summary:
        lines += [f"_{md_text(wording.summary_note(brief))}_", "", md_text(brief.summary)]
    else:
        lines.append(empty(SUMMARY))
    lines += ["", "## Documents", ""]
    if not brief.documents:
        lines.append(empty(DOCUMENTS))
    for document in brief.documents:
        state = f"{document.words:,} words, read" if document.status == "ok" else \
            f"**{md_text(document.status)}**: {md_text(document.problem)}"
        lines.append(f"- {md_text(document.name)} ({md_text(document.format or 'unknown format')}): {state}")
    lines += ["", "---", "", f"_{md_text(wording.footer(brief))}_", ""]
    return "\n".join(lines)


def _team(team: TeamBrief, brief: Brief) -> list[str]:
    lines = [f"- **{md_text(team.team)}** ({wording.probability(team)}): {md_text(wording.why(team))}"]
    if team.sections:
        lines.append(f"  - Read {md_text(wording.sections(team, brief))}")
    for quote in team.quotes:
        lines.append(f"  - “{md_text(quote.text)}” ({md_text(wording.where(quote.document, quote.section))})")
    return lines
