"""The parts the desk's start-up dialogs share: a title and hint, the inline error, the
accept and reject buttons, and the padded column they stand in."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QLayout, QPushButton, QVBoxLayout, QWidget


def heading(title: str, hint: str) -> tuple[QLabel, QLabel]:
    """The dialog's title and the sentence under it."""
    title_label = QLabel(title)
    title_label.setObjectName("dialogTitle")
    hint_label = QLabel(hint)
    hint_label.setWordWrap(True)
    hint_label.setObjectName("hintLabel")
    return title_label, hint_label


def error_label() -> QLabel:
    """The inline error: hidden until there is one, selectable to copy."""
    label = QLabel()
    label.setObjectName("errorLabel")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def action_buttons(accept: str, reject: str) -> tuple[QDialogButtonBox, QPushButton, QPushButton]:
    """The box of the default (accept) button and the reject button."""
    box = QDialogButtonBox()
    accept_button = QPushButton(accept)
    accept_button.setDefault(True)
    accept_button.setAutoDefault(True)
    reject_button = QPushButton(reject)
    reject_button.setAutoDefault(False)
    box.addButton(accept_button, QDialogButtonBox.ButtonRole.AcceptRole)
    box.addButton(reject_button, QDialogButtonBox.ButtonRole.RejectRole)
    return box, accept_button, reject_button


def column(parent: QWidget, *items: QWidget | QLayout) -> QVBoxLayout:
    """The dialog's padded column of widgets and layouts, top to bottom."""
    layout = QVBoxLayout(parent)
    layout.setContentsMargins(24, 20, 24, 20)
    layout.setSpacing(12)
    for item in items:
        if isinstance(item, QLayout):
            layout.addLayout(item)
        else:
            layout.addWidget(item)
    return layout
