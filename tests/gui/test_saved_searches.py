"""Saved searches per case: save, list, run (fills the panel), delete."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.ui.dialogs.review_dialogs import NAME_PROBLEM
from app.ui.main_window import MainWindow

from .fakes import CASE, FakeWorkstation


def test_saved_search_round_trip(
    qtbot: QtBot, searched_window: MainWindow, workstation: FakeWorkstation
) -> None:
    window = searched_window
    panel = window.search_panel
    assert panel.saved_searches == []
    window.query_edit.setText("*7k2*")
    panel.fuzzy_check.setChecked(True)
    panel.make_edit.setText("Toyota")
    panel.camera_actions["cam-0"].setChecked(True)
    panel.confidence_spin.setValue(85)

    dialog = window.save_search()
    assert dialog is not None
    with qtbot.assertNotEmitted(window.search_saved, wait=50):
        dialog.accept()
    assert dialog.error_label.text() == NAME_PROBLEM
    dialog.name_edit.setText("  Camry   near the pharmacy ")
    with qtbot.waitSignals([window.search_saved, window.saved_searches_loaded], timeout=2000):
        dialog.accept()
    [saved] = workstation.saved
    assert (saved.case_number, saved.name) == (CASE, "Camry near the pharmacy")
    assert saved.query["pattern"] == "*7K2*"
    assert panel.saved_button.text() == "Saved searches (1)"
    assert panel.saved_actions[saved.saved_id].text() == "Camry near the pharmacy"

    panel.query_edit.clear()
    panel.fuzzy_check.setChecked(False)
    panel.clear_filters()
    with qtbot.waitSignal(window.search_finished, timeout=2000):
        panel.saved_actions[saved.saved_id].trigger()
    assert panel.query_edit.text() == "*7K2*"
    assert panel.fuzzy_check.isChecked()
    assert panel.make_edit.text() == "Toyota"
    assert panel.checked_camera_ids() == ["cam-0"]
    assert panel.confidence_spin.value() == 85
    query = workstation.search_calls[-1][0]
    assert query.pattern is not None
    assert query.pattern.text == "*7K2*"
    assert (query.fuzzy, query.make, query.camera_ids) == (True, "Toyota", ("cam-0",))
    assert query.min_confidence == 0.85

    with qtbot.waitSignal(window.saved_search_deleted, timeout=2000):
        panel.delete_saved_actions[saved.saved_id].trigger()
    assert workstation.saved == []
    qtbot.waitUntil(lambda: panel.saved_actions == {})
    assert panel.saved_button.text() == "Saved searches"


def test_saved_searches_belong_to_their_case(
    qtbot: QtBot, searched_window: MainWindow, workstation: FakeWorkstation
) -> None:
    window = searched_window
    dialog = window.save_search()
    assert dialog is not None
    dialog.name_edit.setText("Everything")
    with qtbot.waitSignals([window.search_saved, window.saved_searches_loaded], timeout=2000):
        dialog.accept()
    with qtbot.waitSignal(window.saved_searches_loaded, timeout=2000) as loaded:
        window.case_bar.select(case_number="2024-000456", purpose="robbery")
    assert loaded.args == [0]
    assert window.search_panel.saved_actions == {}
