"""The case and purpose bar: always visible, it names what the user's work is recorded under."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.records import CaseInfo, PurposeInfo

CHOOSE_CASE = "Choose a case…"
CHOOSE_PURPOSE = "Choose a purpose…"
NOT_RECORDED = (
    "Choose the case and the purpose you are working on; every search is recorded under them."
)


class CaseBar(QFrame):
    """Case combo, purpose combo, the "Request reads…" button and the recorded-under line."""

    selection_changed = Signal()  # case_number or purpose changed
    request_reads_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("caseBar")
        self._cases: list[CaseInfo] = []
        self._purposes: list[PurposeInfo] = []

        self.case_combo = QComboBox()
        self.case_combo.setObjectName("caseCombo")
        self.case_combo.setMinimumContentsLength(40)
        self.case_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.purpose_combo = QComboBox()
        self.purpose_combo.setObjectName("purposeCombo")
        self.purpose_combo.setMinimumContentsLength(22)
        self.purpose_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.request_reads_button = QPushButton("Request reads…")
        self.request_reads_button.setToolTip(
            "Ask the hub for the reads this case needs: a time window, cameras and a pattern"
        )
        self.request_reads_button.setEnabled(False)
        self.recorded_label = QLabel(NOT_RECORDED)
        self.recorded_label.setObjectName("recordedLabel")
        self.recorded_label.setWordWrap(True)
        self.recorded_label.setTextFormat(Qt.TextFormat.PlainText)
        self.recorded_label.setSizePolicy(
            QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred
        )

        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(QLabel("Case"))
        row.addWidget(self.case_combo)
        row.addSpacing(8)
        row.addWidget(QLabel("Purpose"))
        row.addWidget(self.purpose_combo)
        row.addSpacing(8)
        row.addWidget(self.request_reads_button)
        row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.recorded_label)

        self.case_combo.currentIndexChanged.connect(self._case_changed)
        self.purpose_combo.currentIndexChanged.connect(self._changed)
        self.request_reads_button.clicked.connect(self.request_reads_clicked)
        self.set_cases([])
        self.set_purposes([])

    # -- contents --------------------------------------------------------

    def set_cases(self, cases: list[CaseInfo]) -> None:
        keep = self.case_number
        self._cases = list(cases)
        self._fill(
            self.case_combo,
            CHOOSE_CASE,
            [(c.case_number, f"{c.case_number}  {c.title}") for c in self._cases],
            keep,
        )

    def set_purposes(self, purposes: list[PurposeInfo]) -> None:
        keep = self.purpose
        self._purposes = list(purposes)
        self._fill(
            self.purpose_combo,
            CHOOSE_PURPOSE,
            [(p.code, p.label) for p in self._purposes],
            keep,
        )

    def _fill(
        self, combo: QComboBox, prompt: str, items: list[tuple[str, str]], keep: str | None
    ) -> None:
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(prompt, None)
        for key, text in items:
            combo.addItem(text, key)
        index = combo.findData(keep) if keep is not None else -1
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)
        self._changed()

    def select(self, *, case_number: str | None = None, purpose: str | None = None) -> bool:
        """Choose a case and/or purpose by key; False when one of them is not offered."""
        found = True
        for combo, key in ((self.case_combo, case_number), (self.purpose_combo, purpose)):
            if key is None:
                continue
            index = combo.findData(key)
            if index < 0:
                found = False
            else:
                combo.setCurrentIndex(index)
        return found

    # -- state -----------------------------------------------------------

    @property
    def case_number(self) -> str | None:
        value = self.case_combo.currentData()
        return value if isinstance(value, str) else None

    @property
    def purpose(self) -> str | None:
        value = self.purpose_combo.currentData()
        return value if isinstance(value, str) else None

    @property
    def case(self) -> CaseInfo | None:
        return next((c for c in self._cases if c.case_number == self.case_number), None)

    @property
    def purpose_label(self) -> str | None:
        return next((p.label for p in self._purposes if p.code == self.purpose), None)

    def _case_changed(self) -> None:
        """A new case needs a purpose chosen for it: the last case's is not carried over
        (its searches would be recorded under the wrong purpose)."""
        self.purpose_combo.blockSignals(True)
        self.purpose_combo.setCurrentIndex(0)
        self.purpose_combo.blockSignals(False)
        self._changed()

    def _changed(self) -> None:
        case_number, label = self.case_number, self.purpose_label
        self.request_reads_button.setEnabled(case_number is not None and label is not None)
        if case_number is not None and label is not None:
            self.recorded_label.setText(
                f"Your work is recorded under case {case_number} for {label}"
            )
            self.recorded_label.setProperty("chosen", True)
        else:
            self.recorded_label.setText(NOT_RECORDED)
            self.recorded_label.setProperty("chosen", False)
        self.recorded_label.style().unpolish(self.recorded_label)
        self.recorded_label.style().polish(self.recorded_label)
        self.selection_changed.emit()
