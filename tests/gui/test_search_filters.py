"""The search panel's misread toggle and filters all reach the engine's SearchQuery."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow
from app.ui.widgets.search_panel import ALL_CAMERAS, FUZZY_LABEL, TIME_RANGE_ERROR

from .conftest import ReadyWindow
from .fakes import NOW, FakeWorkstation

MakeWindow = Callable[..., MainWindow]


@pytest.fixture
def window(qtbot: QtBot, ready_window: ReadyWindow) -> MainWindow:
    main = ready_window()
    qtbot.waitUntil(lambda: len(main.search_panel.camera_actions) == 4, timeout=2000)
    return main


def test_no_filters_by_default(
    qtbot: QtBot, window: MainWindow, workstation: FakeWorkstation
) -> None:
    panel = window.search_panel
    assert panel.fuzzy_check.text() == FUZZY_LABEL
    assert not panel.filters_box.isVisible()
    assert panel.cameras_button.text() == ALL_CAMERAS
    assert panel.active_filter_count == 0
    with qtbot.waitSignal(window.search_finished, timeout=2000) as searched:
        window.run_search("*7K2*")
    assert searched.args == [90]
    query = workstation.search_calls[-1][0]
    assert (query.time_from, query.time_to, query.camera_ids) == (None, None, ())
    assert (query.state, query.make, query.model, query.color) == (None, None, None, None)
    assert (query.body_type, query.feature, query.min_confidence) == (None, None, None)
    assert query.fuzzy is False


def test_every_filter_is_passed_in_the_query(
    qtbot: QtBot, window: MainWindow, workstation: FakeWorkstation
) -> None:
    panel = window.search_panel
    qtbot.mouseClick(panel.filters_button, Qt.MouseButton.LeftButton)
    assert panel.filters_box.isVisible()
    panel.set_time_range(NOW - timedelta(hours=20), NOW - timedelta(hours=2))
    panel.camera_actions["cam-0"].setChecked(True)
    panel.camera_actions["cam-2"].setChecked(True)
    assert panel.cameras_button.text() == "2 cameras"
    qtbot.keyClicks(panel.state_edit, "ca")
    qtbot.keyClicks(panel.make_edit, "  Toyota ")
    qtbot.keyClicks(panel.model_edit, "Camry")
    qtbot.keyClicks(panel.color_edit, "silver")
    qtbot.keyClicks(panel.body_type_edit, "sedan")
    qtbot.keyClicks(panel.feature_edit, "roof rack")
    panel.confidence_spin.setValue(85)
    qtbot.mouseClick(panel.fuzzy_check, Qt.MouseButton.LeftButton)
    assert panel.active_filter_count == 10
    assert panel.filters_button.text() == "Filters (10)"

    with qtbot.waitSignal(window.search_finished, timeout=2000) as searched:
        qtbot.keyClick(panel.feature_edit, Qt.Key.Key_Return)
    query = workstation.search_calls[-1][0]
    assert query.time_from == NOW - timedelta(hours=20)
    assert query.time_to == NOW - timedelta(hours=2)
    assert query.camera_ids == ("cam-0", "cam-2")
    assert query.state == "CA"
    assert query.make == "Toyota"
    assert (query.model, query.color, query.body_type) == ("Camry", "silver", "sedan")
    assert query.feature == "roof rack"
    assert query.min_confidence == pytest.approx(0.85)
    assert query.fuzzy is True
    assert query.pattern is None
    expected = [
        r
        for r in workstation.reads
        if NOW - timedelta(hours=20) <= r.captured_at <= NOW - timedelta(hours=2)
        and r.camera_id in ("cam-0", "cam-2")
        and r.make == "Toyota"
        and "roof rack" in r.features
        and r.confidence >= 0.85
    ]
    assert searched.args == [len(expected)]
    assert window.count_label.text().startswith(f"{len(expected)} read")

    panel.clear_filters()
    assert panel.active_filter_count == 0
    assert panel.filters_button.text() == "Filters"
    assert panel.cameras_button.text() == ALL_CAMERAS


def test_a_backwards_time_range_blocks_searching(
    qtbot: QtBot, window: MainWindow, workstation: FakeWorkstation
) -> None:
    panel = window.search_panel
    panel.filters_button.setChecked(True)
    panel.set_time_range(NOW, NOW - timedelta(hours=1))
    assert panel.filter_error_label.isVisible()
    assert panel.filter_error_label.text() == TIME_RANGE_ERROR
    assert not window.search_button.isEnabled()
    with qtbot.assertNotEmitted(window.results_model.search_finished, wait=50):
        window.run_search("")
    assert workstation.search_calls == []
    panel.to_check.setChecked(False)
    assert not panel.filter_error_label.isVisible()
    assert window.search_button.isEnabled()
