"""Review marks, outcomes and role awareness in the main window: the real services over
a temporary cache and a real hub on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.demo import totp_now
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
from app.workstation import Workstation
from tests.support.live_hub import SeededHub

from .conftest import Desk


@pytest.fixture
def searched(qtbot: QtBot, desk: Desk) -> Desk:
    """The real desk with every read listed and the first one shown."""
    window = desk[0]
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        window.run_search("")
    with qtbot.waitSignal(window.image_pane.marks_loaded, timeout=20_000):
        window.select_row(0)
    return desk


def _journaled(workstation: Workstation, action: str) -> list[dict[str, object]]:
    return [e for e in workstation.journal().events() if e["action"] == action]


@pytest.mark.e2e
def test_mark_as_evidence_records_and_shows_the_mark(qtbot: QtBot, searched: Desk) -> None:
    window, workstation, case = searched
    read = window.image_pane.read
    assert read is not None
    assert window.image_pane.marks_label.text() == NO_MARKS
    qtbot.keyClick(window.results_view, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.review_flow.review_dialog
    assert isinstance(dialog, EvidenceDialog)
    assert dialog.isVisible()
    dialog.note_edit.setPlainText("Leaving the pharmacy lot")
    with qtbot.waitSignal(window.review_marked, timeout=20_000) as marked:
        dialog.accept()
    mark = marked.args[0]
    assert (mark.read_id, mark.case_number, mark.kind) == (read.read_id, case, "evidence")
    assert workstation.review.marks(read_id=read.read_id) == [mark]
    assert mark.note == "Leaving the pharmacy lot"
    assert workstation.session is not None
    who = f"Evidence · {workstation.session.username}"
    qtbot.waitUntil(lambda: who in window.image_pane.marks_label.text(), timeout=20_000)
    assert "Leaving the pharmacy lot" in window.image_pane.marks_label.text()
    # The hold request went to the hub on the network lane, after the mark.
    qtbot.waitUntil(
        lambda: [h.status for h in workstation.evidence.holds(case_number=case)] == ["proposed"],
        timeout=20_000,
    )


@pytest.mark.e2e
def test_misread_needs_a_real_plate_then_records_it(qtbot: QtBot, searched: Desk) -> None:
    window, workstation, _case = searched
    read = window.image_pane.read
    assert read is not None
    qtbot.keyClick(window.results_view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    dialog = window.review_flow.review_dialog
    assert isinstance(dialog, MisreadDialog)
    dialog.plate_edit.setText("8K?7*")
    with qtbot.assertNotEmitted(window.review_marked, wait=100):
        dialog.accept()
    assert dialog.isVisible()
    assert dialog.error_label.isVisibleTo(dialog)
    assert dialog.error_label.text() == PLATE_PROBLEM
    assert workstation.review.marks(read_id=read.read_id) == []

    dialog.plate_edit.setText("8kt-k215")
    dialog.note_edit.setPlainText("The T reads as a 7")
    with qtbot.waitSignal(window.review_marked, timeout=20_000):
        dialog.accept()
    assert not dialog.isVisible()
    [mark] = workstation.review.marks(read_id=read.read_id)
    assert (mark.kind, mark.corrected_plate, mark.read_id) == ("misread", "8KTK215", read.read_id)
    qtbot.waitUntil(
        lambda: "Misread, shows 8KTK215" in window.image_pane.marks_label.text(), timeout=20_000
    )


def test_corrected_plate_rules() -> None:
    assert corrected_plate_problem("8KT K215", read_plate="ABC") is None
    assert corrected_plate_problem("", read_plate="ABC") == PLATE_PROBLEM
    assert corrected_plate_problem("ABCDEFGHIJK", read_plate="X") == PLATE_PROBLEM
    assert corrected_plate_problem("abc", read_plate="ABC") == SAME_PLATE


@pytest.mark.e2e
def test_review_actions_need_a_read(qtbot: QtBot, searched: Desk) -> None:
    window = searched[0]
    assert window.desk_actions.mark_evidence.isEnabled()
    window.results_view.clearSelection()
    window.results_view.setCurrentIndex(window.results_model.index(-1, -1))
    qtbot.waitUntil(lambda: window.image_pane.read is None)
    assert not window.desk_actions.mark_evidence.isEnabled()
    assert not window.desk_actions.mark_misread.isEnabled()
    assert not window.desk_actions.sightings.isEnabled()
    assert window.review_flow.mark_evidence() is None


@pytest.mark.e2e
def test_record_outcome(qtbot: QtBot, searched: Desk) -> None:
    window, workstation, case = searched
    dialog = window.review_flow.record_outcome()
    assert dialog is not None
    labels = [dialog.outcome_combo.itemText(i) for i in range(dialog.outcome_combo.count())]
    assert labels == ["Lead", "No lead", "Vehicle recovered", "Arrest", "Cleared a suspect"]
    dialog.set_outcome("vehicle_recovered")
    dialog.note_edit.setPlainText("Found on 5th St")
    with qtbot.waitSignal(window.outcome_recorded, timeout=20_000) as recorded:
        dialog.accept()
    assert recorded.args == ["vehicle_recovered"]
    [event] = _journaled(workstation, "search.outcome")
    assert event["object_refs"] == {"case_number": case}
    assert event["params"] == {
        "purpose": "robbery", "outcome": "vehicle_recovered", "note": "Found on 5th St",
    }  # fmt: skip
    assert "Vehicle recovered" in window.statusBar().currentMessage()


@pytest.mark.e2e
def test_engine_refusal_is_shown(qtbot: QtBot, searched: Desk) -> None:
    window, workstation, _case = searched
    dialog = window.review_flow.mark_evidence()
    assert dialog is not None
    # The read was purged meanwhile (the retention clock, run as if 60 days had passed).
    assert workstation.audit.purge(now=datetime.now(UTC) + timedelta(days=60))["purged"] > 0
    with qtbot.waitSignal(window.action_failed, timeout=20_000) as failed:
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
@pytest.mark.e2e
def test_menus_follow_the_role(
    qtbot: QtBot,
    seeded_hub: SeededHub,
    tmp_path: Path,
    role: str,
    review: bool,
    outcome: bool,
) -> None:
    user = seeded_hub.user(role)
    workstation = Workstation.open(profile_dir=tmp_path / role, hub_url=seeded_hub.url)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    runner = TaskRunner()
    window = MainWindow(workstation, runner)
    qtbot.addWidget(window)
    # A supervisor's desk opens on the review queue; the image pane is the Results tab's.
    opens_on = window.results_tabs.currentWidget()
    assert (opens_on is window.review_queue_panel) is (role in {"supervisor", "admin"})
    window.results_tabs.setCurrentWidget(window.results_view)
    assert window.desk_actions.mark_evidence.isVisible() is review
    assert window.desk_actions.mark_misread.isVisible() is review
    assert all(
        button.isVisibleTo(window) is review for button in window.desk_actions.review_buttons[:2]
    )
    assert window.desk_actions.record_outcome.isVisible() is outcome
    qtbot.waitUntil(lambda: window.is_ready, timeout=20_000)
    window.close()
    assert runner.shutdown(timeout_ms=20_000)
    workstation.close()
