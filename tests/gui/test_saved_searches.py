"""Saved searches per case: save, list, run (fills the panel), delete. The real services
over a temporary cache and a real hub on loopback (no fake engine)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.ui.dialogs.review_dialogs import NAME_PROBLEM

from .conftest import Desk

pytestmark = pytest.mark.e2e


def test_saved_search_round_trip(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, case = desk
    panel = window.search_panel
    assert panel.saved_searches == []
    camera = sorted(panel.camera_actions)[0]
    window.query_edit.setText("*7k2*")
    panel.fuzzy_check.setChecked(True)
    panel.make_edit.setText("Toyota")
    panel.camera_actions[camera].setChecked(True)
    panel.confidence_spin.setValue(85)

    dialog = window.review_flow.save_search()
    assert dialog is not None
    with qtbot.assertNotEmitted(window.search_saved, wait=50):
        dialog.accept()
    assert dialog.error_label.text() == NAME_PROBLEM
    dialog.name_edit.setText("  Camry   near the pharmacy ")
    with qtbot.waitSignals([window.search_saved, window.saved_searches_loaded], timeout=20_000):
        dialog.accept()
    [saved] = workstation.search.saved(case_number=case)
    assert saved.name == "Camry near the pharmacy"
    assert saved.query["pattern"] == "*7K2*"
    assert panel.saved_button.text() == "Saved searches (1)"
    assert panel.saved_actions[saved.saved_id].text() == "Camry near the pharmacy"

    panel.query_edit.clear()
    panel.fuzzy_check.setChecked(False)
    panel.clear_filters()
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        panel.saved_actions[saved.saved_id].trigger()
    assert panel.query_edit.text() == "*7K2*"
    assert panel.fuzzy_check.isChecked()
    assert panel.make_edit.text() == "Toyota"
    assert panel.checked_camera_ids() == [camera]
    assert panel.confidence_spin.value() == 85
    # The search that ran is the one journaled, with every filter of the saved one.
    [searched] = [e for e in workstation.journal().events() if e["action"] == "search"][-1:]
    params = searched["params"]
    assert params["pattern"] == "*7K2*"
    assert (params["fuzzy"], params["make"], params["camera_ids"]) == (True, "Toyota", [camera])
    assert params["min_confidence"] == 0.85

    with qtbot.waitSignal(window.saved_search_deleted, timeout=20_000):
        panel.delete_saved_actions[saved.saved_id].trigger()
    assert workstation.search.saved(case_number=case) == []
    qtbot.waitUntil(lambda: panel.saved_actions == {}, timeout=20_000)
    assert panel.saved_button.text() == "Saved searches"
    actions = [e["action"] for e in workstation.journal().events()]
    assert "search.save" in actions
    assert "search.unsave" in actions


def test_saved_searches_belong_to_their_case(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, case = desk
    dialog = window.review_flow.save_search()
    assert dialog is not None
    dialog.name_edit.setText("Everything")
    with qtbot.waitSignals([window.search_saved, window.saved_searches_loaded], timeout=20_000):
        dialog.accept()
    assert [s.name for s in workstation.search.saved(case_number=case)] == ["Everything"]
    assert workstation.search.saved(case_number="2026-999999") == []
