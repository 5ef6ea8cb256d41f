"""The report as a browser draws it: headless Chromium renders the page, and every chart's
bar colour must cover real pixels of the screenshot (and none for an empty campaign).

Chromium comes from ``bin/system-deps``. Without it the test skips locally and fails under
``CI=true``, like PostgreSQL and Redis.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.engine import Engine

from dialer.report import write_report
from dialer.report.charts import CAUSE_FILL, CHART_FILLS, FUNNEL_FILL
from tests.report.test_report import NOW, load_evening_run
from tests.support.factories import make_campaign, make_config
from tests.support.services import service_missing

WINDOW = (1200, 3000)
MIN_PIXELS = 2000
"""The smallest chart (a few bars) covers well over this many pixels at this window size."""


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        service_missing("chromium (bin/system-deps installs it)", FileNotFoundError("not on PATH"))
    assert path is not None
    return path


def screenshot(html: Path, tmp_path: Path) -> Image.Image:
    """Render ``html`` in headless Chromium at ``WINDOW`` size; the screenshot, as RGB."""
    png = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    with Image.open(png) as image:
        return image.convert("RGB")


def pixels_of(image: Image.Image, hex_colour: str, tolerance: int = 3) -> int:
    """How many pixels are ``hex_colour`` (each channel within ``tolerance``)."""
    target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    return sum(
        count
        for count, rgb in colours
        if all(abs(a - b) <= tolerance for a, b in zip(rgb, target, strict=True))
    )


def test_every_chart_is_drawn(sqlite_engine: Engine, tmp_path: Path) -> None:
    load_evening_run(sqlite_engine, tmp_path)
    out = tmp_path / "report.html"
    write_report(sqlite_engine, "evening-run", out, now=NOW)
    started = time.monotonic()
    image = screenshot(out, tmp_path)
    elapsed = time.monotonic() - started
    assert image.size == WINDOW
    found = {fill: pixels_of(image, fill) for fill in CHART_FILLS}
    assert all(n >= MIN_PIXELS for n in found.values()), found
    # Drawn to scale: funnel bars 6, 4, 2, 1, 1, 0 of a longest 6 against cause bars 2, 1, 1,
    # 1 of a longest 2, at the same bar height and width: areas 14/6 : 5/2.
    assert found[FUNNEL_FILL] / found[CAUSE_FILL] == pytest.approx((14 / 6) / (5 / 2), rel=0.05)
    assert elapsed < 60


def test_empty_campaign_draws_no_bars(sqlite_engine: Engine, tmp_path: Path) -> None:
    make_campaign(sqlite_engine, make_config(name="empty"))
    out = tmp_path / "report.html"
    write_report(sqlite_engine, "empty", out, now=NOW)
    image = screenshot(out, tmp_path)
    assert {fill: pixels_of(image, fill) for fill in CHART_FILLS} == dict.fromkeys(CHART_FILLS, 0)
    # Text was drawn (the page is not blank): dark pixels of the headings and tables.
    assert pixels_of(image, "#222222", tolerance=40) > 1000
