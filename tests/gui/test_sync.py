"""Requesting reads and syncing them: estimate, progress, Cancel, refusals."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.records import SyncProgress
from app.ui.dialogs.slice_dialog import SliceDialog
from app.ui.main_window import GATE_NEED_SLICE, MainWindow
from app.ui.widgets.sync_panel import SyncPanel
from app.ui.workers import Lane, TaskRunner
from app.ui.workers.task_runner import BACKGROUND_NICE

from .fakes import CASE, NOW, FakeWorkstation

JUSTIFICATION = "Suspect vehicle seen leaving the pharmacy robbery, heading north"


def _dialog(qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner) -> SliceDialog:
    dialog = SliceDialog(
        workstation=workstation,
        runner=runner,
        case_number=CASE,
        purpose="robbery",
        purpose_label="Robbery",
        now=lambda: NOW,
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.cameras_loaded, timeout=2000):
        dialog.show()
    return dialog


def test_progress_advances_and_cancel_stops_the_sync(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    workstation.pause_sync_after = 1
    panel = SyncPanel(workstation=workstation, runner=runner)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.sync_progressed, timeout=2000) as progressed:
        panel.start("s1")
    assert progressed.args == [SyncProgress("s1", 25, 100, 0)]
    assert (panel.progress_bar.value(), panel.progress_bar.maximum()) == (25, 100)
    assert panel.progress_bar.text() == "25 / 100 reads"
    assert panel.is_running
    assert panel.cancel_button.isEnabled()

    with qtbot.waitSignal(panel.sync_finished, timeout=2000) as finished:
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    result = finished.args[0]
    assert result.cancelled
    assert result.reads == 25
    assert not panel.is_running
    assert not panel.cancel_button.isEnabled()
    assert panel.status_label.text() == "Sync cancelled: 25 reads kept. Sync again to resume."


def test_slice_request_shows_the_estimate_then_syncs(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    dialog = _dialog(qtbot, workstation, runner)
    assert dialog.camera_list.count() == 4
    dialog.camera_list.item(1).setCheckState(Qt.CheckState.Checked)
    dialog.justification_edit.setPlainText(JUSTIFICATION)
    dialog.pattern_edit.setText("7K2*")
    progress: list[object] = []
    dialog.sync_panel.sync_progressed.connect(progress.append)
    with qtbot.waitSignal(dialog.sync_finished, timeout=2000) as finished:
        qtbot.mouseClick(dialog.request_button, Qt.MouseButton.LeftButton)
    assert not finished.args[0].cancelled
    request = workstation.slice_requests[0]
    assert request["camera_ids"] == ["cam-1"]
    assert request["plate_pattern"] == "7K2*"
    assert request["time_to"] - request["time_from"] == timedelta(days=3)
    assert request["time_to"] == NOW
    assert "about 100 reads" in dialog.estimate_label.text()
    assert [p.applied for p in progress] == [25, 50, 75, 100]  # type: ignore[attr-defined]
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum() == 100
    assert dialog.close_button.text() == "Done"
    assert workstation.slices.list(case_number=CASE)[0].complete


def test_clicking_a_camera_on_the_map_limits_the_request_to_it(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    dialog = _dialog(qtbot, workstation, runner)
    cameras = dialog.camera_map.cameras
    assert len(cameras) == dialog.camera_list.count() == 4
    target = cameras[2].camera_id
    where = dialog.camera_map.positions()[target].toPoint()
    qtbot.mouseClick(dialog.camera_map, Qt.MouseButton.LeftButton, pos=where)
    assert dialog.checked_camera_ids() == [target]
    assert dialog.camera_map.selected == {target}
    assert dialog.camera_hint.text() == "1 camera of 4."

    qtbot.mouseClick(dialog.camera_map, Qt.MouseButton.LeftButton, pos=where)  # again: off
    assert dialog.checked_camera_ids() == []
    assert dialog.camera_hint.text() == "None checked: all cameras."

    dialog.camera_list.item(0).setCheckState(Qt.CheckState.Checked)  # the list drives the map
    assert dialog.camera_map.selected == {dialog.camera_list.item(0).data(Qt.ItemDataRole.UserRole)}
    qtbot.mouseClick(dialog.camera_map, Qt.MouseButton.LeftButton, pos=where)
    dialog.justification_edit.setPlainText(JUSTIFICATION)
    with qtbot.waitSignal(dialog.sync_finished, timeout=2000):
        qtbot.mouseClick(dialog.request_button, Qt.MouseButton.LeftButton)
    assert sorted(workstation.slice_requests[0]["camera_ids"]) == sorted(
        [dialog.camera_list.item(0).data(Qt.ItemDataRole.UserRole), target]
    )


def test_a_refusal_shows_the_policy_reason(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    dialog = _dialog(qtbot, workstation, runner)
    dialog.justification_edit.setPlainText("Vehicles parked near the protest downtown")
    with qtbot.waitSignal(dialog.request_failed, timeout=2000) as failed:
        dialog.submit()
    assert failed.args[0] == (
        "The hub refused this request. ALPR data may not be used to monitor protests, "
        "religious services, assemblies or political activity."
    )
    assert dialog.error_label.isVisible()
    assert dialog.request_button.isEnabled()
    assert workstation.sync_calls == []


def test_the_form_is_checked_before_asking_the_hub(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    dialog = _dialog(qtbot, workstation, runner)
    dialog.justification_edit.setPlainText("too short")
    with qtbot.waitSignal(dialog.request_failed, timeout=2000) as failed:
        dialog.submit()
    assert "at least 20 characters" in failed.args[0]
    dialog.justification_edit.setPlainText(JUSTIFICATION)
    qtbot.keyClicks(dialog.pattern_edit, "7K#")
    assert dialog.pattern_error_label.text().endswith("at position 3")
    with qtbot.waitSignal(dialog.request_failed, timeout=2000):
        dialog.submit()
    assert workstation.slice_requests == []


def test_main_window_syncs_a_slice_and_opens_the_gate(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    window = MainWindow(workstation, runner, initial_case=CASE, initial_purpose="robbery")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.is_ready, timeout=2000)
    info = workstation.slices.request(
        case_number=CASE,
        purpose="robbery",
        justification=JUSTIFICATION,
        time_from=NOW - timedelta(days=3),
        time_to=NOW,
    )
    qtbot.waitUntil(lambda: window.gate_reason == GATE_NEED_SLICE, timeout=2000)
    with qtbot.waitSignal(window.sync_finished, timeout=2000):
        window.start_sync(info.slice_id)
        assert window.sync_panel.isVisible()
    assert window.progress_bar.value() == 100
    assert window.last_sync_label.text().startswith("Last sync: ")
    qtbot.waitUntil(lambda: window.gate_reason is None, timeout=2000)
    assert window.search_button.isEnabled()


def test_request_reads_button_opens_the_dialog_for_the_case(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner
) -> None:
    window = MainWindow(workstation, runner)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.is_ready, timeout=2000)
    assert not window.case_bar.request_reads_button.isEnabled()
    window.case_bar.select(case_number=CASE, purpose="robbery")
    assert window.case_bar.request_reads_button.isEnabled()
    qtbot.mouseClick(window.case_bar.request_reads_button, Qt.MouseButton.LeftButton)
    dialog = window.slice_dialog
    assert dialog is not None
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.camera_list.count() == 4, timeout=2000)
    assert dialog.justification_edit.isEnabled()
    dialog.justification_edit.setPlainText(JUSTIFICATION)
    with qtbot.waitSignal(window.sync_finished, timeout=2000):
        dialog.submit()
    qtbot.waitUntil(lambda: window.gate_reason is None, timeout=2000)


def test_a_sync_runs_at_a_lower_cpu_priority_than_the_window(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen: list[int] = []
    runner.run(niceness, on_success=seen.append, on_failure=print, lane=Lane.SYNC)
    qtbot.waitUntil(lambda: bool(seen), timeout=2000)
    window = niceness()
    assert seen == [min(19, window + BACKGROUND_NICE)]
    runner.run(niceness, on_success=seen.append, on_failure=print, lane=Lane.CACHE)
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=2000)
    assert seen[1] == window  # the other lanes keep the window's priority
