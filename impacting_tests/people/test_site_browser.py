"""The site opened in headless Chromium, offline: the index, a brief full of hostile text and a
team inbox render, every link leads to a file of the site, and no text from Jira or a document
became markup. Needs Debian's `chromium` (`make chromium`); never skipped."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import matplotlib.image
import numpy as np
import pytest
from bs4 import BeautifulSoup

from impacting.people.paths import brief_page, team_page
from impacting_tests.delivery.test_report_browser import FLAGS, chromium, offline_prefix
from impacting_tests.people.conftest import HOSTILE_KEY, IMG, ODD_TEAM, SCRIPT

pytestmark = pytest.mark.slow

PAGES = {"index": "index.html", "brief": brief_page(HOSTILE_KEY), "team": team_page(ODD_TEAM)}


@pytest.fixture(scope="module")
def opened(briefed, tmp_path_factory) -> dict[str, tuple[np.ndarray, BeautifulSoup]]:
    """Each page opened once: its screenshot and the page as the browser built it."""
    folder = tmp_path_factory.mktemp("site-browser")
    out = {}
    for name, path in PAGES.items():
        screenshot = folder / f"{name}.png"
        command = [*offline_prefix(), chromium(), *FLAGS, f"--user-data-dir={folder / 'profile'}",
                   "--window-size=1100,1600", f"--screenshot={screenshot}", "--dump-dom",
                   (briefed.site / path).resolve().as_uri()]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"chromium failed on {path}: {result.stderr[-2000:]}"
        out[name] = (matplotlib.image.imread(screenshot), BeautifulSoup(result.stdout, "html.parser"))
    return out


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_renders(opened, name):
    image, page = opened[name]
    pixels = (image[::2, ::2, :3] * 255).round().astype(np.int32).reshape(-1, 3)
    # Text and coloured blocks, not a blank page: dark pixels and many distinct colours.
    assert (pixels.max(axis=1) < 120).mean() > 0.002, f"{name} looks blank"
    assert len(np.unique(pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2])) > 50
    assert page.find("h1") is not None and page.find("h1").get_text(strip=True)


@pytest.mark.parametrize("name", list(PAGES))
def test_every_link_leads_to_a_file_of_the_site(opened, briefed, name):
    _, page = opened[name]
    here = (briefed.site / PAGES[name]).parent
    local = 0
    for anchor in page.find_all("a"):
        parts = urlsplit(anchor["href"])
        assert parts.scheme in ("", "https", "file"), anchor["href"]
        if parts.scheme == "https":
            continue
        target = Path(unquote(parts.path)) if parts.scheme == "file" else here / unquote(parts.path)
        assert target.resolve().is_file(), f"{PAGES[name]} links to a missing {anchor['href']}"
        local += 1
    assert local >= 3


@pytest.mark.parametrize("name", list(PAGES))
def test_text_from_jira_and_documents_stays_text(opened, name):
    _, page = opened[name]
    assert page.find("script") is None and page.find("img") is None
    assert not [(tag.name, attribute) for tag in page.find_all(True) for attribute in tag.attrs
                if attribute.startswith("on")]
    assert not [a["href"] for a in page.find_all("a") if a["href"].lower().startswith("javascript")]


def test_the_hostile_brief_shows_its_markup_as_written(opened):
    _, page = opened["brief"]
    text = page.get_text(" ")
    assert SCRIPT in text and IMG in text
    assert "<script>alert('encoded')</script>" in text or "click here" in text
    notified = page.select("#teams article.team")
    assert notified and all(a.select_one("h3 a") for a in notified)
    _, inbox = opened["team"]
    assert ODD_TEAM in inbox.find("h1").get_text()
