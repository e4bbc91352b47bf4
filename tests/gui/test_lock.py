"""Idle lock: the lock screen hides every read until the user signs in again; status bar;
the real desk over a temporary cache and a real hub on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QLabel,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.cache.connection import cache_files
from app.core.canonical import utc_iso
from app.core.plates import parse_pattern
from app.core.records import SearchQuery
from app.demo import totp_now
from app.ui.desk.lock_flow import LOCKED_TITLE
from app.ui.formatting import file_size
from app.ui.main_window import MainWindow
from app.ui.widgets.lock_screen import LOCKED_TITLE as LOCK_PANEL_TITLE
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.live_hub import SeededHub

from .conftest import Desk

pytestmark = pytest.mark.e2e


def _visible_texts(window: MainWindow) -> list[str]:
    texts = [window.windowTitle()]
    for widget in window.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel | QLineEdit | QAbstractButton):
            texts.append(widget.text())
    return texts


def _journaled(workstation: Workstation, action: str) -> list[dict[str, object]]:
    return [e for e in workstation.journal().events() if e["action"] == action]


def _query(case: str, text: str | None = None) -> SearchQuery:
    return SearchQuery(
        case_number=case, purpose="robbery", pattern=parse_pattern(text) if text else None
    )


def test_lock_hides_every_read_and_unlock_restores(
    qtbot: QtBot, desk: Desk, seeded_hub: SeededHub
) -> None:
    window, workstation, case = desk
    everything = workstation.search.run(_query(case), limit=100_000).rows
    pattern = f"{everything[0].plate[:3]}*"
    matching = workstation.search.run(_query(case, pattern), limit=1).total
    with qtbot.waitSignal(window.search_finished, timeout=20_000):
        window.run_search(pattern)
    with qtbot.waitSignal(window.image_shown, timeout=20_000):
        window.select_row(0)
    plate = window.results_model.read_at(0).plate
    assert any(plate in text for text in _visible_texts(window))
    # A dialog the user had open (here: marking evidence, a note half typed) is hidden by
    # the lock and comes back as it was after unlock.
    marking = window.review_flow.mark_evidence()
    assert marking is not None
    qtbot.waitUntil(marking.isVisible)
    marking.note_edit.setPlainText("half a note")

    with qtbot.waitSignal(window.session_locked, timeout=20_000):
        window.idle_watcher.idle.emit()  # the user stepped away, the dialog still open
    assert workstation.locked
    assert len(_journaled(workstation, "session.lock")) == 1
    assert window.is_locked
    assert window.lock_screen.isVisible()
    assert not window.workspace.isVisible()
    assert window.lock_screen.title_label.text() == LOCK_PANEL_TITLE
    assert window.windowTitle() == LOCKED_TITLE
    plates = {read.plate for read in everything}
    shown = _visible_texts(window)
    assert not [text for text in shown if any(p in text for p in plates)]
    assert not [text for text in shown if case in text]
    assert not [d for d in window.findChildren(QDialog) if d.isVisible()]
    # The data is gone from the widgets, not only covered.
    assert window.results_model.rowCount() == 0
    assert window.image_pane.plate_value.text() == "—"
    assert not window.image_pane.scene_view.has_image()
    assert window.query_edit.text() == ""
    assert not window.desk_actions.request_reads.isEnabled()
    assert not window.desk_actions.sync.isEnabled()

    # A wrong code is said inline and the screen stays locked.
    user = seeded_hub.user("detective")
    lock = window.lock_screen
    assert not lock.unlock_button.isEnabled()
    qtbot.keyClicks(lock.password_edit, user["password"])
    code = totp_now(user["totp_secret"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    qtbot.keyClicks(lock.code_edit, wrong)
    with qtbot.waitSignal(window.unlock_failed, timeout=20_000) as failed:
        qtbot.mouseClick(lock.unlock_button, Qt.MouseButton.LeftButton)
    assert failed.args == ["Wrong user name, password or code."]
    assert lock.error_label.isVisible()
    assert lock.error_label.text() == "Wrong user name, password or code."
    assert lock.code_edit.text() == ""
    assert window.is_locked
    assert workstation.locked
    assert [e["outcome"] for e in _journaled(workstation, "session.unlock")] == ["refused"]

    qtbot.keyClicks(lock.code_edit, totp_now(user["totp_secret"]))
    with qtbot.waitSignal(window.search_finished, timeout=20_000) as searched:
        qtbot.keyClick(lock.code_edit, Qt.Key.Key_Return)
    assert not workstation.locked  # signed in again at the hub
    assert searched.args == [matching]
    assert not window.is_locked
    assert window.workspace.isVisible()
    assert not window.lock_screen.isVisible()
    assert window.query_edit.text() == pattern
    assert window.windowTitle() == f"Platedesk — case {case}"
    assert lock.password_edit.text() == ""  # the password does not linger in the widget
    assert marking.isVisible()
    assert marking.note == "half a note"
    assert window.desk_actions.request_reads.isEnabled()


def test_idle_time_locks_the_window(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, _case = desk
    assert window.idle_watcher.timeout_ms == workstation.idle_lock_seconds * 1000
    assert window.idle_watcher.is_active
    with qtbot.waitSignal(window.session_locked, timeout=20_000):
        window.idle_watcher.set_timeout_ms(50)
    assert len(_journaled(workstation, "session.lock")) == 1
    assert window.lock_screen.isVisible()
    assert not window.idle_watcher.is_active  # no second lock while locked


def test_input_postpones_the_idle_lock(qtbot: QtBot, desk: Desk) -> None:
    window = desk[0]
    window.idle_watcher.set_timeout_ms(400)
    with qtbot.assertNotEmitted(window.session_locked, wait=250):
        pass
    qtbot.keyClick(window.query_edit, Qt.Key.Key_A)
    with qtbot.assertNotEmitted(window.session_locked, wait=250):
        pass
    assert not window.is_locked
    window.idle_watcher.set_timeout_ms(0)  # off
    assert not window.idle_watcher.is_active


def _on_disk(path: Path) -> int:
    """The cache's bytes on disk: both its files, each with its write-ahead log."""
    return sum(file.stat().st_size for file in cache_files(path) if file.exists())


