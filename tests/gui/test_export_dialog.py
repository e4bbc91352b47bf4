"""The evidence technician's export: evidence and holds listed, regions drawn, progress, Cancel."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.dialogs.export_dialog import HOLD, REDACTION, ExportDialog
from app.ui.main_window import MainWindow
from app.ui.workers import TaskRunner
from app.vision.redact import Region

from .conftest import ReadyWindow
from .fakes import CASE, FakeWorkstation


def _dialog(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner, out_dir: Path
) -> ExportDialog:
    workstation.role = "evidence_technician"
    workstation.evidence_reads = [workstation.reads[0].read_id, workstation.reads[3].read_id]
    dialog = ExportDialog(
        workstation=workstation,  # type: ignore[arg-type]
        runner=runner,
        case_number=CASE,
        out_dir=out_dir,
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.evidence_loaded, timeout=2000):
        dialog.show()
    return dialog


def test_the_export_lists_the_evidence_with_its_holds(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, workstation, runner, tmp_path)
    assert [r.read_id for r in dialog.reads] == workstation.evidence_reads
    assert dialog.table.rowCount() == 2
    assert dialog.table.item(0, 0).text() == workstation.reads[0].plate
    assert dialog.table.item(0, HOLD).text() == "Proposed"
    assert "exporting confirms it" in dialog.table.item(0, HOLD).toolTip()
    assert dialog.status_label.text() == "2 reads marked as evidence."
    assert dialog.export_button.isEnabled()


def test_dragging_on_the_image_adds_a_region_to_blur(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, workstation, runner, tmp_path)
    view = dialog.region_view
    qtbot.waitUntil(lambda: view.scene().items() != [], timeout=2000)
    start, end = view.mapFromScene(20, 20), view.mapFromScene(120, 80)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), pos=end)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    [region] = view.regions
    assert abs(region.x - 20) <= 2
    assert abs(region.w - 100) <= 3
    read_id = workstation.evidence_reads[0]
    assert dialog.redactions[read_id].regions == (region,)
    assert dialog.table.item(0, REDACTION).text() == "1 region blurred"

    inside = view.mapFromScene(60, 50)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=inside)
    assert view.regions == ()
    assert read_id not in dialog.redactions
    assert dialog.table.item(0, REDACTION).text() == "None"


def test_export_sends_the_redactions_and_reports_the_packet(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, workstation, runner, tmp_path)
    qtbot.waitUntil(lambda: dialog.region_view.scene().items() != [], timeout=2000)
    dialog.region_view.add_region(Region(5, 5, 30, 20))
    dialog.zip_box.setChecked(True)
    with qtbot.waitSignal(dialog.export_finished, timeout=5000) as finished:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert finished.args[0].reads == 2
    [export] = workstation.exports
    assert export["out_dir"] == tmp_path
    assert export["zip"] is True
    redactions = export["redactions"]
    assert isinstance(redactions, dict)
    assert redactions[workstation.evidence_reads[0]].regions == (Region(5, 5, 30, 20),)
    assert "written to" in dialog.result_label.text()
    assert "The hub has recorded its receipt." in dialog.result_label.text()


def test_cancel_stops_the_export_and_says_nothing_was_written(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, workstation, runner, tmp_path)
    workstation.pause_export = threading.Event()
    dialog.export()
    assert dialog.is_exporting
    assert dialog.close_button.text() == "Cancel"
    with qtbot.waitSignal(dialog.export_cancelled, timeout=5000):
        qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert not dialog.is_exporting
    assert dialog.result_label.text() == "Export cancelled: nothing was written."
    assert workstation.exports == []


def test_a_missing_folder_is_named_before_anything_starts(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, workstation, runner, tmp_path)
    dialog.folder_edit.setText(str(tmp_path / "nowhere"))
    with qtbot.waitSignal(dialog.export_failed, timeout=2000) as failed:
        dialog.export()
    assert "is not a folder" in failed.args[0]
    assert not dialog.is_exporting


def test_only_technicians_and_supervisors_get_the_export(
    qtbot: QtBot, ready_window: ReadyWindow, workstation: FakeWorkstation
) -> None:
    window: MainWindow = ready_window()
    assert window.role == "detective"
    assert not window.export_action.isVisible()
    assert window.open_export() is None
    workstation.role = "evidence_technician"
    window._apply_role(workstation.session)
    assert window.export_action.isEnabled()
    dialog = window.open_export()
    assert dialog is not None
    assert dialog.windowTitle() == f"Export evidence — case {CASE}"
