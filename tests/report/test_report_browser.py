"""index.html in a real browser: headless Chromium loads it and shows its tables and figures.

Skipped when Chromium is not installed, except under CI (the ``CI`` environment variable
set), where a missing browser is a failure: CI installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")
TIMEOUT = 180


def chromium() -> str:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    message = "headless Chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must install it")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> str:
    return chromium()


def run_chromium(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory, real_report) -> Path:
    from metaview.report import write_report

    out = tmp_path_factory.mktemp("browser") / "report"
    write_report(real_report, out)
    return out / "index.html"


def test_the_page_loads_with_its_tables_and_figures(browser, page, tmp_path, real_report):
    result = run_chromium(browser, tmp_path, "--dump-dom", page.as_uri())
    dom = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<h1>Cong 2024 compared with published series</h1>" in dom
    for header in ("Pooled (95% CI)", "95% PI", "I² (CI)", "As reported", "Source",
                   "Derived", "Used in", "Characteristic", "Inside PI"):
        assert f">{header}</th>" in dom, header
    assert dom.count("<svg") == len(real_report.figures) >= 2
    assert dom.count("<table") >= 6
    assert 'id="methods"' in dom and 'id="caveats"' in dom and 'id="provenance"' in dom


def test_the_screenshot_shows_text_and_figures(browser, page, tmp_path):
    from PIL import Image

    shot = tmp_path / "page.png"
    result = run_chromium(browser, tmp_path, f"--screenshot={shot}", "--window-size=1280,4000",
                          page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 10_000
    with Image.open(shot) as im:
        assert im.size == (1280, 4000)
        grey = im.convert("L")
        histogram = grey.histogram()
    pixels = sum(histogram)
    dark = sum(histogram[:128])  # text, rules, figure marks
    white = histogram[255]
    assert dark / pixels > 0.01, "page looks blank"
    assert white / pixels > 0.5, "page is not mostly background"
    rgb = Image.open(shot).convert("RGB")
    colours = rgb.resize((320, 1000)).getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50, "too few colours for a page of text and figures"
    # The forest plots' colours are on the page (index cohort red, pooled diamond blue).
    names = {c for _, c in colours}
    assert any(r > 150 and g < 80 and b < 80 for r, g, b in names), "no index-red pixels"
    assert any(b > 90 and r < 60 and g < 90 for r, g, b in names), "no pooled-blue pixels"
