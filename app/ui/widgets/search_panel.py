"""The search field: a plate pattern with `*` and `?`, checked as it is typed."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import PatternError
from app.core.plates import PlatePattern, parse_pattern


class SearchPanel(QFrame):
    """Query field, Search button, result count; says why searching is unavailable."""

    search_requested = Signal(object)  # PlatePattern, or None for every read of the case

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchPanel")
        self._gate: str | None = None
        self._pattern: PlatePattern | None = None
        self._valid = True

        self.query_edit = QLineEdit()
        self.query_edit.setObjectName("queryEdit")
        self.query_edit.setPlaceholderText(
            "Plate, e.g. 7K2* or *7K2?   (* any characters, ? one character; empty: all reads)"
        )
        self.query_edit.setClearButtonEnabled(True)
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("searchButton")
        self.count_label = QLabel()
        self.count_label.setObjectName("countLabel")
        self.count_label.setMinimumWidth(110)
        self.pattern_error_label = QLabel()
        self.pattern_error_label.setObjectName("fieldErrorLabel")
        self.pattern_error_label.hide()
        self.gate_label = QLabel()
        self.gate_label.setObjectName("gateLabel")
        self.gate_label.hide()

        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.query_edit, 1)
        row.addWidget(self.search_button)
        row.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 4)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.pattern_error_label)
        layout.addWidget(self.gate_label)

        self.query_edit.textChanged.connect(self._validate)
        self.query_edit.returnPressed.connect(self.submit)
        self.search_button.clicked.connect(self.submit)
        self._refresh()

    @property
    def gate_reason(self) -> str | None:
        """Why searching is unavailable, or None when it is available."""
        return self._gate

    @property
    def pattern(self) -> PlatePattern | None:
        return self._pattern

    @property
    def can_search(self) -> bool:
        return self._gate is None and self._valid

    def set_gate(self, reason: str | None) -> None:
        self._gate = reason
        self.gate_label.setText(reason or "")
        self.gate_label.setVisible(reason is not None)
        self._refresh()

    def set_count(self, text: str) -> None:
        self.count_label.setText(text)

    def submit(self) -> None:
        if self.can_search:
            self.search_requested.emit(self._pattern)

    def _validate(self, text: str) -> None:
        self._pattern = None
        self._valid = True
        if text.strip():
            try:
                self._pattern = parse_pattern(text)
            except PatternError as exc:
                self._valid = False
                self.pattern_error_label.setText(str(exc))
        self.pattern_error_label.setVisible(not self._valid)
        self.query_edit.setProperty("invalid", not self._valid)
        self.query_edit.style().unpolish(self.query_edit)
        self.query_edit.style().polish(self.query_edit)
        self._refresh()

    def _refresh(self) -> None:
        self.search_button.setEnabled(self.can_search)
