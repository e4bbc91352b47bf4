"""The desk's work with the hub and the cache between the user's actions: sync, the hub
check and audit upload, the purge, the status bar, and a supervisor's open questions."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from app.core.records import HubContact, JournalStatus, SliceInfo, SyncResult
from app.core.schemas import JustificationRequestPublic
from app.services.clock import Chore, Clock
from app.ui.errors import is_unreachable, user_message
from app.ui.formatting import count_of, file_size
from app.ui.operations import catalog as catalog_ops
from app.ui.operations import oversight as oversight_ops
from app.ui.operations import status as status_ops
from app.ui.widgets.review_queue_panel import AnswerDialog

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)

ONLINE = "Online"
OFFLINE = "Offline: working from this workstation's cache"
CACHE_UNKNOWN = "Cache size: unknown"


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class HubChores:
    """What the clock and the hub's answers drive; the status bar shows what they found."""

    def __init__(self, window: MainWindow, clock: Clock) -> None:
        self._w = window
        self.clock = clock  # says when to check the hub (and send audit events), when to purge
        self._offline_message = ""  # the status bar message an offline failure left
        self.last_sync: datetime | None = None
        self.justification_requests: list[JustificationRequestPublic] = []
        self.answer_dialog: AnswerDialog | None = None
        self.timer = QTimer(window)
        self.timer.setInterval(_ms(clock.tick_s))
        self.timer.timeout.connect(self.run_due_chores)

    @property
    def online(self) -> bool:
        return self._w.connection_label.text() == ONLINE

    # -- sync ------------------------------------------------------------

    def sync_now(self) -> None:
        """F5: pull every slice of the chosen case, then send the audit events."""
        window = self._w
        if window.is_locked:
            return
        self.upload_journal()
        case_number = window.case_bar.case_number
        if case_number is None:
            window.statusBar().showMessage("Choose a case to sync its reads.", 5000)
            return
        catalog_ops.case_slices(
            workstation=window.workstation, runner=window.runner, case_number=case_number,
            on_success=self._sync_slices,
            on_failure=lambda exc: window.statusBar().showMessage(user_message(exc)),
        )  # fmt: skip

    def _sync_slices(self, slices: list[SliceInfo]) -> None:
        window = self._w
        if window.is_locked or window.sync_panel.is_running:
            return
        now = datetime.now().astimezone()
        live = [s for s in slices if s.expires_at > now]
        if not live:
            window.statusBar().showMessage("This case has no current slice to sync.", 5000)
            return
        window.sync_panel.start(max(live, key=lambda s: s.time_to).slice_id)

    def sync_finished(self, result: SyncResult) -> None:
        window = self._w
        self.set_connection(True)
        if not result.cancelled or result.reads:
            self.last_sync = datetime.now().astimezone()
            window.last_sync_label.setText(f"Last sync: {self.last_sync:%H:%M}")
        window.refresh_gate()
        self.refresh_status()
        self.upload_journal()
        window.sync_finished.emit(result)

    # -- status ----------------------------------------------------------

    def refresh_status(self) -> None:
        """Re-read the journal (unsent audit events) and the size of the cache file."""
        window = self._w
        if window.closing:
            return
        status_ops.journal_status(
            workstation=window.workstation, runner=window.runner,
            on_success=self._journal_arrived,
            on_failure=lambda exc: window.journal_label.setText(user_message(exc)),
        )  # fmt: skip
        status_ops.cache_size(
            workstation=window.workstation, runner=window.runner, on_done=self._cache_size_arrived
        )

    def _cache_size_arrived(self, size: int | None) -> None:
        label = CACHE_UNKNOWN if size is None else f"Cache: {file_size(size)}"
        self._w.cache_label.setText(label)
        self._w.cache_size_refreshed.emit(size)

    def _journal_arrived(self, status: JournalStatus) -> None:
        label = self._w.journal_label
        if status.pending:
            text = f"{count_of(status.pending, 'audit event')} not yet sent"
        else:
            text = "All audit events sent"
        if not status.chain_ok:
            text += " · audit chain problem"
            label.setToolTip("\n".join(status.problems))
        label.setText(text)
        label.setProperty("warning", not status.chain_ok)
        label.style().unpolish(label)
        label.style().polish(label)
        self._w.status_refreshed.emit()

    # -- the clock's chores ----------------------------------------------

    def purge_expired(self) -> None:
        """Hourly: drop cached reads past retention (the engine's own clock, online or not)."""
        if self._w.closing:
            return
        status_ops.purge(
            workstation=self._w.workstation, runner=self._w.runner,
            on_success=lambda _counts: self.refresh_status(),
        )  # fmt: skip

    def run_due_chores(self) -> None:
        """The clock's tick: run what is due (the hub check and upload, the purge)."""
        for chore in self.clock.due():
            if chore is Chore.CHECK_HUB:
                self.upload_journal()
            elif chore is Chore.PURGE:
                self.purge_expired()

    def upload_journal(self) -> None:
        """Ask the hub whether it answers (within 5 s), then, online, send the unsent
        audit events. The status bar shows what the check found."""
        if self._w.closing:
            return
        status_ops.check_hub(
            workstation=self._w.workstation, runner=self._w.runner,
            on_success=self._hub_checked, on_failure=self._upload_failed,
        )  # fmt: skip

    def _hub_checked(self, contact: HubContact) -> None:
        window = self._w
        if window.closing:
            return
        self.set_connection(contact.online, contact.detail)
        if not contact.online:
            self.refresh_status()
            return
        workstation = window.workstation
        if contact.at is not None and workstation.session is not None and not window.is_locked:
            status_ops.note_contact(workstation=workstation, runner=window.runner, at=contact.at)
        status_ops.upload(
            workstation=workstation, runner=window.runner,
            on_success=lambda _sent: self.refresh_status(), on_failure=self._upload_failed,
        )  # fmt: skip
        self.check_questions()

    def _upload_failed(self, exc: BaseException) -> None:
        self.note_hub(exc)
        if not is_unreachable(exc):  # e.g. the hub's signed audit log failed its check
            self._w.statusBar().showMessage(user_message(exc))
        self.refresh_status()

    # -- a supervisor's questions about this user's searches -------------------

    def check_questions(self) -> None:
        """Ask the hub for the questions waiting for this user's answer (network lane);
        any shows a notice that does not block."""
        window = self._w
        if window.closing or window.is_locked or window.workstation.session is None:
            return
        oversight_ops.load_inbox(
            workstation=window.workstation, runner=window.runner,
            on_success=self._questions_arrived, on_failure=self._questions_failed,
        )  # fmt: skip

    def _questions_arrived(self, requests: list[JustificationRequestPublic]) -> None:
        self.justification_requests = requests
        if not self._w.is_locked:
            self._w.justification_notice.show_requests(requests)
        self._w.questions_checked.emit(len(requests))

    def _questions_failed(self, exc: BaseException) -> None:
        self.note_hub(exc)  # offline: the next check asks again
        if not is_unreachable(exc):
            log.warning("the open questions could not be fetched (%s)", type(exc).__name__)

    def open_answer(self) -> AnswerDialog | None:
        """The oldest open question, in a dialog that does not block the desk."""
        window = self._w
        if not self.justification_requests or window.is_locked:
            return None
        dialog = AnswerDialog(
            self.justification_requests[0], workstation=window.workstation,
            runner=window.runner, parent=window,
        )  # fmt: skip
        dialog.answered.connect(lambda _item_id: self.check_questions())
        self.answer_dialog = dialog
        dialog.show()
        return dialog

    # -- the connection ----------------------------------------------------

    def note_hub(self, exc: BaseException) -> None:
        """A failure whose kind says the hub could not be reached: the desk is offline."""
        if is_unreachable(exc):
            self.set_connection(False, user_message(exc))
            self._offline_message = user_message(exc)

    def set_connection(self, online: bool, detail: str = "") -> None:
        """Show what the last contact found; offline, look for the hub more often."""
        window = self._w
        label = window.connection_label
        label.setText(ONLINE if online else OFFLINE)
        label.setToolTip(detail)
        label.setProperty("offline", not online)
        label.style().unpolish(label)
        label.style().polish(label)
        if online and self._offline_message:
            if window.statusBar().currentMessage() == self._offline_message:
                window.statusBar().clearMessage()  # "cannot reach the hub" is over
            self._offline_message = ""
        self.clock.contact(online=online)
        if self.timer.interval() != _ms(self.clock.tick_s):
            self.timer.setInterval(_ms(self.clock.tick_s))
        window.connection_changed.emit(online)
