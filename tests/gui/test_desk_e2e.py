"""The detective's desk against a real hub on loopback: review marks, sightings, saved
searches and outcomes go through the real engine and land in the audit journal.

The runner is asked for after the workstation, so it is shut down first: every
background task (a page, a thumbnail) is finished before the workstation closes.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow
from app.ui.models.results_model import PLATE
from app.ui.workers import TaskRunner
from app.workstation import Workstation

pytestmark = pytest.mark.e2e


def _desk(qtbot: QtBot, workstation: Workstation, case: str, runner: TaskRunner) -> MainWindow:
    """The window on the synced case, shown, ready to search."""
    window = MainWindow(workstation, runner, initial_case=case, initial_purpose="robbery")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.is_ready and window.gate_reason is None, timeout=20_000)
    return window


def test_review_sightings_saved_search_and_outcome_are_journaled(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced_workstation
    window = _desk(qtbot, workstation, case, runner)
    with qtbot.waitSignal(window.search_finished, timeout=20_000) as searched:
        window.run_search("")
    assert searched.args[0] > 0
    with qtbot.waitSignal(window.image_pane.marks_loaded, timeout=20_000):
        window.select_row(0)
    read = window.image_pane.read
    assert read is not None

    evidence = window.review_flow.mark_evidence()
    assert evidence is not None
    evidence.note_edit.setPlainText("Leaving the lot")
    with qtbot.waitSignal(window.review_marked, timeout=20_000):
        evidence.accept()
    misread = window.review_flow.mark_misread()
    assert misread is not None
    misread.plate_edit.setText("ZZZ 999")
    with qtbot.waitSignal(window.review_marked, timeout=20_000):
        misread.accept()
    qtbot.waitUntil(lambda: len(window.image_pane.marks) == 2, timeout=20_000)
    assert "Misread, shows ZZZ999" in window.image_pane.marks_label.text()

    panel = window.sightings_panel
    with qtbot.waitSignals([panel.sightings_loaded, panel.associates_loaded], timeout=20_000):
        window.show_sightings()
    sightings = workstation.search.sightings(case_number=case, purpose="robbery", plate=read.plate)
    panel.grab()
    assert panel.timeline.painted_marks == len(sightings) > 0
    assert panel.camera_map.painted_sightings == len(sightings)

    window.query_edit.setText(read.plate[:3] + "*")
    dialog = window.review_flow.save_search()
    assert dialog is not None
    dialog.name_edit.setText("First three")
    with qtbot.waitSignals([window.search_saved, window.saved_searches_loaded], timeout=20_000):
        dialog.accept()
    window.query_edit.clear()
    [saved] = window.search_panel.saved_searches
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        window.search_panel.saved_actions[saved.saved_id].trigger()
    assert window.query_edit.text() == read.plate[:3] + "*"

    outcome = window.review_flow.record_outcome()
    assert outcome is not None
    outcome.set_outcome("lead")
    with qtbot.waitSignal(window.outcome_recorded, timeout=20_000):
        outcome.accept()

    actions = [event["action"] for event in workstation.journal().events()]
    for action in ("review.evidence", "review.misread", "search.save", "search.outcome"):
        assert action in actions
    assert workstation.audit.status().chain_ok


def _click_header(qtbot: QtBot, window: MainWindow, column: int) -> None:
    header = window.results_view.horizontalHeader()
    where = QPoint(header.sectionViewportPosition(column) + 8, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)


def test_clicking_a_column_sorts_every_cached_read_and_journals_the_order(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced_workstation
    window = _desk(qtbot, workstation, case, runner)
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        window.run_search("")
    model = window.results_model
    newest = [model.read_at(row).captured_at for row in range(model.rowCount())]
    assert newest == sorted(newest, reverse=True)
    # The painted rows show their plate crops, fetched from the hub and decoded.
    first = model.read_at(0).read_id
    qtbot.waitUntil(lambda: model.thumbnail(first) is not None, timeout=20_000)

    with qtbot.waitSignal(window.search_finished, timeout=20_000) as searched:
        _click_header(qtbot, window, PLATE)
    total = searched.args[0]
    while model.canFetchMore():  # page through the whole result, as scrolling would
        with qtbot.waitSignal(model.page_loaded, timeout=20_000):
            model.fetchMore()
    plates = [model.read_at(row).plate for row in range(model.rowCount())]
    assert len(plates) == total > 0
    assert plates == sorted(plates)
    assert window.results_view.horizontalHeader().sortIndicatorSection() == PLATE

    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        _click_header(qtbot, window, PLATE)  # again: descending
    assert model.read_at(0).plate == max(plates)

    searches = [e for e in workstation.journal().events() if e["action"] == "search"]
    assert searches[-2]["params"]["order"] == "plate ascending"
    assert searches[-1]["params"]["order"] == "plate descending"


def test_a_hotlist_alert_is_verified_with_its_image_and_journaled(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    # The demo seed hotlists a stolen pickup on one of the detective's cases; its
    # sightings raised alerts at the hub. The read is in no slice of the detective's:
    # the hub lets them see its image because the alert is addressed to them.
    workstation, case = synced_workstation
    window = _desk(qtbot, workstation, case, runner)
    panel = window.alerts_panel
    qtbot.waitUntil(lambda: len(panel.alerts) > 0, timeout=20_000)
    qtbot.waitUntil(lambda: panel.listener_state == "connected", timeout=20_000)
    alert = panel.alerts[0]
    with qtbot.waitSignal(panel.image_loaded, timeout=20_000):
        window.review_alert(alert.alert_id)
    assert not panel.image_label.pixmap().isNull()

    panel.set_outcome("correct_read")
    panel.step_boxes["visual_confirmed"].setChecked(True)
    with qtbot.waitSignal(panel.acknowledged, timeout=20_000) as done:
        qtbot.mouseClick(panel.acknowledge_button, Qt.MouseButton.LeftButton)
    assert done.args[0].outcome == "correct_read"
    assert done.args[0].acknowledged_by == workstation.session.username  # type: ignore[union-attr]
    actions = [e["action"] for e in workstation.journal().events()]
    assert "image.view" in actions
    assert "alert.acknowledge" in actions
