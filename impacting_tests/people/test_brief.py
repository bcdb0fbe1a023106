"""A brief from row-shaped inputs: what it says, how it says an empty section is empty, and that
text from Jira or a document never becomes markup in its Markdown or HTML."""

import json

import pytest
from bs4 import BeautifulSoup

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
)
from impacting.people.gather import gather_brief
from impacting.people.render_html import brief_html
from impacting.people.render_markdown import brief_markdown
from impacting_tests.people.briefs_fixture import HOSTILE, IMG, NOW, SCRIPT, inputs
from impacting_tests.people.briefs_fixture import MODEL as MODEL_ROW


@pytest.fixture
def brief() -> Brief:
    return gather_brief(inputs(), NOW)


def test_the_brief_holds_the_request_its_teams_similar_projects_and_model(brief):
    assert (brief.key, brief.status, brief.created[:10]) == ("REQ-7", "Open", "2024-04-30")
    assert [t.team for t in brief.notified] == ["sig-storage"]
    assert [t.decision for t in brief.teams] == ["notify", "unsure", "not_notified"]
    storage = brief.notified[0]
    assert storage.similar == ("REQ-2",) and storage.sections[0].words == 300
    assert storage.section_share == 300 / 1200
    assert brief.read_from == (f"design {IMG}.md", "description")
    project = brief.similar[0]
    assert project.people == (f"Bob {SCRIPT}",) and project.took == "42 days from start to done"
    assert brief.documents[1].problem.startswith("no text layer")
    assert brief.model.cv_notify_recall == 0.95 and brief.generated_at.startswith("2024-05-02T09:30")
    assert set(brief.why_empty) == set()  # every section has something


def test_json_has_the_promised_keys_and_reads_back_the_same(brief):
    data = json.loads(json.dumps(brief.to_dict()))
    for key in ("executive_summary", "summary", "keywords", "teams", "similar", "model"):
        assert key in data
    assert {"team", "probability", "decision", "reason", "sections"} <= set(data["teams"][0])
    assert {"key", "title", "score", "teams", "people"} <= set(data["similar"][0])
    assert Brief.from_dict(data) == brief


def test_every_empty_section_says_why():
    brief = gather_brief(inputs(summaries={}, keywords=[], predictions=[], evidence={}, similar=[],
                                documents=[], model=None, past_projects=0), NOW)
    assert set(brief.why_empty) == {EXECUTIVE_SUMMARY, SUMMARY, KEYWORDS, TEAMS, UNSURE_TEAMS,
                                    OTHER_TEAMS, SIMILAR, DOCUMENTS, MODEL}
    assert "no description and no readable document" in brief.why_empty[EXECUTIVE_SUMMARY]
    assert "No team model yet" in brief.why_empty[TEAMS]
    assert "no past projects to compare with" in brief.why_empty[SIMILAR]
    assert "No design document is attached" in brief.why_empty[DOCUMENTS]
    page, markdown = brief_html(brief), brief_markdown(brief)
    for reason in brief.why_empty.values():
        assert " ".join(reason.split()[:6]) in BeautifulSoup(page, "html.parser").get_text(" ")
        assert reason.split()[0] in markdown
    # With past projects but none close enough, the cut-off is named.
    unusual = gather_brief(inputs(similar=[]), NOW)
    assert "No past project scored at least 0.17 (IMPACTING_SIMILAR_MIN_SCORE) among 40" in \
        unusual.why_empty[SIMILAR]
    unreadable = gather_brief(inputs(summaries={}, documents=[inputs().documents[1]]), NOW)
    assert "scan.pdf could not be read" in unreadable.why_empty[SUMMARY]


def test_hostile_text_is_inert_in_the_html_page(brief):
    page = brief_html(brief)
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find("script") is None and soup.find("img") is None
    assert not [tag for tag in soup.find_all(True) if any(a.startswith("on") for a in tag.attrs)]
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert hrefs and not [h for h in hrefs if not h.startswith(("https://", "../"))]
    text = soup.get_text(" ")
    assert SCRIPT in text and IMG in text and "javascript:alert(document.cookie)" in text
    # The similar project's javascript: address is shown as its key, not linked.
    assert "REQ-2" in text and "javascript:alert(1)" not in page
    assert "script-src" not in page and "default-src 'none'" in page


def test_hostile_text_is_inert_in_the_markdown(brief):
    from markdown_it import MarkdownIt

    markdown = brief_markdown(brief)
    rendered = MarkdownIt("commonmark").render(markdown)
    soup = BeautifulSoup(rendered, "html.parser")
    assert soup.find("script") is None and soup.find("img") is None
    assert [a["href"] for a in soup.find_all("a")] == ["https://jira.example.com/browse/REQ-7"]
    assert HOSTILE.split()[0] in soup.get_text(" ")


def test_a_team_page_link_and_a_standalone_page(brief):
    site_page = BeautifulSoup(brief_html(brief), "html.parser")
    assert site_page.find("a", string="sig-storage")["href"] == "../teams/sig-storage.html"
    alone = BeautifulSoup(brief_html(brief, root=None), "html.parser")
    assert alone.find("nav") is None and alone.find("a", string="sig-storage") is None


def test_a_history_too_short_for_the_target_is_said_above_the_teams_in_every_form():
    message = ("history too short for 95% recall within the reading budget: with 85 past requests the "
               "target would notify 14.2 of 21 teams per request")
    metrics = json.dumps({"history": {"supports_target": False, "message": message}})
    brief = gather_brief(inputs(model={**MODEL_ROW, "metrics": metrics}), NOW)
    assert brief.model.history_note == message
    markdown = brief_markdown(brief)
    teams = markdown.index("## Teams to read")
    assert teams < markdown.index("History too short for 95% recall") < markdown.index("## Unsure")
    page = BeautifulSoup(brief_html(brief), "html.parser")
    assert "History too short for 95% recall" in page.find(id=TEAMS).get_text()
    assert Brief.from_dict(json.loads(json.dumps(brief.to_dict()))) == brief
    supported = json.dumps({"history": {"supports_target": True, "message": "supports the target"}})
    assert gather_brief(inputs(model={**MODEL_ROW, "metrics": supported}), NOW).model.history_note is None
    assert "reading budget" not in brief_markdown(gather_brief(inputs(), NOW))
