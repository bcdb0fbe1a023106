"""The site's index and its team inboxes, built from the briefs (see `people.paths` for the
layout). Same rules as the brief's page: text escaped where it is placed, links vetted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from impacting.people import wording
from impacting.people.brief import Brief, TeamBrief
from impacting.people.html_page import esc, link, page, page_url, web_url
from impacting.people.paths import DELIVERY, INDEX, brief_markdown, brief_page, team_page
from impacting.people.render_html import brief_html, reading_list, teams_line
from impacting.triage.metrics import NOTIFY, UNSURE

# Teams the index names per request and decision; the brief lists them all.
INDEX_TEAMS = 5


@dataclass(frozen=True)
class InboxItem:
    brief: Brief
    team: TeamBrief


def newest_first(briefs: Iterable[Brief]) -> list[Brief]:
    return sorted(briefs, key=lambda b: (b.created or "", b.key), reverse=True)


def inboxes(briefs: Sequence[Brief], teams: Iterable[str] = ()) -> dict[str, list[InboxItem]]:
    """Each team's inbox: the requests it is asked to read (notified first, then unsure; newest
    first). Every team in `teams` gets one, empty or not."""
    out: dict[str, list[InboxItem]] = {team: [] for team in teams}
    for brief in newest_first(briefs):
        for team in brief.teams:
            out.setdefault(team.team, [])
            if team.decision in (NOTIFY, UNSURE):
                out[team.team].append(InboxItem(brief, team))
    for items in out.values():
        items.sort(key=lambda item: item.team.decision != NOTIFY)  # stable: newest first within
    return dict(sorted(out.items(), key=lambda pair: pair[0].casefold()))


def index_page(briefs: Sequence[Brief], teams: dict[str, list[InboxItem]], generated: str,
               delivery: bool, model: str, insight: str = "") -> str:
    """`index.html`: the open requests, newest first, with their teams; the team inboxes; then
    `insight` (the funnel and the themes: HTML made and escaped by the stages that own them)."""
    rows = []
    for brief in newest_first(briefs):
        notified = teams_line(brief.notified, "", INDEX_TEAMS) or '<span class="empty">none</span>'
        unsure = teams_line(brief.unsure, "", INDEX_TEAMS) or '<span class="empty">none</span>'
        rows.append(
            f'<tr><td class="day">{esc(wording.day(brief.created))}</td>'
            f"<td>{link(page_url(brief_page(brief.key)), brief.key)}<br>{esc(brief.title)}</td>"
            f"<td>{notified}</td><td>{unsure}</td>"
            f"<td>{link(page_url(brief_page(brief.key)), 'page')} · "
            f"{link(page_url(brief_markdown(brief.key)), 'Markdown')} · "
            f"{link(web_url(brief.url), 'Jira')}</td></tr>")
    requests = ("<table><thead><tr><th>Created</th><th>Request</th><th>Teams to read</th>"
                "<th>Unsure (a person decides)</th><th>Brief</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>") if rows else \
        '<p class="empty">No request is awaiting triage: every open request has its teams.</p>'
    inbox_rows = "".join(
        f"<tr><td>{link(page_url(team_page(team)), team)}</td>"
        f'<td class="num">{sum(i.team.decision == NOTIFY for i in items)}</td>'
        f'<td class="num">{sum(i.team.decision == UNSURE for i in items)}</td></tr>'
        for team, items in teams.items())
    inbox_table = ("<table><thead><tr><th>Team</th><th>To read</th><th>Unsure</th></tr></thead>"
                   f"<tbody>{inbox_rows}</tbody></table>") if inbox_rows else \
        '<p class="empty">No team is known yet: no past request has a team.</p>'
    delivery_line = link(page_url(DELIVERY), "The delivery report") + " shows how work flows." \
        if delivery else "The delivery report appears here after the delivery step has run."
    body = (f'<header><p class="kicker">impacting</p><h1>Requests awaiting triage</h1>'
            f'<p class="facts"><span>{len(briefs)} open requests</span><span>{esc(model)}</span>'
            f"<span>Generated {esc(wording.timestamp(generated))}</span></p></header>"
            f'<p class="note">Each request has a one-page brief: what it is, which teams should '
            f"read it and which sections, similar past projects and who delivered them. "
            f"{delivery_line}</p>"
            f'<section id="requests"><h2>Open requests, newest first</h2>{requests}</section>'
            f'<section id="teams"><h2>Team inboxes</h2>{inbox_table}</section>'
            f"{insight}")
    return page("Requests awaiting triage", body, "")


def team_inbox_page(team: str, items: Sequence[InboxItem], generated: str) -> str:
    """`teams/<team>.html`: the requests this team is asked to read, and what to read of each."""
    if items:
        rows = []
        for item in items:
            brief, decision = item.brief, item.team
            read = reading_list(decision, brief) if decision.sections else \
                '<span class="empty">no section stands out: see the brief</span>'
            label = "to read" if decision.decision == NOTIFY else "unsure"
            rows.append(
                f'<tr><td class="day">{esc(wording.day(brief.created))}</td>'
                f"<td>{link(page_url(brief_page(brief.key), '../'), brief.key)}<br>{esc(brief.title)}</td>"
                f'<td><span class="tag {esc(decision.decision)}">{label}</span>'
                f'<span class="p">{wording.probability(decision)}</span></td><td>{read}</td></tr>')
        listing = ("<table><thead><tr><th>Created</th><th>Request</th><th>Decision</th>"
                   f"<th>Sections to read</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    else:
        listing = (f'<p class="empty">Nothing for {esc(team)} to read: no open request reached '
                   "its thresholds.</p>")
    notified = sum(i.team.decision == NOTIFY for i in items)
    body = (f'<header><p class="kicker">Team inbox</p><h1>{esc(team)}</h1>'
            f'<p class="facts"><span>{notified} to read</span><span>{len(items) - notified} unsure'
            f"</span><span>Generated {esc(wording.timestamp(generated))}</span></p></header>"
            f'<p class="note">Open requests the model asks {esc(team)} to read (or cannot decide '
            f"on: a person decides), newest first, with the sections that drive its score.</p>"
            f"{listing}")
    return page(f"{team}: inbox", body, "../")


def site_files(stored: Sequence[tuple[Brief, str]], teams: Iterable[str], generated: str,
               delivery: bool, model: str, insight: str = "") -> dict[str, str]:
    """Every page of the site (relative path → text) but the delivery report: the index, each
    brief as HTML and Markdown, and each team's inbox."""
    briefs = [brief for brief, _ in stored]
    inbox = inboxes(briefs, teams)
    files = {INDEX: index_page(briefs, inbox, generated, delivery, model, insight)}
    for brief, markdown in stored:
        files[brief_page(brief.key)] = brief_html(brief)
        files[brief_markdown(brief.key)] = markdown
    for team, items in inbox.items():
        files[team_page(team)] = team_inbox_page(team, items, generated)
    return files