def test_status_bar_shows_the_cache_size(
    qtbot: QtBot, synced_workstation: tuple[Workstation, str], runner: TaskRunner
) -> None:
    workstation, case = synced_workstation
    path = workstation.cache_path
    window = MainWindow(workstation, runner)
    qtbot.addWidget(window)
    qtbot.waitUntil(
        lambda: window.cache_label.text() == f"Cache: {file_size(_on_disk(path))}",
        timeout=20_000,
    )
    before = _on_disk(path)
    # The journal grows the cache (each search is an event). The sync's last checkpoint
    # leaves its WAL empty but not shorter, so the first events reuse that room: search
    # until the file grows, as it must once the WAL's room is used and checkpointed.
    for _ in range(3000):
        workstation.search.run(_query(case), limit=1)
        if _on_disk(path) > before:
            break
    assert _on_disk(path) > before
    with qtbot.waitSignal(window.cache_size_refreshed, timeout=20_000) as refreshed:
        window.chores.refresh_status()
    assert refreshed.args[0] > before
    qtbot.waitUntil(
        lambda: window.cache_label.text() == f"Cache: {file_size(_on_disk(path))}",
        timeout=20_000,
    )


def test_sync_now_pulls_the_case_slice(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, case = desk
    slice_id = workstation.slices.list(case_number=case)[0].slice_id
    syncs = len(_journaled(workstation, "sync.end"))
    with qtbot.waitSignal(window.sync_finished, timeout=20_000):
        qtbot.keyClick(window.results_view, Qt.Key.Key_F5)
    ended = _journaled(workstation, "sync.end")[syncs:]
    assert [e["object_refs"]["slice_id"] for e in ended] == [slice_id]  # type: ignore[index]


def test_dark_theme_can_be_switched_on_and_off_and_is_remembered(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, _case = desk
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    sheet, palette = app.styleSheet(), app.palette()
    try:
        with qtbot.waitSignal(window.theme_changed, timeout=1000) as changed:
            window.desk_actions.dark_theme.trigger()
        assert changed.args == [True]
        assert app.property("darkTheme") is True
        assert "dark theme" in app.styleSheet()
        assert app.palette().window().color().lightness() < 80
        qtbot.waitUntil(lambda: workstation.dark_theme, timeout=20_000)  # kept for next time
        window.desk_actions.dark_theme.trigger()
        assert app.property("darkTheme") is False
        qtbot.waitUntil(lambda: not workstation.dark_theme, timeout=20_000)
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)


def test_the_window_purges_expired_reads_hourly(qtbot: QtBot, desk: Desk) -> None:
    from app.services.clock import PURGE_S, Chore

    window, workstation, case = desk
    assert window.chores.clock.settings.purge_s == PURGE_S == 3600
    assert Chore.PURGE not in window.chores.clock.due()  # not due at start
    # One cached read has grown old (as if the cache had been offline for 40 days).
    old = workstation.search.run(_query(case), limit=1).rows[0].read_id
    db = workstation.core.db()
    with db.atomic():
        db.execute(
            "UPDATE reads SET captured_at = ? WHERE read_id = ?",
            (utc_iso(datetime.now(UTC) - timedelta(days=40)), old),
        )
    window.chores.clock._next[Chore.PURGE] = 0.0  # an hour has passed
    window.chores.run_due_chores()
    qtbot.waitUntil(lambda: bool(_journaled(workstation, "retention.purge")), timeout=20_000)
    [purged] = _journaled(workstation, "retention.purge")
    assert purged["params"]["purged"] == 1  # type: ignore[index]
    remaining = workstation.search.run(_query(case), limit=100_000).rows
    assert old not in {r.read_id for r in remaining}


def test_while_locked_no_menu_opens(qtbot: QtBot, desk: Desk) -> None:
    window = desk[0]
    assert window.menuBar().isEnabled()
    with qtbot.waitSignal(window.session_locked, timeout=20_000):
        window.lock_flow.lock()
    assert not window.menuBar().isEnabled()


def test_sign_out_and_switch_user_are_in_the_session_menu(qtbot: QtBot, desk: Desk) -> None:
    window, workstation, _case = desk
    [session_menu] = [
        action.menu() for action in window.menuBar().actions() if action.text() == "&Session"
    ]
    texts = [action.text() for action in session_menu.actions()]  # type: ignore[union-attr]
    assert "Sign out" in texts
    assert "Switch user…" in texts
    with qtbot.waitSignal(window.signed_out, timeout=20_000) as ended:
        window.desk_actions.switch_user.trigger()
    assert ended.args == [True]
    assert workstation.session is None
    assert len(_journaled(workstation, "session.sign_out")) == 1
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
