"""The public transparency page as a browser renders it: headless Chromium on loopback.

Chromium (Debian's package; `.ci/run` installs it) loads /transparency from a real
hub process with seeded reads, prints the DOM it built and takes a screenshot at a
phone's width. The page must show the report's figures and never a plate from the
database, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from PySide6.QtGui import QImage

from hub.core.config import HubSettings
from hub.core.db import Database
from tests.support.live_hub import SeededHub
from tests.support.tools import need_tool

pytestmark = pytest.mark.e2e

PHONE = "390,844"


@pytest.fixture(scope="module")
def chromium() -> str:
    return need_tool("chromium", "chromium-browser")


def _browse(
    chromium: str, url: str, tmp_path: Path, *flags: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium'}",
            f"--window-size={PHONE}", *flags, url,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _plates(hub: SeededHub) -> set[str]:
    settings = HubSettings(data_dir=hub.data, database_url=hub.db)
    database = Database(settings.sqlalchemy_url)
    try:
        with database.read() as connection:
            return set(connection.execute(sa.text("SELECT DISTINCT plate FROM reads")).scalars())
    finally:
        database.dispose()


def test_the_page_renders_on_a_phone_with_the_figures_and_no_plate(
    chromium: str, seeded_hub: SeededHub, tmp_path: Path
) -> None:
    report = httpx.get(f"{seeded_hub.url}/transparency.json", timeout=30).json()
    dumped = _browse(chromium, f"{seeded_hub.url}/transparency", tmp_path, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert "<title>ALPR transparency report</title>" in dom
    assert "<h1>ALPR transparency report</h1>" in dom
    text = re.sub(r"<[^>]+>", " ", dom)
    assert f"{report['retention_days']}" in text
    assert f"{report['cameras_in_use']}" in text

    # Plates with a letter: an all-digit plate could collide with a figure on the page.
    plates = {plate for plate in _plates(seeded_hub) if re.search("[A-Z]", plate)}
    assert len(plates) > 50
    found = sorted(plate for plate in plates if re.search(rf"\b{re.escape(plate)}\b", text))
    assert found == [], f"plates on the public page: {found[:5]}"

    shot = tmp_path / "transparency.png"
    taken = _browse(chromium, f"{seeded_hub.url}/transparency", tmp_path, f"--screenshot={shot}")
    assert taken.returncode == 0, taken.stderr[-2000:]
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (390, 844)
    colours = {image.pixel(x, y) for x in range(0, 390, 13) for y in range(0, 844, 13)}
    assert len(colours) > 3  # text was drawn, not a blank page
