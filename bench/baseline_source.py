"""Benches that compare this checkout with another one (`--baseline-src DIR`, e.g. an
export of main) start their hubs or nodes from DIR's code."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def code_from(folder: Path | None) -> Iterator[None]:
    """Hubs and nodes started meanwhile run the code in `folder` (`python -m` imports
    from the working directory first); None: this checkout's."""
    if folder is None:
        yield
        return
    here = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)
