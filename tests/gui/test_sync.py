"""Requesting reads and syncing them: estimate, progress, Cancel, refusals; the real
services over a temporary cache and a real hub on loopback (a double only at the network
edge: a transport that can hold the change feed)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.records import SyncProgress
from app.demo import totp_now
from app.ui.desk.case_flow import GATE_NEED_SLICE
from app.ui.dialogs.slice_dialog import SliceDialog
from app.ui.formatting import count_of
from app.ui.main_window import MainWindow
from app.ui.widgets.sync_panel import SyncPanel
from app.ui.workers import Lane, TaskRunner
from app.ui.workers.task_runner import BACKGROUND_NICE
from app.workstation import Workstation
from tests.support.live_hub import SeededHub

pytestmark = pytest.mark.e2e

JUSTIFICATION = "Suspect vehicle seen leaving the pharmacy robbery, heading north"
PAGE = 100


class FeedGate(httpx.HTTPTransport):
    """The real transport; once `hold_after` change-feed pages have passed, the next one
    waits until `release` is set (a slow line, mid-sync)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_after: int | None = None
        self.pages = 0
        self.release = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/changes"):
            if self.hold_after is not None and self.pages >= self.hold_after:
                self.release.wait(30)
            self.pages += 1
        return super().handle_request(request)


@pytest.fixture
def gate() -> Iterator[FeedGate]:
    transport = FeedGate()
    yield transport
    transport.release.set()  # never leave a worker waiting


@pytest.fixture
def signed_in(
    seeded_hub: SeededHub, tmp_path: Path, gate: FeedGate
) -> Iterator[tuple[Workstation, str]]:
    """The detective signed in through the gate, feed pages of 100, no slice yet."""
    user = seeded_hub.user("detective")
    workstation = Workstation.open(
        profile_dir=tmp_path / "profile", hub_url=seeded_hub.url, transport=gate
    )
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    workstation.settings.feed_page_size = PAGE
    yield workstation, seeded_hub.case_for(user["username"])
    workstation.close()


Signed = tuple[Workstation, str]


def _journaled(workstation: Workstation, action: str) -> list[dict[str, object]]:
    return [e for e in workstation.journal().events() if e["action"] == action]


def _request(workstation: Workstation, case: str) -> str:
    now = datetime.now(UTC)
    return workstation.slices.request(
        case_number=case, purpose="robbery", justification=JUSTIFICATION,
        time_from=now - timedelta(days=3), time_to=now,
    ).slice_id  # fmt: skip


def _dialog(qtbot: QtBot, signed_in: Signed, runner: TaskRunner, now: datetime) -> SliceDialog:
    workstation, case = signed_in
    dialog = SliceDialog(
        workstation=workstation,
        runner=runner,
        case_number=case,
        purpose="robbery",
        purpose_label="Robbery",
        now=lambda: now,
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.cameras_loaded, timeout=20_000):
        dialog.show()
    return dialog


def test_progress_advances_and_cancel_stops_the_sync(
    qtbot: QtBot, signed_in: Signed, runner: TaskRunner, gate: FeedGate
) -> None:
    workstation, case = signed_in
    slice_id = _request(workstation, case)
    gate.hold_after = 1
    panel = SyncPanel(workstation=workstation, runner=runner)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.sync_progressed, timeout=20_000) as progressed:
        panel.start(slice_id)
    first = progressed.args[0]
    assert isinstance(first, SyncProgress)
    assert (first.slice_id, first.applied) == (slice_id, PAGE)
    assert first.estimated > 2 * PAGE
    assert (panel.progress_bar.value(), panel.progress_bar.maximum()) == (PAGE, first.estimated)
    assert panel.progress_bar.text() == f"{PAGE} / {first.estimated} reads"
    assert panel.is_running
    assert panel.cancel_button.isEnabled()

    with qtbot.waitSignal(panel.sync_finished, timeout=20_000) as finished:
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        gate.release.set()
    result = finished.args[0]
    assert result.cancelled
    assert PAGE <= result.reads < first.estimated
    assert not panel.is_running
    assert not panel.cancel_button.isEnabled()
    assert panel.status_label.text() == (
        f"Sync cancelled: {count_of(result.reads, 'read')} kept. Sync again to resume."
    )
    assert not workstation.slices.list(case_number=case)[0].complete


def test_slice_request_shows_the_estimate_then_syncs(
    qtbot: QtBot, signed_in: Signed, runner: TaskRunner
) -> None:
    workstation, case = signed_in
    now = datetime.now(UTC).replace(microsecond=0)
    dialog = _dialog(qtbot, signed_in, runner, now)
    cameras = workstation.catalog.cameras()
    assert dialog.camera_list.count() == len(cameras)
    dialog.camera_list.item(1).setCheckState(Qt.CheckState.Checked)
    checked = dialog.camera_list.item(1).data(Qt.ItemDataRole.UserRole)
    dialog.justification_edit.setPlainText(JUSTIFICATION)
    progress: list[SyncProgress] = []
    dialog.sync_panel.sync_progressed.connect(progress.append)
    with qtbot.waitSignal(dialog.sync_finished, timeout=60_000) as finished:
        qtbot.mouseClick(dialog.request_button, Qt.MouseButton.LeftButton)
    assert not finished.args[0].cancelled
    [request] = _journaled(workstation, "slice.request")
    params = request["params"]
    assert isinstance(params, dict)
    assert params["camera_ids"] == [checked]
    assert params["plate_pattern"] is None
    time_from = datetime.fromisoformat(params["time_from"])
    time_to = datetime.fromisoformat(params["time_to"])
    assert time_to - time_from == timedelta(days=3)
    assert time_to == now
    estimated = params["estimated_reads"]
    assert f"about {estimated:,} reads" in dialog.estimate_label.text()
    applied = [p.applied for p in progress]
    assert applied == sorted(applied)
    assert applied[-1] == finished.args[0].reads
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum()
    assert dialog.close_button.text() == "Done"
    assert workstation.slices.list(case_number=case)[0].complete


