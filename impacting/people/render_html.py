"""A brief as one self-contained HTML page, built from the :class:`Brief` data.

Nothing here renders Markdown: every piece of text from Jira or a document is escaped where it
is placed (`html_page.esc`), and only vetted addresses become links, so a document holding
`<script>`, `<img onerror=…>` or a `javascript:` link shows it as text.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from impacting.people.html_page import bar, esc, link, page, page_url, web_url
from impacting.people.paths import team_page


def brief_html(brief: Brief, root: str | None = "../") -> str:
    """The brief's whole page. `root`: the way to the site folder from the page (`"../"` for
    `briefs/<KEY>.html`), or None for a page on its own (`impacting triage --format html`):
    then nothing links into a site."""
    return page(f"{brief.key}: {brief.title}", brief_body(brief, root), root)


def brief_body(brief: Brief, root: str | None = "../") -> str:
    def team_link(team: str) -> str:
        return link(page_url(team_page(team), root) if root is not None else None, team)

    def section(anchor: str, key: str, title: str, body: str | None) -> str:
        """A section of the page: its content, or why it has none."""
        shown = body if body else f'<p class="empty">{esc(brief.why_empty.get(key, "Nothing to show."))}</p>'
        return f'<section id="{anchor}"><h2>{esc(title)}</h2>{shown}</section>'

    def teams(decision_teams, help_text: str = "") -> str | None:
        if not decision_teams:
            return None
        note = f'<p class="note">{esc(help_text)}</p>' if help_text else ""
        return note + "".join(_team(t, brief, team_link) for t in decision_teams)

    others = brief.others
    listing = ", ".join(f"{esc(t.team)} {wording.probability(t)}" for t in others)
    rows = "".join(f'<tr><td>{team_link(t.team)}</td><td class="num">{wording.probability(t)}</td>'
                   f"<td>{esc(wording.decided_by(t))}</td></tr>" for t in others)
    return "\n".join([
        _header(brief),
        section("summary-short", EXECUTIVE_SUMMARY, "In short", brief.executive_summary and (
            f'<p class="lead">{esc(brief.executive_summary)}</p>'
            f'<p class="note">{esc(wording.read_from(brief))}</p>')),
        section("keywords", KEYWORDS, "Keywords", brief.keywords and (
            '<ul class="chips">' + "".join(f"<li>{esc(k)}</li>" for k in brief.keywords) + "</ul>")),
        section(TEAMS, TEAMS, f"Teams to read ({len(brief.notified)})",
                _warned(teams(brief.notified), wording.history_warning(brief),
                        brief.why_empty.get(TEAMS, "Nothing to show."))),
        section(UNSURE_TEAMS, UNSURE_TEAMS, f"Unsure: a person decides ({len(brief.unsure)})",
                teams(brief.unsure, wording.UNSURE_HELP)),
        section("other-teams", OTHER_TEAMS, f"Other teams ({len(others)})", others and (
            f"<details><summary>{esc(wording.others_summary(others))}</summary><table>"
            "<thead><tr><th>Team</th><th>Probability</th><th>Decided by</th></tr></thead>"
            f'<tbody>{rows}</tbody></table></details><p class="print-only note">{listing}</p>')),
        section("similar", SIMILAR, "Similar past projects", brief.similar and _similar(brief)),
        section("summary", SUMMARY, "Summary", brief.summary and (
            f'<p class="note">{esc(wording.summary_note(brief))}</p><p>{esc(brief.summary)}</p>')),
        section("documents", DOCUMENTS, "Documents", brief.documents and _documents(brief)),
        f"<footer>{esc(wording.footer(brief))}</footer>",
    ])


def _warned(body: str | None, warning: str | None, empty: str) -> str | None:
    """A section's body with the model's warning above it (the empty reason when no body)."""
    if not warning:
        return body
    return f'<p class="note">{esc(warning)}</p>' + (body or f'<p class="empty">{esc(empty)}</p>')


def _header(brief: Brief) -> str:
    facts = [f"<span>{link(web_url(brief.url), brief.key)}</span>"]
    facts += [f"<span>{esc(label)}: {esc(value)}</span>" for label, value in wording.facts(brief)]
    return (f'<header><p class="kicker">Impact brief</p><h1>{esc(brief.title or brief.key)}</h1>'
            f'<p class="facts">{"".join(facts)}</p></header>')


def _team(team: TeamBrief, brief: Brief, team_link) -> str:
    quotes = "".join(
        f"<blockquote>{esc(q.text)}<cite>{esc(wording.where(q.document, q.section))}</cite></blockquote>"
        for q in team.quotes)
    read = reading_list(team, brief) if team.sections else ""
    return (f'<article class="team {esc(team.decision)}"><h3>{team_link(team.team)} '
            f'<span class="p">{wording.probability(team)}</span>{bar(team.probability)}</h3>'
            f"<p>{esc(wording.why(team))}</p>{read}{quotes}</article>")


def reading_list(team: TeamBrief, brief: Brief) -> str:
    """The sections a team should read, as a short list with what they add up to."""
    place = wording.reading_place(team)
    items = "".join(f"<li>{esc(item)}</li>" for item in wording.section_items(team))
    return (f'<div class="read"><b>Read</b> {esc(place)} <span class="note">'
            f"({esc(wording.reading_total(team, brief))})</span><ul>{items}</ul></div>")


def _similar(brief: Brief) -> str:
    # KEP-style histories record no people: then one note instead of a column of "not recorded".
    with_people = any(project.people for project in brief.similar)
    rows = []
    for project in brief.similar:
        why = f'<div class="note">{esc(project.why)}</div>' if project.why else ""
        teams = ", ".join(project.teams) or "none recorded"
        people = f"<td>{esc(', '.join(project.people) or 'not recorded')}</td>" if with_people else ""
        rows.append(
            f'<tr><td class="key">{link(web_url(project.url), project.key)}</td>'
            f"<td>{esc(project.title)}{why}</td>"
            f'<td class="num">{project.score:.2f}</td><td>{esc(teams)}</td>{people}'
            f"<td>{esc(wording.outcome(project))}</td><td>{esc(project.took or 'no delivery data')}</td>"
            "</tr>")
    people_head = "<th>Delivered by</th>" if with_people else ""
    note = "" if with_people else \
        '<p class="note">These past projects record no assignee or reporter.</p>'
    return (f"{note}<table><thead><tr><th>Project</th><th>Title</th><th>Score</th><th>Teams</th>"
            f"{people_head}<th>Outcome</th><th>Took</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _documents(brief: Brief) -> str:
    rows = []
    for document in brief.documents:
        state = "read" if document.status == "ok" else \
            f'<span class="problem">{esc(document.status)}: {esc(document.problem or "")}</span>'
        words = f"{document.words:,}" if document.words is not None else "–"
        rows.append(f"<tr><td>{esc(document.name)}</td><td>{esc(document.format or '')}</td>"
                    f'<td class="num">{words}</td><td>{state}</td></tr>')
    return ("<table><thead><tr><th>Document</th><th>Format</th><th>Words</th><th>State</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>")


def teams_line(teams: Sequence[TeamBrief], root: str, limit: int | None = None) -> str:
    """Teams as links to their inboxes, each with its probability, the first `limit` of them
    and how many more (for the index)."""
    shown = teams if limit is None else teams[:limit]
    line = ", ".join(f'<span class="team-name">{link(page_url(team_page(t.team), root), t.team)} '
                     f"{wording.probability(t)}</span>" for t in shown)
    more = len(teams) - len(shown)
    return line + (f' <span class="note">and {more} more</span>' if more > 0 else "")
