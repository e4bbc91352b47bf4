"""Fixtures for the widget tests: a fake workstation and a task runner that is shut down."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.ui.collector import GuiThreadCollector
from app.ui.main_window import MainWindow
from app.ui.workers import TaskRunner
from app.workstation import Workstation

from .fakes import CASE, FakeWorkstation


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


@pytest.fixture
def workstation(qtbot: QtBot) -> FakeWorkstation:
    """A signed-in fake workstation with 450 reads and no slices yet."""
    return FakeWorkstation()


ReadyWindow = Callable[..., MainWindow]
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


@pytest.fixture
def ready_window(qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner) -> ReadyWindow:
    """A factory: a shown window on CASE (robbery) with a synced slice, ready to search."""

    def make(**kwargs: object) -> MainWindow:
        workstation.add_synced_slice(CASE)
        window = MainWindow(
            workstation,  # type: ignore[arg-type]
            runner,
            initial_case=CASE,
            initial_purpose="robbery",
            **kwargs,  # type: ignore[arg-type]
        )
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.is_ready and window.gate_reason is None, timeout=2000)
        return window

    return make


@pytest.fixture
def searched_window(qtbot: QtBot, ready_window: ReadyWindow) -> MainWindow:
    """A ready window with every read listed and the first one shown."""
    window = ready_window()
    with qtbot.waitSignal(window.search_finished, timeout=2000):
        window.run_search("")
    with qtbot.waitSignal(window.image_pane.marks_loaded, timeout=2000):
        window.select_row(0)
    return window
