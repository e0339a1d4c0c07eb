"""The HTML report in a real browser: headless Chromium (Debian's) driven by selenium.

Needs the ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them); the
tests skip, saying so, when either is missing.
"""

from __future__ import annotations

import contextlib
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import storsim
from storsim.report import sweep_report

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')"
)

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WIDTH, HEIGHT = 1280, 1600

# True when every plot div holds plotly's drawn <svg class="main-svg">.
ALL_DRAWN_JS = """
const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
return [plots.length, plots.filter(p => p.querySelector('svg.main-svg')).length];
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, its console log kept."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            pytest.skip(f"{path} not found: install Debian's {package} (see .ci/run)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers have a tiny /dev/shm
        "--disable-background-networking",  # the report must need no network at all
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def load(browser: Any, page: Path) -> tuple[int, int]:
    """Open a report and wait until its plots are drawn; returns ``(plots, drawn)``."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page.as_uri())
    with contextlib.suppress(TimeoutException):  # the caller's assertion says what is missing
        WebDriverWait(browser, 30).until(
            lambda d: (c := d.execute_script(ALL_DRAWN_JS))[0] > 0 and c[0] == c[1]
        )
    plots, drawn = browser.execute_script(ALL_DRAWN_JS)
    return int(plots), int(drawn)


# The first section of the page (its id, class and where it starts), and the sections
# whose tables reach past the page's right edge or scroll inside their frame.
LAYOUT_JS = """
const sections = Array.from(document.querySelectorAll('main > section'));
const first = sections[0];
const page = document.documentElement.clientWidth;
const wide = Array.from(document.querySelectorAll('table')).filter(t =>
    t.getBoundingClientRect().right > page + 0.5
    || t.scrollWidth > t.parentElement.clientWidth + 0.5
).map(t => t.closest('section').id);
const top = Math.min(...sections.slice(1).map(s => s.getBoundingClientRect().top));
return [first.id, first.className, first.getBoundingClientRect().top < top, wide,
        document.documentElement.scrollWidth <= page];
"""


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_report_draws_every_plot_without_errors(
    path: Path, browser: Any, tmp_path: Path, shipped_results: dict[str, Any]
) -> None:
    """Each shipped scenario's report loads with no JavaScript error, draws every plot,
    opens with the verdict in a box, and no table is wider than a 1280 px page."""
    page = storsim.write_report(shipped_results[path.stem], tmp_path / "r.html")
    expected = page.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    plots, drawn = load(browser, page)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert (plots, drawn) == (expected, expected)
    assert browser.execute_script("return window.innerWidth") == WIDTH
    first, classes, above, wide, no_scroll = browser.execute_script(LAYOUT_JS)
    assert (first, classes, above) == ("verdict", "box", True)
    assert wide == []
    assert no_scroll


def test_sweep_report_tables_fit_the_page(browser: Any, tmp_path: Path) -> None:
    """A sweep report of a grid with a remote split and long parameter names: every table
    fits a 1280 px page (wide summaries are split into tables of a few columns)."""
    scenario = storsim.load_scenario(
        SCENARIOS[0].parent / "bind-local-vs-distributed.yaml", overrides={"duration": "2 s"}
    )
    frame = storsim.sweep(
        scenario,
        {"host.remotes.nas.rtt": ["0.2 ms", "2 ms"], "host.disk": ["nvme", "ssd"]},
        replications=2,
        executor="serial",
        progress=False,
    )
    page = sweep_report(frame, tmp_path / "s.html", scenario=scenario)
    plots, drawn = load(browser, page)
    assert plots == drawn > 0
    wide = browser.execute_script(LAYOUT_JS)[3]
    assert wide == []


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """``(width, height, decompressed scanlines)`` of a PNG, read with the standard library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return size[0], size[1], zlib.decompress(idat)


def test_screenshot(browser: Any, tmp_path: Path, shipped_results: dict[str, Any]) -> None:
    """A screenshot of the ch06 lab report is a full-size, non-blank image."""
    page = storsim.write_report(shipped_results["ch06-lab"], tmp_path / "r.html")
    plots, drawn = load(browser, page)
    assert plots == drawn
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    width, height, pixels = png_pixels(shot.read_bytes())
    assert [width, height] == browser.execute_script(
        "return [window.innerWidth * devicePixelRatio, window.innerHeight * devicePixelRatio]"
    )
    assert width >= 800
    assert height >= 600
    assert shot.stat().st_size > 20_000  # a blank page compresses to a few KB
    assert len(set(pixels)) > 50  # text, tables and coloured plot lines, not one flat colour
