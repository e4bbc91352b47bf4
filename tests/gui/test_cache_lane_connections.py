"""Tasks on the cache lane share one cache connection: a desk searching all day holds
a few open cache files, not one per search (each connection keeps its own page cache,
up to 64 MiB, and starts cold)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.records import SearchQuery
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.lanes import search_total_on_cache_lane

pytestmark = pytest.mark.e2e


def _open_cache_files(cache: Path) -> int:
    """File descriptors of this process open on the cache file (its -wal and -shm too)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(cache))
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_searches_on_the_cache_lane_reuse_one_connection(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced_workstation
    query = SearchQuery(case_number=case, purpose="robbery", pattern=None)
    cache = workstation.core.cache_path

    def search() -> list[int]:
        answered = search_total_on_cache_lane(runner, workstation, query)
        qtbot.waitUntil(lambda: bool(answered), timeout=10_000)
        return answered

    assert search()[0] > 0  # the lane's thread opens its connection
    opened = _open_cache_files(cache)
    for _ in range(20):
        assert search()[0] > 0
    assert _open_cache_files(cache) == opened
