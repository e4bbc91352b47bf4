"""Sign-in: hub address, user name, password and the 6-digit code from the authenticator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from app.core.records import SessionInfo
from app.ui.dialogs.parts import action_buttons, column, error_label, heading
from app.ui.errors import user_message
from app.ui.style import fit_height
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

CODE_LENGTH = 6
WATCH_MS = 250  # how often a sign-in in progress is asked what it is busy with


class SignInDialog(QDialog):
    """Runs Workstation.login off the GUI thread; shows the hub's answer inline."""

    signed_in = Signal(object)  # SessionInfo
    sign_in_failed = Signal(str)  # the message shown in error_label

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        hub_url: str | None = None,
        username: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._workstation = workstation
        self._runner = runner
        self._busy = False
        self.session: SessionInfo | None = None
        self.setWindowTitle("Sign in to Platedesk")
        self.setObjectName("signInDialog")
        self.setMinimumWidth(440)

        title, subtitle = heading(
            "Sign in to Platedesk",
            "Use your agency account and the 6-digit code from your authenticator app.",
        )

        self.hub_edit = QLineEdit(hub_url or workstation.hub_url or "")
        self.hub_edit.setPlaceholderText("https://hub.example.gov")
        self.username_edit = QLineEdit(username or "")
        self.username_edit.setPlaceholderText("User name")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("Password")
        self.code_edit = QLineEdit()
        self.code_edit.setPlaceholderText("123456")
        self.code_edit.setMaxLength(CODE_LENGTH)
        self.code_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(rf"[0-9]{{0,{CODE_LENGTH}}}"), self)
        )
        self.code_edit.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)

        form = QFormLayout()
        form.addRow("Hub address", self.hub_edit)
        form.addRow("User name", self.username_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("Code", self.code_edit)

        self.error_label = error_label()
        # why a sign-in takes long, while it does (the cache's one-time update)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("hintLabel")
        self.progress_label.setWordWrap(True)
        self.progress_label.hide()
        self._watch = QTimer(self)
        self._watch.setInterval(WATCH_MS)
        self._watch.timeout.connect(self._show_progress)
        buttons, self.sign_in_button, self.cancel_button = action_buttons("Sign in", "Cancel")
        self.sign_in_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.reject)
        column(self, title, subtitle, form, self.error_label, self.progress_label, buttons)

        first_empty = next(
            (
                edit
                for edit in (self.hub_edit, self.username_edit, self.password_edit)
                if not edit.text()
            ),
            self.code_edit,
        )
        first_empty.setFocus()

    @property
    def busy(self) -> bool:
        return self._busy

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        fit_height(self)

    def submit(self) -> None:
        """Check the fields, then sign in off the GUI thread."""
        if self._busy:
            return
        problem = self._missing_field()
        if problem:
            self.show_error(problem)
            self.sign_in_failed.emit(problem)
            return
        self.error_label.hide()
        self._set_busy(True)
        workstation = self._workstation
        username = self.username_edit.text().strip()
        password = self.password_edit.text()
        totp = self.code_edit.text()
        hub_url = self.hub_edit.text().strip()
        self._runner.run(
            lambda: workstation.login(
                username=username, password=password, totp=totp, hub_url=hub_url
            ),
            on_success=self._succeeded,
            on_failure=self._failed,
            lane=Lane.NETWORK,
        )

    def accept(self) -> None:
        """Enter and the default button sign in; the dialog closes only once signed in."""
        if self.session is None:
            self.submit()
        else:
            super().accept()

    def _missing_field(self) -> str | None:
        if not self.hub_edit.text().strip():
            return "Enter the hub address, for example https://hub.example.gov."
        if not self.username_edit.text().strip():
            return "Enter your user name."
        if not self.password_edit.text():
            return "Enter your password."
        if len(self.code_edit.text()) != CODE_LENGTH:
            return "Enter the 6-digit code from your authenticator app."
        return None

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (
            self.hub_edit,
            self.username_edit,
            self.password_edit,
            self.code_edit,
            self.sign_in_button,
        ):
            widget.setEnabled(not busy)
        self.sign_in_button.setText("Signing in…" if busy else "Sign in")
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
            self._show_progress()
            self._watch.start()
        else:
            self.unsetCursor()
            self._watch.stop()
            self.progress_label.hide()

    def _show_progress(self) -> None:
        message = self._workstation.cache_update
        if message is not None and not self.progress_label.isVisible():
            self.progress_label.setText(message)
            self.progress_label.show()
            fit_height(self)

    def _succeeded(self, session: SessionInfo) -> None:
        self._set_busy(False)
        self.session = session
        self.signed_in.emit(session)
        super().accept()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        message = user_message(exc)
        self.code_edit.clear()
        self.show_error(message)
        (self.code_edit if self.password_edit.text() else self.password_edit).setFocus()
        self.sign_in_failed.emit(message)
