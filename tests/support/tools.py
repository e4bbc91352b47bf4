"""Command-line tools some tests run (pdftotext, chromium): outside CI a missing one skips
the test and names the Debian package that brings it; in CI (CI=1, set by .ci/run,
which installs them) it fails."""

from __future__ import annotations

import os
import shutil

import pytest

PACKAGES = {
    "pdftotext": "poppler-utils",
    "pdfinfo": "poppler-utils",
    "chromium": "chromium",
    "chromium-browser": "chromium",
}


def need_tool(*names: str) -> str:
    """The path of the first of `names` found on PATH; else skip (fail in CI) naming its package."""
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    package = PACKAGES.get(names[0], names[0])
    message = f"{names[0]} is not installed here: apt-get install {package}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (.ci/run installs it)", pytrace=False)
    pytest.skip(message)
