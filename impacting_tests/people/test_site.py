"""The site folder: its stable layout, links that resolve, and publishing in one step."""

import os
from pathlib import Path
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup

from impacting.people.gather import gather_brief
from impacting.people.paths import brief_page, safe_name, team_page
from impacting.people.render_markdown import brief_markdown
from impacting.people.site import KEEP_BUILDS, SiteFolder, SiteNotWritten
from impacting.people.site_pages import site_files
from impacting_tests.people.briefs_fixture import NOW, SCRIPT, inputs


def test_keys_and_team_names_become_stable_safe_file_names():
    assert brief_page("KEP-3136") == "briefs/KEP-3136.html"
    assert team_page("sig-storage") == "teams/sig-storage.html"
    odd = ["Ops/Platform", "Ops Platform", "Équipe données", "..", ".hidden", SCRIPT, "a" * 300]
    names = [safe_name(n) for n in odd]
    assert len(set(names)) == len(names)
    for name in names:
        assert name.replace("-", "").isalnum() and len(name) <= 80 and not name.startswith(".")
    assert safe_name("Équipe données").startswith("equipe-donnees-")
    assert safe_name("Ops/Platform") == safe_name("Ops/Platform")   # stable across runs


def _site(tmp_path: Path) -> Path:
    brief = gather_brief(inputs(), NOW)
    other = gather_brief(inputs(request={"key": "REQ-8", "summary": "Another", "created_at": None}), NOW)
    files = site_files([(brief, brief_markdown(brief)), (other, brief_markdown(other))],
                       ["sig-storage", "sig-quiet"], NOW.isoformat(), delivery=True, model="team model v1")
    files["delivery.html"] = "<!DOCTYPE html><title>delivery</title>"
    SiteFolder(tmp_path / "site").publish(files)
    return tmp_path / "site"


def test_the_layout_is_as_documented_and_every_link_resolves(tmp_path):
    site = _site(tmp_path)
    odd_team = f"teams/{safe_name(f'ops {SCRIPT}/x')}.html"
    for path in ("index.html", "delivery.html", "briefs/REQ-7.html", "briefs/REQ-7.md", "briefs/REQ-8.html",
                 "teams/sig-storage.html", "teams/sig-quiet.html", odd_team, "teams/sig-node.html"):
        assert (site / path).is_file(), path
    checked = 0
    for page in site.rglob("*.html"):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        assert soup.find("script") is None, page
        for anchor in soup.find_all("a"):
            href = anchor["href"]
            if href.startswith("https://"):
                continue
            target = (page.parent / unquote(href.split("#")[0])).resolve()
            assert target.is_file(), f"{page.relative_to(site)} links to missing {href}"
            checked += 1
    assert checked > 20
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.index("REQ-7") < index.index("REQ-8")   # newest first; no date goes last
    inbox = (site / "teams" / "sig-storage.html").read_text(encoding="utf-8")
    assert "REQ-7" in inbox and "Design" in inbox
    assert "Nothing for sig-quiet to read" in (site / "teams" / "sig-quiet.html").read_text(encoding="utf-8")


def test_publishing_switches_the_whole_site_in_one_step_and_keeps_the_delivery_report(tmp_path):
    folder = SiteFolder(tmp_path / "site")
    report = folder.page("delivery.html")           # the delivery step writes before any site
    report.write_text("report 1", encoding="utf-8")
    first = folder.publish({"index.html": "one"})
    assert (tmp_path / "site").is_symlink() and first.build.parent == tmp_path / ".site.versions"
    assert (tmp_path / "site" / "delivery.html").read_text() == "report 1"
    held = open(tmp_path / "site" / "index.html", encoding="utf-8")   # a reader mid-page
    second = folder.publish({"index.html": "two", "briefs/A.html": "a"})
    assert held.read() == "one"
    held.close()
    assert (tmp_path / "site" / "index.html").read_text() == "two"
    assert (tmp_path / "site" / "delivery.html").read_text() == "report 1"   # carried over
    assert os.readlink(tmp_path / "site") == os.path.relpath(second.build, tmp_path)
    for n in range(3):
        folder.publish({"index.html": f"run {n}"})
    assert len(list((tmp_path / ".site.versions").iterdir())) == KEEP_BUILDS
    assert not list(tmp_path.glob(".site.*.link"))


def test_a_folder_of_the_sites_own_files_is_taken_over_and_any_other_is_left_alone(tmp_path):
    own = tmp_path / "own"
    (own / "briefs").mkdir(parents=True)
    (own / "index.html").write_text("old", encoding="utf-8")
    SiteFolder(own).publish({"index.html": "new"})
    assert own.is_symlink() and (own / "index.html").read_text() == "new"

    foreign = tmp_path / "www"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"...")
    with pytest.raises(SiteNotWritten, match=r"^the site folder .*www holds files impacting did not "
                       r"write \(holiday.jpg\); .* set IMPACTING_SITE_DIR to a new or empty folder"):
        SiteFolder(foreign).publish({"index.html": "new"})
    assert (foreign / "holiday.jpg").exists() and not foreign.is_symlink()
    assert list((tmp_path / ".www.versions").iterdir()) == []   # the unused build is removed
