"""The plate reader's reading of the shown read, beside the camera's: its plate,
confidence and alternatives on one line; a disagreement highlighted, with a button to
accept the reader's plate as a correction (the same record as "Mark as misread") and one
to search the case's reads for the plate and its likely alternatives."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.formatting import percent
from app.vision.plate_reader import PlateCandidate, search_pattern

DISAGREE_COLOR = "#c62828"
READING = "Reading the plate…"
NO_PLATE = "Plate reader: no plate found"


class PlateReadingRow(QWidget):
    """Hidden until a re-read is asked for; cleared when another read is shown."""

    correction_accepted = Signal(str, str)  # plate the reader read, and a note saying so
    search_requested = Signal(str)  # a plate pattern from the reader's alternatives

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setObjectName("rereadLabel")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.accept_button = QPushButton()
        self.accept_button.setObjectName("acceptReadingButton")
        self.accept_button.setAutoDefault(False)
        self.accept_button.setToolTip(
            "Record that the camera misread this plate (Mark as misread), with the reader's plate"
        )
        self.search_button = QPushButton()
        self.search_button.setObjectName("searchAlternativesButton")
        self.search_button.setAutoDefault(False)
        self.search_button.setToolTip(
            "Search the case's reads for the reader's plate and its likely alternatives"
        )
        self.pattern: str | None = None
        self.best: PlateCandidate | None = None  # the reader's reading on screen
        self.disagrees = False
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.search_button)
        row.addWidget(self.accept_button)
        self.accept_button.clicked.connect(self._accept)
        self.search_button.clicked.connect(self._search)
        self.clear()

    def clear(self) -> None:
        """Nothing read: the row is hidden."""
        self._forget()
        self.label.clear()
        self.hide()

    def reading(self) -> None:
        """A re-read is under way."""
        self._forget()
        self.label.setText(READING)
        self.show()

    def failed(self, message: str) -> None:
        self._forget()
        self.label.setText(message)
        self.show()

    def show_reading(self, candidates: Sequence[PlateCandidate], camera: str | None) -> None:
        """The reader's candidates (best first) beside the camera's plate."""
        self._forget()
        self.show()
        if not candidates:
            self.label.setText(NO_PLATE)
            return
        best, others = candidates[0], candidates[1:4]
        self.best = best
        self.pattern = search_pattern(candidates)
        if self.pattern is not None:
            self.search_button.setText(f"Search {self.pattern}")
            self.search_button.show()
        self.disagrees = camera is not None and best.text != camera
        alternatives = ", ".join(f"{escape(c.text)} {percent(c.confidence)}" for c in others)
        more = f" · or {alternatives}" if alternatives else ""
        reading = f"<b>{escape(best.text)}</b> ({percent(best.confidence)}){more}"
        if not self.disagrees:
            self.label.setText(f"Plate reader: {reading} · agrees with the camera")
            return
        self.accept_button.setText(f"Accept {best.text}")
        self.accept_button.show()
        self.label.setText(
            f"<span style='color:{DISAGREE_COLOR}'>Plate reader: {reading} · "
            f"<b>differs from the camera's {escape(camera or '')}</b></span>"
        )

    def _forget(self) -> None:
        self.best = None
        self.pattern = None
        self.disagrees = False
        self.accept_button.hide()
        self.search_button.hide()

    def _search(self) -> None:
        if self.pattern is not None:
            self.search_requested.emit(self.pattern)

    def _accept(self) -> None:
        if self.best is not None:
            note = f"Plate reader model read {self.best.text} ({percent(self.best.confidence)})"
            self.correction_accepted.emit(self.best.text, note)
