"""Idle lock: the lock screen hides every read until the user signs in again; status bar."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from app.ui.main_window import LOCKED_TITLE, MainWindow
from app.ui.widgets.lock_screen import LOCKED_TITLE as LOCK_PANEL_TITLE
from app.ui.workers import TaskRunner

from .conftest import ReadyWindow
from .fakes import CASE, PASSWORD, TOTP, FakeWorkstation


@pytest.fixture
def window(qtbot: QtBot, ready_window: ReadyWindow) -> MainWindow:
    main = ready_window()
    return main


def _visible_texts(window: MainWindow) -> list[str]:
    texts = [window.windowTitle()]
    for widget in window.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel | QLineEdit | QAbstractButton):
            texts.append(widget.text())
    return texts


def _search_and_show(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.search_finished, timeout=2000):
        window.run_search("*7K2*")
    with qtbot.waitSignal(window.image_shown, timeout=2000):
        window.select_row(0)


def test_lock_hides_every_read_and_unlock_restores(
    qtbot: QtBot, window: MainWindow, workstation: FakeWorkstation
) -> None:
    _search_and_show(qtbot, window)
    plate = window.results_model.read_at(0).plate
    assert any(plate in text for text in _visible_texts(window))

    with qtbot.waitSignal(window.session_locked, timeout=2000):
        qtbot.keyClick(window.results_view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert workstation.locked
    assert window.is_locked
    assert window.lock_screen.isVisible()
    assert not window.workspace.isVisible()
    assert window.lock_screen.title_label.text() == LOCK_PANEL_TITLE
    assert window.windowTitle() == LOCKED_TITLE
    plates = {read.plate for read in workstation.reads}
    shown = _visible_texts(window)
    assert not [text for text in shown if any(p in text for p in plates)]
    assert not [text for text in shown if CASE in text]
    # The data is gone from the widgets, not only covered.
    assert window.results_model.rowCount() == 0
    assert window.image_pane.plate_value.text() == "—"
    assert not window.image_pane.scene_view.has_image()
    assert window.query_edit.text() == ""
    assert not window.request_reads_action.isEnabled()
    assert not window.sync_action.isEnabled()

    # A wrong code is said inline and the screen stays locked.
    lock = window.lock_screen
    assert not lock.unlock_button.isEnabled()
    qtbot.keyClicks(lock.password_edit, PASSWORD)
    qtbot.keyClicks(lock.code_edit, "000000")
    with qtbot.waitSignal(window.unlock_failed, timeout=2000) as failed:
        qtbot.mouseClick(lock.unlock_button, Qt.MouseButton.LeftButton)
    assert failed.args == ["Wrong user name, password or code."]
    assert lock.error_label.isVisible()
    assert lock.error_label.text() == "Wrong user name, password or code."
    assert lock.code_edit.text() == ""
    assert window.is_locked
    assert workstation.locked

    qtbot.keyClicks(lock.code_edit, TOTP)
    with qtbot.waitSignal(window.search_finished, timeout=2000) as searched:
        qtbot.keyClick(lock.code_edit, Qt.Key.Key_Return)
    assert workstation.unlock_calls[-1] == {"password": PASSWORD, "totp": TOTP}
    assert searched.args == [90]
    assert not window.is_locked
    assert window.workspace.isVisible()
    assert not window.lock_screen.isVisible()
    assert window.query_edit.text() == "*7K2*"
    assert window.windowTitle() == f"Platedesk — case {CASE}"
    assert lock.password_edit.text() == ""  # the password does not linger in the widget
    assert window.request_reads_action.isEnabled()


def test_idle_time_locks_the_window(
    qtbot: QtBot, window: MainWindow, workstation: FakeWorkstation
) -> None:
    assert window.idle_watcher.timeout_ms == workstation.idle_lock_seconds * 1000
    assert window.idle_watcher.is_active
    with qtbot.waitSignal(window.session_locked, timeout=3000):
        window.idle_watcher.set_timeout_ms(50)
    assert workstation.lock_calls == 1
    assert window.lock_screen.isVisible()
    assert not window.idle_watcher.is_active  # no second lock while locked


def test_input_postpones_the_idle_lock(qtbot: QtBot, window: MainWindow) -> None:
    window.idle_watcher.set_timeout_ms(400)
    with qtbot.assertNotEmitted(window.session_locked, wait=250):
        pass
    qtbot.keyClick(window.query_edit, Qt.Key.Key_A)
    with qtbot.assertNotEmitted(window.session_locked, wait=250):
        pass
    assert not window.is_locked
    window.idle_watcher.set_timeout_ms(0)  # off
    assert not window.idle_watcher.is_active


def test_status_bar_shows_the_cache_size(
    qtbot: QtBot, workstation: FakeWorkstation, runner: TaskRunner, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.db"
    cache.write_bytes(b"\0" * 3 * 1024 * 1024)
    (tmp_path / "cache.db-wal").write_bytes(b"\0" * 512 * 1024)
    workstation.cache_file = cache
    window = MainWindow(workstation, runner)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.cache_label.text() == "Cache: 3.5 MB", timeout=2000)
    with qtbot.waitSignal(
        window.cache_size_refreshed,
        timeout=2000,
        check_params_cb=lambda size: size == 2048 + 512 * 1024,
    ):
        cache.write_bytes(b"\0" * 2048)
        window.refresh_status()
    assert window.cache_label.text() == "Cache: 514.0 KB"


def test_sync_now_pulls_the_case_slice(
    qtbot: QtBot, window: MainWindow, workstation: FakeWorkstation
) -> None:
    with qtbot.waitSignal(window.sync_finished, timeout=3000):
        qtbot.keyClick(window.results_view, Qt.Key.Key_F5)
    slice_id = workstation.slices.list(case_number=CASE)[0].slice_id
    assert workstation.sync_calls == [slice_id]


def test_dark_theme_can_be_switched_on_and_off_and_is_remembered(
    qtbot: QtBot, window: MainWindow, workstation: FakeWorkstation
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    sheet, palette = app.styleSheet(), app.palette()
    try:
        with qtbot.waitSignal(window.theme_changed, timeout=1000) as changed:
            window.dark_theme_action.trigger()
        assert changed.args == [True]
        assert app.property("darkTheme") is True
        assert "dark theme" in app.styleSheet()
        assert app.palette().window().color().lightness() < 80
        qtbot.waitUntil(lambda: workstation.dark_theme, timeout=1000)  # kept for next time
        window.dark_theme_action.trigger()
        assert app.property("darkTheme") is False
        qtbot.waitUntil(lambda: not workstation.dark_theme, timeout=1000)
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)


def test_the_window_purges_expired_reads_hourly(
    qtbot: QtBot, window: MainWindow, workstation: FakeWorkstation
) -> None:
    from app.services.clock import PURGE_S, Chore

    assert window.clock.settings.purge_s == PURGE_S == 3600
    assert Chore.PURGE not in window.clock.due()  # not due at start
    window.clock._next[Chore.PURGE] = 0.0  # an hour has passed
    window.run_due_chores()
    qtbot.waitUntil(lambda: workstation.purge_calls == 1, timeout=2000)


def test_while_locked_no_menu_opens(qtbot: QtBot, window: MainWindow) -> None:
    assert window.menuBar().isEnabled()
    with qtbot.waitSignal(window.session_locked, timeout=2000):
        window.lock_session()
    assert not window.menuBar().isEnabled()


def test_sign_out_and_switch_user_are_in_the_session_menu(
    qtbot: QtBot, window: MainWindow, workstation: FakeWorkstation
) -> None:
    [session_menu] = [
        action.menu() for action in window.menuBar().actions() if action.text() == "&Session"
    ]
    texts = [action.text() for action in session_menu.actions()]  # type: ignore[union-attr]
    assert "Sign out" in texts
    assert "Switch user…" in texts
    with qtbot.waitSignal(window.signed_out, timeout=2000) as ended:
        window.switch_user_action.trigger()
    assert ended.args == [True]
    assert not workstation.signed_in
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)