def test_clicking_a_camera_on_the_map_limits_the_request_to_it(
    qtbot: QtBot, signed_in: Signed, runner: TaskRunner
) -> None:
    workstation = signed_in[0]
    dialog = _dialog(qtbot, signed_in, runner, datetime.now(UTC))
    cameras = dialog.camera_map.cameras
    assert len(cameras) == dialog.camera_list.count() == len(workstation.catalog.cameras())
    target = cameras[2].camera_id
    where = dialog.camera_map.positions()[target].toPoint()
    qtbot.mouseClick(dialog.camera_map, Qt.MouseButton.LeftButton, pos=where)
    assert dialog.checked_camera_ids() == [target]
    assert dialog.camera_map.selected == {target}
    assert dialog.camera_hint.text() == f"1 camera of {len(cameras)}."

    qtbot.mouseClick(dialog.camera_map, Qt.MouseButton.LeftButton, pos=where)  # again: off
    assert dialog.checked_camera_ids() == []
    assert dialog.camera_hint.text() == "None checked: all cameras."

    dialog.camera_list.item(0).setCheckState(Qt.CheckState.Checked)  # the list drives the map
    first = dialog.camera_list.item(0).data(Qt.ItemDataRole.UserRole)
    assert dialog.camera_map.selected == {first}
    qtbot.mouseClick(dialog.camera_map, Qt.MouseButton.LeftButton, pos=where)
    dialog.justification_edit.setPlainText(JUSTIFICATION)
    with qtbot.waitSignal(dialog.sync_finished, timeout=60_000):
        qtbot.mouseClick(dialog.request_button, Qt.MouseButton.LeftButton)
    [request] = _journaled(workstation, "slice.request")
    assert sorted(request["params"]["camera_ids"]) == sorted([first, target])  # type: ignore[index]


def test_a_refusal_shows_the_policy_reason(
    qtbot: QtBot, signed_in: Signed, runner: TaskRunner
) -> None:
    workstation = signed_in[0]
    dialog = _dialog(qtbot, signed_in, runner, datetime.now(UTC))
    dialog.justification_edit.setPlainText("Vehicles parked near the protest downtown")
    with qtbot.waitSignal(dialog.request_failed, timeout=20_000) as failed:
        dialog.submit()
    assert failed.args[0].startswith("The hub refused this request.")
    assert "may not be used to monitor protests" in failed.args[0]
    assert dialog.error_label.isVisible()
    assert dialog.request_button.isEnabled()
    assert len(_journaled(workstation, "slice.refused")) == 1
    assert _journaled(workstation, "sync.start") == []


def test_the_form_is_checked_before_asking_the_hub(
    qtbot: QtBot, signed_in: Signed, runner: TaskRunner
) -> None:
    workstation = signed_in[0]
    dialog = _dialog(qtbot, signed_in, runner, datetime.now(UTC))
    dialog.justification_edit.setPlainText("too short")
    with qtbot.waitSignal(dialog.request_failed, timeout=20_000) as failed:
        dialog.submit()
    assert "at least 20 characters" in failed.args[0]
    dialog.justification_edit.setPlainText(JUSTIFICATION)
    qtbot.keyClicks(dialog.pattern_edit, "7K#")
    assert dialog.pattern_error_label.text().endswith("at position 3")
    with qtbot.waitSignal(dialog.request_failed, timeout=20_000):
        dialog.submit()
    assert _journaled(workstation, "slice.request") == []
    assert _journaled(workstation, "slice.refused") == []


def test_main_window_syncs_a_slice_and_opens_the_gate(
    qtbot: QtBot, signed_in: Signed, runner: TaskRunner
) -> None:
    workstation, case = signed_in
    window = MainWindow(workstation, runner, initial_case=case, initial_purpose="robbery")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.is_ready, timeout=20_000)
    slice_id = _request(workstation, case)
    qtbot.waitUntil(lambda: window.gate_reason == GATE_NEED_SLICE, timeout=20_000)
    with qtbot.waitSignal(window.sync_finished, timeout=60_000):
        window.start_sync(slice_id)
        assert window.sync_panel.isVisible()
    assert window.progress_bar.value() == window.progress_bar.maximum()
    assert window.last_sync_label.text().startswith("Last sync: ")
    qtbot.waitUntil(lambda: window.gate_reason is None, timeout=20_000)
    assert window.search_button.isEnabled()


def test_request_reads_button_opens_the_dialog_for_the_case(
    qtbot: QtBot, signed_in: Signed, runner: TaskRunner
) -> None:
    workstation, case = signed_in
    window = MainWindow(workstation, runner)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.is_ready, timeout=20_000)
    assert not window.case_bar.request_reads_button.isEnabled()
    window.case_bar.select(case_number=case, purpose="robbery")
    assert window.case_bar.request_reads_button.isEnabled()
    qtbot.mouseClick(window.case_bar.request_reads_button, Qt.MouseButton.LeftButton)
    dialog = window.slice_dialog
    assert dialog is not None
    assert dialog.isVisible()
    cameras = len(workstation.catalog.cameras())
    qtbot.waitUntil(lambda: dialog.camera_list.count() == cameras, timeout=20_000)
    assert dialog.justification_edit.isEnabled()
    dialog.justification_edit.setPlainText(JUSTIFICATION)
    with qtbot.waitSignal(window.sync_finished, timeout=60_000):
        dialog.submit()
    qtbot.waitUntil(lambda: window.gate_reason is None, timeout=20_000)


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
