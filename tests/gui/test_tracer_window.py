"""The tracer in the window, against a real hub process on loopback: sign in, choose a case
and purpose, request and sync a slice with the progress bar, search, and see a read's image."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from app.demo import totp_now
from app.ui.desk.case_flow import GATE_CHOOSE, GATE_NEED_SLICE
from app.ui.dialogs.sign_in import SignInDialog
from app.ui.main_window import MainWindow
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.live_hub import JUSTIFICATION, SeededHub

pytestmark = pytest.mark.e2e


@pytest.fixture
def real_workstation(seeded_hub: SeededHub, tmp_path: Path) -> Iterator[Workstation]:
    workstation = Workstation.open(profile_dir=tmp_path / "profile", hub_url=seeded_hub.url)
    yield workstation
    workstation.close()


def test_detective_signs_in_syncs_searches_and_sees_the_image(
    qtbot: QtBot, seeded_hub: SeededHub, real_workstation: Workstation, runner: TaskRunner
) -> None:
    user = seeded_hub.user("detective")
    case = seeded_hub.case_for(user["username"])

    dialog = SignInDialog(
        workstation=real_workstation,
        runner=runner,
        hub_url=seeded_hub.url,
        username=user["username"],
    )
    qtbot.addWidget(dialog)
    dialog.password_edit.setText(user["password"])
    dialog.code_edit.setText("000000")
    with qtbot.waitSignal(dialog.sign_in_failed, timeout=60_000):
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert "Wrong user name, password or code" in dialog.error_label.text()

    dialog.code_edit.setText(totp_now(user["totp_secret"]))
    with qtbot.waitSignal(dialog.signed_in, timeout=60_000):
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert real_workstation.session is not None

    window = MainWindow(real_workstation, runner, demo=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.is_ready, timeout=60_000)
    assert window.gate_reason == GATE_CHOOSE
    assert not window.search_button.isEnabled()

    window.case_bar.select(case_number=case, purpose="robbery")
    qtbot.waitUntil(lambda: window.gate_reason == GATE_NEED_SLICE, timeout=10_000)
    assert not window.search_button.isEnabled()

    slice_dialog = window.open_slice_dialog()
    assert slice_dialog is not None
    slice_dialog.justification_edit.setPlainText(JUSTIFICATION)
    progress_seen: list[int] = []
    slice_dialog.sync_panel.progress_bar.valueChanged.connect(progress_seen.append)
    with qtbot.waitSignal(slice_dialog.sync_finished, timeout=120_000) as synced:
        qtbot.mouseClick(slice_dialog.request_button, Qt.MouseButton.LeftButton)
    assert synced.args[0].reads == slice_dialog.slice.estimated_reads > 0
    assert progress_seen
    assert max(progress_seen) > 0
    qtbot.mouseClick(slice_dialog.close_button, Qt.MouseButton.LeftButton)  # "Done"
    qtbot.waitUntil(lambda: not slice_dialog.isVisible(), timeout=5_000)

    qtbot.waitUntil(lambda: window.gate_reason is None, timeout=10_000)
    assert window.search_button.isEnabled()
    with qtbot.waitSignal(window.search_finished, timeout=60_000) as searched:
        window.run_search("*7K2*")
    total = searched.args[0]
    assert total > 0
    assert window.results_model.rowCount() == min(total, 200)
    first = window.results_model.read_at(0)
    assert "7K2" in first.plate

    with qtbot.waitSignal(window.image_pane.image_shown, timeout=60_000) as shown:
        window.select_row(0)
    assert shown.args[0] == first.read_id
    assert window.image_pane.scene_view.has_image()

    status = real_workstation.audit.status()
    assert status.chain_ok

    # Lock: the engine serves nothing and the window shows no read until the user signs in.
    with qtbot.waitSignal(window.session_locked, timeout=60_000):
        window.desk_actions.lock.trigger()  # Session > Lock now (Ctrl+L)
    assert real_workstation.locked
    shown = _visible_texts(window)
    assert not [text for text in shown if first.plate in text or case in text]
    lock = window.lock_screen
    qtbot.keyClicks(lock.password_edit, user["password"])
    qtbot.keyClicks(lock.code_edit, "000000")
    with qtbot.waitSignal(window.unlock_failed, timeout=60_000):
        qtbot.mouseClick(lock.unlock_button, Qt.MouseButton.LeftButton)
    assert real_workstation.locked
    assert lock.password_edit.text() == user["password"]  # kept: only the code is asked again
    qtbot.keyClicks(lock.code_edit, totp_now(user["totp_secret"]))
    with qtbot.waitSignal(window.session_unlocked, timeout=60_000):
        qtbot.mouseClick(lock.unlock_button, Qt.MouseButton.LeftButton)
    assert not real_workstation.locked
    qtbot.waitUntil(lambda: window.results_model.rowCount() > 0, timeout=60_000)
    actions = [event["action"] for event in real_workstation.journal().events()]
    assert "session.lock" in actions
    assert "image.view" in actions
    runner.shutdown(timeout_ms=20_000)


def _visible_texts(window: MainWindow) -> list[str]:
    texts = [window.windowTitle()]
    for widget in window.findChildren(QWidget):
        if widget.isVisible() and isinstance(widget, QLabel | QLineEdit | QAbstractButton):
            texts.append(widget.text())
    return texts
