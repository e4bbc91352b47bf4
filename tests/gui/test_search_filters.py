"""The search panel's misread toggle and filters all reach the engine's search: the real
services over a real hub, the journal holding the exact parameters of what ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.records import query_from_dict
from app.ui.widgets.search_panel import ALL_CAMERAS, FUZZY_LABEL, TIME_RANGE_ERROR
from app.workstation import Workstation

from .conftest import Desk

pytestmark = pytest.mark.e2e


def _last_search(workstation: Workstation) -> dict[str, Any]:
    params: dict[str, Any] = [
        e["params"] for e in workstation.journal().events() if e["action"] == "search"
    ][-1]
    return params


def test_no_filters_by_default(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, _case = desk
    panel = window.search_panel
    assert panel.fuzzy_check.text() == FUZZY_LABEL
    assert not panel.filters_box.isVisible()
    assert panel.cameras_button.text() == ALL_CAMERAS
    assert panel.active_filter_count == 0
    with qtbot.waitSignal(window.search_finished, timeout=20_000) as searched:
        window.run_search("*7K2*")
    params = _last_search(workstation)
    assert params["result_count"] == searched.args[0] > 0
    assert (params["time_from"], params["time_to"], params["camera_ids"]) == (None, None, [])
    for name in ("state", "make", "model", "color", "body_type", "feature", "min_confidence"):
        assert params[name] is None, name
    assert params["fuzzy"] is False


def test_every_filter_is_passed_in_the_query(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, case = desk
    panel = window.search_panel
    cameras = sorted(panel.camera_actions)[:2]
    qtbot.mouseClick(panel.filters_button, Qt.MouseButton.LeftButton)
    assert panel.filters_box.isVisible()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    panel.set_time_range(now - timedelta(hours=40), now - timedelta(hours=2))
    for camera in cameras:
        panel.camera_actions[camera].setChecked(True)
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

    with qtbot.waitSignal(window.search_finished, timeout=20_000) as searched:
        qtbot.keyClick(panel.feature_edit, Qt.Key.Key_Return)
    params = _last_search(workstation)
    assert sorted(params["camera_ids"]) == cameras
    assert params["state"] == "CA"
    assert params["make"] == "Toyota"
    assert (params["model"], params["color"], params["body_type"]) == ("Camry", "silver", "sedan")
    assert params["feature"] == "roof rack"
    assert params["min_confidence"] == pytest.approx(0.85)
    assert params["fuzzy"] is True
    assert params["pattern"] is None
    # The count shown is the engine's answer to exactly that query.
    again = query_from_dict(params, case_number=case, purpose="robbery")
    assert searched.args == [workstation.search.run(again, limit=1).total]
    assert window.count_label.text().startswith(f"{searched.args[0]} read")

    panel.clear_filters()
    assert panel.active_filter_count == 0
    assert panel.filters_button.text() == "Filters"
    assert panel.cameras_button.text() == ALL_CAMERAS


def test_a_backwards_time_range_blocks_searching(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, _case = desk
    panel = window.search_panel
    searches = len([e for e in workstation.journal().events() if e["action"] == "search"])
    panel.filters_button.setChecked(True)
    now = datetime.now(UTC)
    panel.set_time_range(now, now - timedelta(hours=1))
    assert panel.filter_error_label.isVisible()
    assert panel.filter_error_label.text() == TIME_RANGE_ERROR
    assert not window.search_button.isEnabled()
    with qtbot.assertNotEmitted(window.results_model.search_finished, wait=50):
        window.run_search("")
    assert len([e for e in workstation.journal().events() if e["action"] == "search"]) == searches
    panel.to_check.setChecked(False)
    assert not panel.filter_error_label.isVisible()
    assert window.search_button.isEnabled()
