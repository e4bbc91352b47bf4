"""Slice sync progress: a progress bar (applied / estimated reads) and a Cancel button."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from app.core.records import SyncProgress, SyncResult
from app.ui.errors import is_unreachable, user_message
from app.ui.formatting import count_of
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation


class SyncPanel(QWidget):
    """Runs Workstation.sync for one slice off the GUI thread and shows how far it got."""

    sync_started = Signal(str)  # slice id
    sync_progressed = Signal(object)  # SyncProgress
    sync_finished = Signal(object)  # SyncResult (cancelled or not)
    sync_failed = Signal(str)  # a message for the user
    hub_lost = Signal(str)  # the sync failed because the hub could not be reached: the message

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._workstation = workstation
        self._runner = runner
        self._cancel: threading.Event | None = None
        self.last_result: SyncResult | None = None

        self.status_label = QLabel()
        self.status_label.setObjectName("syncStatusLabel")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMinimumWidth(220)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.status_label, 1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.cancel_button)

    @property
    def is_running(self) -> bool:
        return self._cancel is not None

    def start(self, slice_id: str, *, images: bool = False) -> None:
        """Pull the slice's change feed; progress arrives after every page."""
        if self._cancel is not None:
            return
        cancel = threading.Event()
        self._cancel = cancel
        self.progress_bar.setRange(0, 0)  # busy until the first page says how many
        self.progress_bar.setFormat("Waiting for the hub…")
        self.status_label.setText("Syncing reads from the hub…")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        workstation = self._workstation
        self._runner.run(
            lambda progress: workstation.sync(
                slice_id=slice_id, images=images, progress=progress, cancel=cancel
            ),
            on_success=self._finished,
            on_failure=self._failed,
            on_progress=self._progressed,
            lane=Lane.SYNC,
            cancel=cancel,
        )
        self.sync_started.emit(slice_id)

    def cancel(self) -> None:
        """Ask the sync to stop after the page it is applying; what it applied is kept."""
        if self._cancel is None:
            return
        self._cancel.set()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.status_label.setText("Stopping after the current page…")

    def _progressed(self, progress: SyncProgress) -> None:
        if self._cancel is None:
            return
        maximum = max(progress.estimated, progress.applied)
        if maximum > 0:
            self.progress_bar.setRange(0, maximum)
            self.progress_bar.setValue(progress.applied)
            self.progress_bar.setFormat(f"{progress.applied:,} / {maximum:,} reads")
        if not self._cancel.is_set():
            self.status_label.setText("Syncing reads from the hub…")
        self.sync_progressed.emit(progress)

    def _finished(self, result: SyncResult) -> None:
        self._cancel = None
        self.last_result = result
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        if self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, max(result.reads, 1))
        if result.cancelled:
            self.status_label.setText(
                f"Sync cancelled: {count_of(result.reads, 'read')} kept. Sync again to resume."
            )
        elif result.reads == 0 and result.deleted == 0:
            self.progress_bar.setValue(self.progress_bar.maximum())
            self.progress_bar.setFormat("Up to date")
            self.status_label.setText("Up to date: nothing new from the hub since the last sync.")
        else:
            self.progress_bar.setValue(self.progress_bar.maximum())
            self.progress_bar.setFormat(f"{result.reads:,} new reads")
            removed = f", {count_of(result.deleted, 'read')} removed" if result.deleted else ""
            self.status_label.setText(f"Synced {count_of(result.reads, 'new read')}{removed}.")
        self.sync_finished.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self._cancel = None
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        if self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Stopped")
        message = user_message(exc)
        self.status_label.setText(message)
        if is_unreachable(exc):
            self.hub_lost.emit(message)
        self.sync_failed.emit(message)
