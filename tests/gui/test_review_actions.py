"""Review marks, outcomes and role awareness in the main window (fake engine)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.dialogs.review_dialogs import (
    PLATE_PROBLEM,
    SAME_PLATE,
    EvidenceDialog,
    MisreadDialog,
    corrected_plate_problem,
)
from app.ui.main_window import MainWindow
from app.ui.widgets.image_pane import NO_MARKS
from app.ui.workers import TaskRunner

from .fakes import CASE, FakeWorkstation


def test_mark_as_evidence_records_and_shows_the_mark(
    qtbot: QtBot, searched_window: MainWindow, workstation: FakeWorkstation
) -> None:
    window = searched_window
    read = window.image_pane.read
    assert read is not None
    assert window.image_pane.marks_label.text() == NO_MARKS
    qtbot.keyClick(window.results_view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.review_dialog
    assert isinstance(dialog, EvidenceDialog)
    assert dialog.isVisible()
    dialog.note_edit.setPlainText("Leaving the pharmacy lot")
    with qtbot.waitSignal(window.review_marked, timeout=2000) as marked:
        dialog.accept()
    mark = marked.args[0]
    assert (mark.read_id, mark.case_number, mark.kind) == (read.read_id, CASE, "evidence")
    assert workstation.marks == [mark]
    assert mark.note == "Leaving the pharmacy lot"
    qtbot.waitUntil(lambda: "Evidence · dortiz" in window.image_pane.marks_label.text())
    assert "Leaving the pharmacy lot" in window.image_pane.marks_label.text()


def test_misread_needs_a_real_plate_then_records_it(
    qtbot: QtBot, searched_window: MainWindow, workstation: FakeWorkstation
) -> None:
    window = searched_window
    read = window.image_pane.read
    assert read is not None
    qtbot.keyClick(window.results_view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    dialog = window.review_dialog
    assert isinstance(dialog, MisreadDialog)
    dialog.plate_edit.setText("8K?7*")
    with qtbot.assertNotEmitted(window.review_marked, wait=100):
        dialog.accept()
    assert dialog.isVisible()
    assert dialog.error_label.isVisibleTo(dialog)
    assert dialog.error_label.text() == PLATE_PROBLEM
    assert workstation.marks == []

    dialog.plate_edit.setText("8kt-k215")
    dialog.note_edit.setPlainText("The T reads as a 7")
    with qtbot.waitSignal(window.review_marked, timeout=2000):
        dialog.accept()
    assert not dialog.isVisible()
    [mark] = workstation.marks
    assert (mark.kind, mark.corrected_plate, mark.read_id) == ("misread", "8KTK215", read.read_id)
    qtbot.waitUntil(lambda: "Misread, shows 8KTK215" in window.image_pane.marks_label.text())


def test_corrected_plate_rules() -> None:
    assert corrected_plate_problem("8KT K215", read_plate="ABC") is None
    assert corrected_plate_problem("", read_plate="ABC") == PLATE_PROBLEM
    assert corrected_plate_problem("ABCDEFGHIJK", read_plate="X") == PLATE_PROBLEM
    assert corrected_plate_problem("abc", read_plate="ABC") == SAME_PLATE


def test_review_actions_need_a_read(qtbot: QtBot, searched_window: MainWindow) -> None:
    window = searched_window
    assert window.mark_evidence_action.isEnabled()
    window.results_view.clearSelection()
    window.results_view.setCurrentIndex(window.results_model.index(-1, -1))
    qtbot.waitUntil(lambda: window.image_pane.read is None)
    assert not window.mark_evidence_action.isEnabled()
    assert not window.mark_misread_action.isEnabled()
    assert not window.sightings_action.isEnabled()
    assert window.mark_evidence() is None


def test_record_outcome(
    qtbot: QtBot, searched_window: MainWindow, workstation: FakeWorkstation
) -> None:
    window = searched_window
    dialog = window.record_outcome()
    assert dialog is not None
    labels = [dialog.outcome_combo.itemText(i) for i in range(dialog.outcome_combo.count())]
    assert labels == ["Lead", "No lead", "Vehicle recovered", "Arrest", "Cleared a suspect"]
    dialog.set_outcome("vehicle_recovered")
    dialog.note_edit.setPlainText("Found on 5th St")
    with qtbot.waitSignal(window.outcome_recorded, timeout=2000) as recorded:
        dialog.accept()
    assert recorded.args == ["vehicle_recovered"]
    assert workstation.outcomes == [
        {
            "case_number": CASE,
            "purpose": "robbery",
            "outcome": "vehicle_recovered",
            "note": "Found on 5th St",
        }
    ]
    assert "Vehicle recovered" in window.statusBar().currentMessage()


def test_engine_refusal_is_shown(
    qtbot: QtBot, searched_window: MainWindow, workstation: FakeWorkstation
) -> None:
    window = searched_window
    dialog = window.mark_evidence()
    assert dialog is not None
    workstation.reads.clear()  # the read was purged meanwhile
    with qtbot.waitSignal(window.action_failed, timeout=2000) as failed:
        dialog.accept()
    assert "not in this cache" in failed.args[0]
    assert "not in this cache" in window.statusBar().currentMessage()


@pytest.mark.parametrize(
    ("role", "review", "outcome"),
    [
        ("detective", True, True),
        ("evidence_technician", True, False),
        ("supervisor", True, True),
        ("admin", False, False),
    ],
)
def test_menus_follow_the_role(
    qtbot: QtBot,
    workstation: FakeWorkstation,
    runner: TaskRunner,
    role: str,
    review: bool,
    outcome: bool,
) -> None:
    workstation.role = role
    window = MainWindow(workstation, runner)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    assert window.mark_evidence_action.isVisible() is review
    assert window.mark_misread_action.isVisible() is review
    assert all(button.isVisibleTo(window) is review for button in window.review_buttons[:2])
    assert window.record_outcome_action.isVisible() is outcome
    qtbot.waitUntil(lambda: window.is_ready)
