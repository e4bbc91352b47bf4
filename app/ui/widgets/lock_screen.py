"""The lock screen: covers the window and asks for the password and code again."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.records import SessionInfo

LOCKED_TITLE = "Platedesk is locked — sign in again to continue"
LOCKING = "Locking…"
UNLOCKING = "Checking with the hub…"
CODE_LENGTH = 6


class LockScreen(QWidget):
    """A centered panel with password, code and Unlock; shows no case data at all."""

    unlock_requested = Signal(str, str)  # password, code

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._busy = False

        panel = QFrame()
        panel.setObjectName("lockPanel")
        panel.setFixedWidth(440)
        self.title_label = QLabel(LOCKED_TITLE)
        self.title_label.setObjectName("dialogTitle")
        self.title_label.setWordWrap(True)
        self.user_label = QLabel()
        self.user_label.setObjectName("hintLabel")
        self.user_label.setWordWrap(True)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("Password")
        self.code_edit = QLineEdit()
        self.code_edit.setPlaceholderText("123456")
        self.code_edit.setMaxLength(CODE_LENGTH)
        self.code_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(rf"[0-9]{{0,{CODE_LENGTH}}}"), self)
        )
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.status_label = QLabel()
        self.status_label.setObjectName("hintLabel")
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setObjectName("unlockButton")
        self.unlock_button.setDefault(True)

        form = QFormLayout()
        form.addRow("Password", self.password_edit)
        form.addRow("Code", self.code_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status_label, 1)
        buttons.addWidget(self.unlock_button)
        inner = QVBoxLayout(panel)
        inner.setContentsMargins(24, 22, 24, 22)
        inner.setSpacing(10)
        inner.addWidget(self.title_label)
        inner.addWidget(self.user_label)
        inner.addLayout(form)
        inner.addWidget(self.error_label)
        inner.addLayout(buttons)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(panel)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

        self.password_edit.textChanged.connect(self._refresh)
        self.code_edit.textChanged.connect(self._refresh)
        self.password_edit.returnPressed.connect(self.submit)
        self.code_edit.returnPressed.connect(self.submit)
        self.unlock_button.clicked.connect(self.submit)
        self._refresh()

    def set_session(self, session: SessionInfo | None) -> None:
        if session is None:
            self.user_label.clear()
        else:
            self.user_label.setText(
                f"Signed in as {session.display_name} ({session.username}). Enter your "
                "password and the 6-digit code from your authenticator app."
            )

    def reset(self) -> None:
        """Empty fields, no message: as shown when the window locks."""
        self.password_edit.clear()
        self.code_edit.clear()
        self.error_label.clear()
        self.error_label.hide()
        self.password_edit.setFocus()

    def set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.status_label.setText(text if busy else "")
        self.password_edit.setEnabled(not busy)
        self.code_edit.setEnabled(not busy)
        self._refresh()

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error_label.setText(message)
        self.error_label.show()
        self.code_edit.clear()
        self.code_edit.setFocus()

    @property
    def can_unlock(self) -> bool:
        return (
            not self._busy
            and bool(self.password_edit.text())
            and len(self.code_edit.text()) == CODE_LENGTH
        )

    def submit(self) -> None:
        if not self.can_unlock:
            return
        password, code = self.password_edit.text(), self.code_edit.text()
        self.set_busy(True, UNLOCKING)
        self.error_label.hide()
        self.unlock_requested.emit(password, code)

    def _refresh(self) -> None:
        self.unlock_button.setEnabled(self.can_unlock)
