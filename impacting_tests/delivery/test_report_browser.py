"""The delivery report opened in headless Chromium, offline: every chart is drawn on screen.

Needs Debian's `chromium` (`make test` installs it through `make chromium`). When it is missing
the test fails and says how to install it; it is never skipped.
"""

from __future__ import annotations

import shutil
import subprocess

import matplotlib.image
import numpy as np
import pytest
from bs4 import BeautifulSoup

from impacting.delivery import charts

pytestmark = pytest.mark.slow

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=5000"]
WINDOW = (1280, 6000)
CHARTS = ("cumulative_flow", "throughput_wip", "cycle_time", "ageing_wip", "bottlenecks", "forecasts")
# A colour each chart draws over a sizeable area (see charts.py), and the least pixels of it
# among every fourth pixel of the screenshot.
SIGNATURES = {
    "cumulative flow, in progress": (charts.CATEGORY_COLOURS["indeterminate"], 3000),
    "cumulative flow, done": (charts.CATEGORY_COLOURS["done"], 5000),
    "throughput bars": (charts.THROUGHPUT_COLOUR, 2500),
    "cycle-time dots (3 stories)": (charts.CYCLE_COLOUR, 12),
    "ageing dot over p95 (1 story)": (charts.BAND_COLOURS["over p95"], 8),
    "waiting-status bars": (charts.WAITING_COLOUR, 4000),
    "active-status bars": (charts.ACTIVE_COLOUR, 2000),
    "forecast range": (charts.FORECAST_COLOUR, 4000),
}


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("headless Chromium is needed to check the delivery report but `chromium` is not "
                    "installed: run `make chromium` (as root: apt-get install -y "
                    "--no-install-recommends chromium), then run the tests again")
    return path


def offline_prefix() -> list[str]:
    """`unshare --net` where we may make a network namespace: the browser then has no network at
    all. Elsewhere the report's own check (no external URLs) still holds."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True).returncode == 0:
        return [unshare, "--net"]
    return []


@pytest.fixture(scope="module")
def opened(delivered, tmp_path_factory) -> tuple[np.ndarray, BeautifulSoup]:
    """The report opened once: its screenshot (pixels) and the page as the browser built it."""
    folder = tmp_path_factory.mktemp("chromium")
    screenshot = folder / "report.png"
    command = [*offline_prefix(), chromium(), *FLAGS, f"--user-data-dir={folder / 'profile'}",
               f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={screenshot}", "--dump-dom",
               delivered.report.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return matplotlib.image.imread(screenshot), BeautifulSoup(result.stdout, "html.parser")


def test_every_chart_renders_in_headless_chromium_without_network(opened):
    image, _ = opened
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])
    # Every other pixel each way is plenty to count colours, at a quarter of the work.
    pixels = (image[::2, ::2, :3] * 255).round().astype(np.int32).reshape(-1, 3)

    missing = {}
    for name, (colour, least) in SIGNATURES.items():
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        count = int((np.abs(pixels - rgb).max(axis=1) <= 6).sum())
        if count < least:
            missing[name] = count
    assert not missing, f"charts not drawn (pixels of their colour): {missing}"
    codes = pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2]
    assert len(np.unique(codes)) > 200  # not a blank page with a little text
    assert (pixels.min(axis=1) < 245).mean() > 0.05


def test_plotly_drew_each_chart_into_the_page(opened):
    _, page = opened
    for key in CHARTS:
        div = page.find(id=f"chart-{key}")
        assert div is not None, key
        # Plotly marks a div it has drawn into, and draws its data as SVG paths.
        assert "js-plotly-plot" in (div.get("class") or []), f"{key} was not drawn"
        assert len(div.select("svg.main-svg path")) > 5, f"{key} has no shapes"


def test_the_team_picker_shows_the_chosen_team_only_and_the_funnel_is_drawn(opened):
    _, page = opened
    options = [o["value"] for o in page.select("#team-pick option")]
    panels = page.select("#teams .team-panel")
    assert options and [p["data-team"] for p in panels] == options
    shown = [p["data-team"] for p in panels if not p.has_attr("hidden")]
    assert shown == [options[0]]  # the script ran: the first team is picked, the others hidden
    assert page.select_one("#funnel figure svg") is not None
