"""The desk tells the truth, against a real hub on loopback: the rows shown always answer
the search shown, and what a row says (a review mark, a fuzzy match) is on the row.

The runner is asked for after the workstation, so it is shut down first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.plates import CONFUSION_CLASSES
from app.core.records import SearchQuery
from app.ui.dialogs.export_dialog import ZIP_LABEL, ExportDialog
from app.ui.formatting import HEADINGS
from app.ui.main_window import MainWindow
from app.ui.models.results_model import CAMERA, FUZZY_MARK, PLATE, REVIEW
from app.ui.widgets.status_bar import DeskStatusBar
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.live_hub import SeededHub, confirm_holds

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


def test_misreads_corrected_plates_review_marks_and_fuzzy_matches_show_on_the_rows(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced_workstation
    window = _desk(qtbot, workstation, case, runner)
    model = window.results_model
    _search(qtbot, window, "")
    with qtbot.waitSignal(window.image_pane.marks_loaded, timeout=WAIT_MS):
        window.select_row(0)
    read = model.read_at(0)
    assert model.index(0, REVIEW).data() == ""
    misread = window.review_flow.mark_misread()
    assert misread is not None
    misread.plate_edit.setText("QQ 9 QQ9")
    with qtbot.waitSignal(window.review_marked, timeout=WAIT_MS):
        misread.accept()
    assert model.index(0, REVIEW).data() == "Misread → QQ9QQ9"  # on the row at once

    # The corrected plate finds the read; the row says why.
    assert _search(qtbot, window, "QQ9QQ9") == 1
    assert model.read_at(0).read_id == read.read_id
    assert model.index(0, PLATE).data() == read.plate
    assert model.index(0, REVIEW).data() == "Misread → QQ9QQ9"

    # A look-alike of a plate finds it with the misread toggle, marked as such.
    folded = {a: b for cls in CONFUSION_CLASSES for a in cls for b in cls if a != b}
    other = next(r for r in workstation.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=200
    ).rows if any(ch in folded for ch in r.plate))  # fmt: skip
    at = next(i for i, ch in enumerate(other.plate) if ch in folded)
    lookalike = other.plate[:at] + folded[other.plate[at]] + other.plate[at + 1 :]
    window.search_panel.fuzzy_check.setChecked(True)
    _search(qtbot, window, lookalike)
    rows = [model.read_at(row) for row in range(model.rowCount())]
    found = next(row for row, r in enumerate(rows) if r.read_id == other.read_id)
    assert model.index(found, PLATE).data() == other.plate + FUZZY_MARK
    assert "possible misread of " + lookalike in model.index(found, PLATE).data(
        Qt.ItemDataRole.ToolTipRole
    )
    exact = [row for row, r in enumerate(rows) if r.plate == lookalike]
    assert all(model.index(row, PLATE).data() == lookalike for row in exact)


def test_a_read_travels_the_way_its_camera_faces_and_says_travelling(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced_workstation
    facing = {camera.camera_id: camera.direction for camera in workstation.catalog.cameras()}
    reads = workstation.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=1000
    ).rows
    assert reads
    assert all(read.direction == facing[read.camera_id] for read in reads)

    window = _desk(qtbot, workstation, case, runner)
    _search(qtbot, window, "")
    with qtbot.waitSignal(window.image_pane.marks_loaded, timeout=WAIT_MS):
        window.select_row(0)
    read = window.results_model.read_at(0)
    heading = HEADINGS[read.direction]
    assert window.image_pane.camera_value.text().endswith(f"vehicle travelling {heading}")
    tooltip = window.results_model.index(0, CAMERA).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip.endswith(f"vehicle travelling {heading}")
    assert "facing" not in tooltip


def _shown_in_full(window: MainWindow) -> bool:
    status = window.statusBar()
    assert isinstance(status, DeskStatusBar)
    message = status.currentMessage()
    needed = status.fontMetrics().horizontalAdvance(message)
    label = window.connection_label
    return needed <= status.free_width() and label.width() >= label.sizeHint().width()


def test_confirmations_and_the_connection_state_are_not_cut_off_at_the_default_size(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced_workstation
    window = _desk(qtbot, workstation, case, runner)
    window.resize(1384, 840)
    _search(qtbot, window, "")
    with qtbot.waitSignal(window.image_pane.marks_loaded, timeout=WAIT_MS):
        window.select_row(0)
    evidence = window.review_flow.mark_evidence()
    assert evidence is not None
    with qtbot.waitSignal(window.review_marked, timeout=WAIT_MS):
        evidence.accept()
    status = window.statusBar()
    qtbot.waitUntil(lambda: status.currentMessage().startswith("Marked read"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _shown_in_full(window), timeout=5_000)

    outcome = window.review_flow.record_outcome()
    assert outcome is not None
    outcome.set_outcome("lead")
    with qtbot.waitSignal(window.outcome_recorded, timeout=WAIT_MS):
        outcome.accept()
    assert status.currentMessage().startswith("Outcome recorded")
    qtbot.waitUntil(lambda: _shown_in_full(window), timeout=5_000)


def test_the_export_dialog_starts_where_the_last_packet_went_and_says_what_zip_does(
    qtbot: QtBot,
    synced_workstation: tuple[Workstation, str],
    seeded_hub: SeededHub,
    runner: TaskRunner,
    tmp_path: Path,
) -> None:
    workstation, case = synced_workstation
    [read] = workstation.search.run(
        SearchQuery(case_number=case, purpose="robbery", pattern=None), limit=1
    ).rows
    workstation.mark_evidence(read_id=read.read_id, case_number=case)
    confirm_holds(seeded_hub, tmp_path / "technician", case, [read.read_id])
    folder = tmp_path / "packets"
    folder.mkdir()

    def dialog() -> ExportDialog:
        shown = ExportDialog(workstation=workstation, runner=runner, case_number=case)
        qtbot.addWidget(shown)
        with qtbot.waitSignal(shown.evidence_loaded, timeout=WAIT_MS):
            shown.show()
        return shown

    first = dialog()
    assert first.folder_edit.text() != str(folder)
    assert first.zip_box.text() == ZIP_LABEL  # one ZIP instead of the folder: as it does
    first.folder_edit.setText(str(folder))
    first.zip_box.setChecked(True)
    with qtbot.waitSignal(first.export_finished, timeout=60_000) as finished:
        qtbot.mouseClick(first.export_button, Qt.MouseButton.LeftButton)
    packet = finished.args[0].packet
    assert packet.parent == folder
    assert packet.suffix == ".zip"
    assert [p.name for p in folder.iterdir()] == [packet.name]
    first.close()

    assert dialog().folder_edit.text() == str(folder)  # the next export starts there
    reopened = Workstation.open(profile_dir=workstation.profile_dir)
    try:
        assert reopened.export_dir == folder  # and after a restart too
    finally:
        reopened.close()


def test_compare_with_one_read_says_why_and_a_multi_place_plate_opens(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced_workstation
    window = _desk(qtbot, workstation, case, runner)
    _search(qtbot, window, "")
    table = window.results_view
    with qtbot.waitSignal(window.image_pane.marks_loaded, timeout=WAIT_MS):
        where = table.visualRect(window.results_model.index(0, 0)).center()
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert window.selected_rows() == [0]
    assert window.desk_actions.compare.isEnabled()  # not a dead menu item
    with qtbot.waitSignal(window.action_failed, timeout=WAIT_MS) as said:
        window.desk_actions.compare.trigger()
    assert "Ctrl+click a second read" in said.args[0]
    assert window.statusBar().currentMessage() == said.args[0]
    assert window.compare_dialogs == []

    dialog = window.open_multi_place()
    assert dialog is not None
    qtbot.addWidget(dialog)
    cameras = sorted(c.camera_id for c in workstation.catalog.cameras())
    dialog.toggle_camera(cameras[0])
    dialog.add_place()
    dialog.toggle_camera(cameras[1])
    with qtbot.waitSignal(dialog.search_finished, timeout=WAIT_MS) as found:
        dialog.find_plates()
    assert found.args[0] > 0
    plate = dialog.results_model.match_at(0).plate
    view = dialog.results_view
    index = dialog.results_model.index(0, 0)
    panel = window.sightings_panel
    where = view.visualRect(index).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)  # as a person's
    with qtbot.waitSignal(panel.sightings_loaded, timeout=WAIT_MS):  # double click starts
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert window.sightings_shown
    assert panel.plate == plate
