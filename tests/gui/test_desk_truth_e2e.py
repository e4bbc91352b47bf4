"""The desk tells the truth, against a real hub on loopback: the rows shown always answer
the search shown, and what a row says (a review mark, a fuzzy match) is on the row.

The runner is asked for after the workstation, so it is shut down first.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow
from app.ui.workers import TaskRunner
from app.workstation import Workstation

pytestmark = pytest.mark.e2e
WAIT_MS = 20_000


def _desk(qtbot: QtBot, workstation: Workstation, case: str, runner: TaskRunner) -> MainWindow:
    window = MainWindow(workstation, runner, initial_case=case, initial_purpose="robbery")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.is_ready and window.gate_reason is None, timeout=WAIT_MS)
    return window


def _search(qtbot: QtBot, window: MainWindow, text: str) -> int:
    with qtbot.waitSignal(window.search_finished, timeout=WAIT_MS) as searched:
        window.run_search(text)
    return int(searched.args[0])


def test_clear_filters_and_an_invalid_pattern_leave_no_stale_rows(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced_workstation
    window = _desk(qtbot, workstation, case, runner)
    panel, model = window.search_panel, window.results_model
    everything = _search(qtbot, window, "")
    make = model.read_at(0).make
    assert make
    panel.make_edit.setText(make)
    filtered = _search(qtbot, window, "")
    assert 0 < filtered < everything

    with qtbot.waitSignal(window.search_finished, timeout=WAIT_MS) as searched:
        qtbot.mouseClick(panel.clear_filters_button, Qt.MouseButton.LeftButton)
    assert searched.args[0] == everything  # every read again, not the filtered rows
    assert panel.active_filter_count == 0

    window.query_edit.setText("*")  # no letter or digit: not a pattern
    window.search_panel.submit()
    assert panel.pattern_error_label.isVisibleTo(panel)
    assert model.rowCount() == 0
    assert window.count_label.text() == ""
    assert window.image_pane.read is None
