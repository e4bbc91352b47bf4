"""Shared pytest set-up: headless Qt, a private home for keys and profiles, the `gui`
marker by path, no dangling threads."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from weakref import WeakSet

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never touch the developer's keyring, profiles or logs: the plaintext keyring
# backend (keyrings.alt) and every platformdirs folder live in a throwaway folder,
# which the hub and workstation processes the tests start inherit.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
SANDBOX = tempfile.mkdtemp(prefix="platedesk-tests-")
for _variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
    os.environ[_variable] = os.path.join(SANDBOX, _variable.lower())

# The hubs the tests start take TOTP codes up to 10 steps (5 minutes) ahead, so that
# the many sign-ins of one user within a minute each get a fresh code without waiting
# (a hub accepts each code once; app.demo.totp_now hands them out).
os.environ["PLATEDESK_HUB_TOTP_DRIFT_STEPS"] = "10"

# Fixtures for a real hub process on loopback, shared by tests/e2e and tests/gui.
pytest_plugins = ["tests.support.live_hub"]

GUI_DIR = Path(__file__).parent / "gui"
# The offscreen platform plugin warns whenever a window with a minimum size is shown.
OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(SANDBOX, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if GUI_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.gui)
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture(autouse=True)
def _no_dangling_threads(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Fail a gui test that leaves a QThread, a QThreadPool task or a Python thread running.

    Autouse, so it is set up first and torn down last: after the fixtures that
    shut the task runner down. As napari's `_dangling_qthreads`.
    """
    if request.node.get_closest_marker("gui") is None:
        yield
        return
    import shiboken6
    from PySide6.QtCore import QThread, QThreadPool

    pools: WeakSet[QThreadPool] = WeakSet()
    qthreads: WeakSet[QThread] = WeakSet()
    pool_start = QThreadPool.start
    thread_start = QThread.start

    def recording_pool_start(self: QThreadPool, *args: Any, **kwargs: Any) -> None:
        pools.add(self)
        pool_start(self, *args, **kwargs)

    def recording_thread_start(self: QThread, *args: Any, **kwargs: Any) -> None:
        qthreads.add(self)
        thread_start(self, *args, **kwargs)

    monkeypatch.setattr(QThreadPool, "start", recording_pool_start)
    monkeypatch.setattr(QThread, "start", recording_thread_start)
    before = set(threading.enumerate())
    yield
    busy_pools = [p for p in pools if shiboken6.isValid(p) and p.activeThreadCount() > 0]
    running = [t for t in qthreads if shiboken6.isValid(t) and t.isRunning()]
    python_threads = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
    ]
    problems = []
    if busy_pools:
        problems.append(f"{len(busy_pools)} thread pool(s) still running tasks")
    if running:
        problems.append(f"{len(running)} QThread(s) still running")
    if python_threads:
        problems.append(f"Python threads still running: {python_threads}")
    if problems:
        pytest.fail("The test left threads running: " + "; ".join(problems), pytrace=False)
