"""Locking, unlocking and signing out. The lock hides case data by one mechanism: every
widget that shows case data is registered with the window as a `Concealable`, and every
open dialog of the window is hidden, then shown again after unlock."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

import shiboken6
from PySide6.QtWidgets import QDialog

from app.core.records import SearchQuery, SessionInfo
from app.ui.errors import user_message
from app.ui.operations import session as session_ops
from app.ui.widgets.lock_screen import LOCKING

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)

LOCKED_TITLE = "Platedesk — locked"


class Concealable(Protocol):
    """A widget or model that shows case data and drops it all when the desk locks."""

    def conceal(self) -> None: ...


class LockFlow:
    """Lock now (or when idle), unlock with password and code, sign out."""

    def __init__(self, window: MainWindow) -> None:
        self._w = window
        self._hidden: list[QDialog] = []  # the dialogs the lock hid, shown again on unlock
        self._restore_query_text = ""
        self._restore_search: SearchQuery | None = None

    def lock(self) -> None:
        """Cover the window at once, drop every read from the widgets, then lock the engine."""
        window = self._w
        if window.is_locked or window.closing:
            return
        window.is_locked = True
        window.idle_watcher.stop()
        # What to bring back after unlock: the search text and the search itself.
        self._restore_query_text = window.query_edit.text()
        self._restore_search = window.last_query
        window.stack.setCurrentWidget(window.lock_screen)
        self._hidden = [d for d in window.findChildren(QDialog) if d.isVisible()]
        for dialog in self._hidden:
            dialog.hide()  # an export or a sync in a dialog goes on meanwhile
        for holder in window.data_holders:
            holder.conceal()
        window.desk_actions.set_data_enabled(False)
        window.desk_actions.update()
        window.setWindowTitle(LOCKED_TITLE)
        window.lock_screen.set_session(window.workstation.session)
        window.lock_screen.reset()
        window.lock_screen.set_busy(True, LOCKING)
        session_ops.lock(
            workstation=window.workstation, runner=window.runner,
            on_success=lambda _none: self._engine_locked(), on_failure=self._lock_failed,
        )  # fmt: skip

    def _engine_locked(self) -> None:
        self._w.lock_screen.set_busy(False)
        self._w.lock_screen.password_edit.setFocus()
        self._w.session_locked.emit()

    def _lock_failed(self, exc: BaseException) -> None:
        # The screen stays locked: unlocking re-authenticates at the hub either way.
        log.warning("the session could not be locked in the engine (%s)", type(exc).__name__)
        self._engine_locked()

    def unlock_requested(self, password: str, code: str) -> None:
        session_ops.unlock(
            workstation=self._w.workstation, runner=self._w.runner, password=password,
            totp=code, on_success=self._unlocked, on_failure=self._unlock_refused,
        )  # fmt: skip

    def _unlock_refused(self, exc: BaseException) -> None:
        message = user_message(exc)
        self._w.chores.note_hub(exc)
        self._w.lock_screen.show_error(message)
        self._w.unlock_failed.emit(message)

    def _unlocked(self, session: SessionInfo) -> None:
        window = self._w
        window.is_locked = False
        window.show_user(session)
        window.lock_screen.reset()
        window.lock_screen.set_busy(False)
        window.desk_actions.set_data_enabled(True)
        window.desk_actions.apply_role(session)
        window.review_flow.load_saved_searches()
        window.restore_sightings()
        case_number = window.case_bar.case_number
        window.setWindowTitle(f"Platedesk — case {case_number}" if case_number else "Platedesk")
        window.stack.setCurrentWidget(window.workspace)
        window.query_edit.setText(self._restore_query_text)
        hidden, self._hidden = self._hidden, []
        for dialog in hidden:
            if shiboken6.isValid(dialog):
                dialog.show()
        search, self._restore_search = self._restore_search, None
        if search is not None:
            window.start_search(search)
        window.idle_watcher.start()
        window.chores.refresh_status()
        window.alerts_panel.start()
        window.session_unlocked.emit()

    # -- signing out -----------------------------------------------------

    def sign_out(self, *, switch: bool = False) -> None:
        """Sign out (journaled, delivered, tokens removed), then close the window; the
        application then asks who signs in next (`signed_out`)."""
        window = self._w
        if window.closing or window.is_locked:
            return
        window.menuBar().setEnabled(False)
        window.statusBar().showMessage("Signing out…")
        session_ops.sign_out(
            workstation=window.workstation, runner=window.runner,
            on_success=lambda _none: self._signed_out(switch), on_failure=self._sign_out_failed,
        )  # fmt: skip

    def _signed_out(self, switch: bool) -> None:
        self._w.signed_out.emit(switch)
        self._w.close()

    def _sign_out_failed(self, exc: BaseException) -> None:
        self._w.menuBar().setEnabled(True)
        self._w.review_flow.action_failed(exc)
