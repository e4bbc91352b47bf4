"""The packaging files name things that exist: the desktop entry's command and icon, the
icons each platform's bundle needs, and the model and resources the spec bundles."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def test_the_desktop_entry_starts_platedesk_with_its_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(PACKAGING / "linux" / "platedesk.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].split()[0] == "platedesk"
    assert desktop["Terminal"] == "false"
    with Image.open(ROOT / "resources" / "icons" / f"{desktop['Icon']}.png") as icon:
        assert icon.size == (256, 256)
    validator = shutil.which("desktop-file-validate")
    if validator is not None:
        done = subprocess.run(
            [validator, str(PACKAGING / "linux" / "platedesk.desktop")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("path", "kind"),
    [("windows/platedesk.ico", "ICO"), ("macos/platedesk.icns", "ICNS")],
)
def test_each_platform_has_its_icon(path: str, kind: str) -> None:
    with Image.open(PACKAGING / path) as icon:
        assert icon.format == kind


def test_the_spec_bundles_files_that_exist() -> None:
    spec = (PACKAGING / "platedesk.spec").read_text(encoding="utf-8")
    for name in ("models/plate-reader.onnx", "resources/styles", "resources/icons",
                 "packaging/platedesk_main.py", "packaging/windows/platedesk.ico",
                 "packaging/macos/platedesk.icns"):  # fmt: skip
        parts = name.split("/")
        assert " / ".join(f'"{part}"' for part in parts) in spec, name
        assert (ROOT / name).exists(), name
