"""Small forms for review and case bookkeeping: evidence, misread, outcome, saved search name.

Each dialog only collects and checks what the user types; the main window sends
it to the engine through the task runner once the dialog is accepted.
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.plates import MAX_PLATE_LENGTH
from app.core.records import SEARCH_OUTCOMES, ReadRecord
from app.ui.formatting import local_time
from app.ui.style import fit_height

PLATE_PROBLEM = (
    f"Type the plate as the image shows it: letters and digits only, "
    f"at most {MAX_PLATE_LENGTH} (spaces and dashes are ignored)."
)
SAME_PLATE = "That is the plate as it was read; type the plate the image shows."
NAME_PROBLEM = "Give the saved search a name."
_SEPARATORS = re.compile(r"[\s\-·.]+")
_PLATE = re.compile(rf"[A-Z0-9]{{1,{MAX_PLATE_LENGTH}}}")


def corrected_plate_problem(text: str, *, read_plate: str) -> str | None:
    """Why `text` cannot be a corrected plate for a read of `read_plate`, or None."""
    plate = _SEPARATORS.sub("", text).upper()
    if not _PLATE.fullmatch(plate):
        return PLATE_PROBLEM
    if plate == read_plate:
        return SAME_PLATE
    return None


def _read_summary(read: ReadRecord) -> str:
    return f"{read.plate} · {read.camera_name} · {local_time(read.captured_at)}"


class _FormDialog(QDialog):
    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.form = QFormLayout()
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(8)
        self.error_label = QLabel()
        self.error_label.setObjectName("fieldErrorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def _note_edit(self, placeholder: str) -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setPlaceholderText(placeholder)
        edit.setTabChangesFocus(True)
        edit.setFixedHeight(80)
        return edit

    def show_error(self, message: str | None) -> None:
        self.error_label.setText(message or "")
        self.error_label.setVisible(message is not None)
        if message is not None:
            fit_height(self)


class EvidenceDialog(_FormDialog):
    """Mark a read as evidence for the case, with a note."""

    def __init__(
        self, *, read: ReadRecord, case_number: str, parent: QWidget | None = None
    ) -> None:
        super().__init__("Mark as evidence", parent)
        self.read = read
        self.case_number = case_number
        self.note_edit = self._note_edit("Why this read matters to the case (optional)")
        self.form.addRow("Read", QLabel(_read_summary(read)))
        self.form.addRow("Case", QLabel(case_number))
        self.form.addRow("Note", self.note_edit)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Mark as evidence")

    @property
    def note(self) -> str:
        return self.note_edit.toPlainText().strip()


class MisreadDialog(_FormDialog):
    """Record that the camera misread a plate: the plate the image shows, and a note."""

    def __init__(
        self, *, read: ReadRecord, case_number: str, parent: QWidget | None = None
    ) -> None:
        super().__init__("Mark as misread", parent)
        self.read = read
        self.case_number = case_number
        self.plate_edit = QLineEdit()
        self.plate_edit.setObjectName("correctedPlateEdit")
        self.plate_edit.setPlaceholderText("The plate as the image shows it, e.g. 8KTK215")
        self.plate_edit.setMaxLength(MAX_PLATE_LENGTH * 2)
        self.note_edit = self._note_edit("What the image shows (optional)")
        self.form.addRow("Read", QLabel(_read_summary(read)))
        self.form.addRow("Case", QLabel(case_number))
        self.form.addRow("Corrected plate", self.plate_edit)
        self.form.addRow("Note", self.note_edit)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Mark as misread")
        self.plate_edit.textEdited.connect(lambda _text: self.show_error(None))

    @property
    def corrected_plate(self) -> str:
        return _SEPARATORS.sub("", self.plate_edit.text()).upper()

    @property
    def note(self) -> str:
        return self.note_edit.toPlainText().strip()

    def accept(self) -> None:
        problem = corrected_plate_problem(self.plate_edit.text(), read_plate=self.read.plate)
        if problem is not None:
            self.show_error(problem)
            self.plate_edit.setFocus()
            return
        super().accept()


class OutcomeDialog(_FormDialog):
    """What the case's searches led to (lead, no lead, recovery, arrest, cleared)."""

    def __init__(
        self, *, case_number: str, purpose_label: str, parent: QWidget | None = None
    ) -> None:
        super().__init__("Record outcome", parent)
        self.case_number = case_number
        self.outcome_combo = QComboBox()
        for code, label in SEARCH_OUTCOMES.items():
            self.outcome_combo.addItem(label, code)
        self.note_edit = self._note_edit("What happened (optional)")
        self.form.addRow("Case", QLabel(case_number))
        self.form.addRow("Purpose", QLabel(purpose_label))
        self.form.addRow("The searches led to", self.outcome_combo)
        self.form.addRow("Note", self.note_edit)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record outcome")

    @property
    def outcome(self) -> str:
        return str(self.outcome_combo.currentData())

    def set_outcome(self, code: str) -> None:
        self.outcome_combo.setCurrentIndex(self.outcome_combo.findData(code))

    @property
    def note(self) -> str:
        return self.note_edit.toPlainText().strip()


class SaveSearchDialog(_FormDialog):
    """A name for the search now in the search panel, kept with the case."""

    def __init__(self, *, case_number: str, summary: str, parent: QWidget | None = None) -> None:
        super().__init__("Save search", parent)
        self.case_number = case_number
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("savedNameEdit")
        self.name_edit.setPlaceholderText("e.g. Silver Camry near the pharmacy")
        self.name_edit.setMaxLength(120)
        summary_label = QLabel(summary)
        summary_label.setWordWrap(True)
        self.form.addRow("Case", QLabel(case_number))
        self.form.addRow("Search", summary_label)
        self.form.addRow("Name", self.name_edit)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Save")
        self.name_edit.textEdited.connect(lambda _text: self.show_error(None))
        self.name_edit.setFocus()  # typing names the search: a space is a space, not Save

    @property
    def name(self) -> str:
        return " ".join(self.name_edit.text().split())

    def accept(self) -> None:
        if not self.name:
            self.show_error(NAME_PROBLEM)
            return
        super().accept()
