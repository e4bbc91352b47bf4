"""Fixtures for the widget tests: the real desk (real services, a temporary cache and a real
hub on loopback) and a task runner that is shut down."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.ui.collector import GuiThreadCollector
from app.ui.main_window import MainWindow
from app.ui.workers import TaskRunner
from app.workstation import Workstation


@pytest.fixture(autouse=True)
def gui_thread_collector(qapp: object) -> Iterator[GuiThreadCollector]:
    """Garbage collected on the GUI thread only, as in the app (app.ui.collector)."""
    collector = GuiThreadCollector()
    yield collector
    gc.collect()  # the test's cycles (windows, lambdas holding Qt objects) die on this thread
    collector.stop()


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    """A task runner, shut down (every task waited for) before the widgets are closed."""
    task_runner = TaskRunner()
    yield task_runner
    assert task_runner.shutdown(timeout_ms=10_000), "background tasks did not finish"


Desk = tuple[MainWindow, Workstation, str]


@pytest.fixture
def desk(qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner) -> Desk:
    """The real desk: the window over the real services, a temporary cache and a real hub,
    on the detective's synced case, ready to search: (window, workstation, case). The
    runner is asked for after the workstation, so it is shut down first."""
    workstation, case = synced_workstation
    window = MainWindow(workstation, runner, initial_case=case, initial_purpose="robbery")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.is_ready and window.gate_reason is None, timeout=20_000)
    qtbot.waitUntil(lambda: bool(window.search_panel.camera_actions), timeout=20_000)
    return window, workstation, case
