"""Hotlist alerts in the window: the notice, the Alerts tab, verification before acting."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.main_window import ALERTS_TAB, MainWindow
from app.ui.widgets.alerts_panel import NO_ALERTS

from .conftest import ReadyWindow
from .fakes import FakeWorkstation, make_alert


def _window_with_alerts(
    qtbot: QtBot, ready_window: ReadyWindow, workstation: FakeWorkstation
) -> MainWindow:
    workstation.hub_alerts = [make_alert(1), make_alert(2, match="fuzzy")]
    window = ready_window()
    qtbot.waitUntil(lambda: len(window.alerts_panel.alerts) == 2, timeout=2000)
    return window


def test_alerts_held_at_the_hub_are_listed_newest_first_with_the_count_on_the_tab(
    qtbot: QtBot, ready_window: ReadyWindow, workstation: FakeWorkstation
) -> None:
    window = _window_with_alerts(qtbot, ready_window, workstation)
    panel = window.alerts_panel
    assert [a.alert_id for a in panel.alerts] == [2, 1]
    assert panel.alert_list.item(0).text().startswith("7K2LNV · ")
    assert panel.alert_list.item(0).text().endswith("misread of 7K2LMV?")
    assert "Stolen vehicle (NCIC)" in panel.alert_list.item(0).toolTip()
    tabs = window.results_tabs
    assert tabs.tabText(tabs.indexOf(panel)) == f"{ALERTS_TAB} (2)"
    [listener] = workstation.listeners
    assert listener.started
    assert listener.after == 2
    assert not window.alert_banner.isVisible()  # alerts already known do not pop up


def test_a_pushed_alert_shows_a_notice_that_opens_it(
    qtbot: QtBot, ready_window: ReadyWindow, workstation: FakeWorkstation
) -> None:
    window = ready_window()
    panel = window.alerts_panel
    qtbot.waitUntil(lambda: bool(workstation.listeners), timeout=2000)
    assert panel.empty_label.text() == NO_ALERTS
    with qtbot.waitSignal(panel.alert_arrived, timeout=2000):
        workstation.listeners[0].push(make_alert(7))
    banner = window.alert_banner
    assert banner.isVisible()
    assert banner.text_label.text().startswith("Hotlist hit: 7K2LMV — Stolen vehicle")
    assert window.search_button.isEnabled()  # nothing modal: work goes on

    with qtbot.waitSignal(panel.image_loaded, timeout=2000):
        qtbot.mouseClick(banner.review_button, Qt.MouseButton.LeftButton)
    assert window.results_tabs.currentWidget() is panel
    assert panel.current is not None
    assert panel.current.alert_id == 7
    assert not banner.isVisible()
    assert panel.image_label.pixmap() is not None
    assert not panel.image_label.pixmap().isNull()


def test_acting_on_a_hit_needs_every_verification_step(
    qtbot: QtBot, ready_window: ReadyWindow, workstation: FakeWorkstation
) -> None:
    window = _window_with_alerts(qtbot, ready_window, workstation)
    panel = window.alerts_panel
    window.review_alert(2)
    assert "Fuzzy match" in panel.match_label.text()
    panel.set_outcome("action_taken")
    panel.step_boxes["visual_confirmed"].setChecked(True)
    with qtbot.waitSignal(panel.acknowledge_failed, timeout=2000) as refused:
        qtbot.mouseClick(panel.acknowledge_button, Qt.MouseButton.LeftButton)
    assert "missing: the plate's state matches" in refused.args[0]
    assert workstation.acknowledgements == []

    for box in panel.step_boxes.values():
        box.setChecked(True)
    panel.note_edit.setText("Stop at 14:10, incident 26-1177")
    with qtbot.waitSignal(panel.acknowledged, timeout=2000) as done:
        qtbot.mouseClick(panel.acknowledge_button, Qt.MouseButton.LeftButton)
    assert done.args[0].outcome == "action_taken"
    assert workstation.acknowledgements == [
        {"alert_id": 2, "outcome": "action_taken", "visual_confirmed": True,
         "state_match": True, "entry_confirmed": True}
    ]  # fmt: skip
    assert "Verified by detective" in panel.acknowledged_label.text()
    assert not panel.verify_box.isEnabled()
    tabs = window.results_tabs
    assert tabs.tabText(tabs.indexOf(panel)) == f"{ALERTS_TAB} (1)"


def test_locking_stops_listening_and_hides_the_alerts(
    qtbot: QtBot, ready_window: ReadyWindow, workstation: FakeWorkstation
) -> None:
    window = _window_with_alerts(qtbot, ready_window, workstation)
    with qtbot.waitSignal(window.session_locked, timeout=2000):
        window.lock_session()
    assert workstation.listeners[0].stopped
    assert window.alerts_panel.alerts == []
    assert window.alerts_panel.alert_list.count() == 0
    assert not window.alert_banner.isVisible()
