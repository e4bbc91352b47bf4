"""The case's evidence desk: every workstation's evidence marks of the case, with who
marked each read, the note, the hold's state and who decided on it.

An evidence technician or a supervisor confirms or refuses proposed holds (with an
optional note); a supervisor releases a hold with a reason. A detective sees the same
list, read only: which reads of the case are evidence and whose hold stands. Every
call to the hub runs on the network lane (app.ui.operations.case_evidence)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.schemas import HoldPublic
from app.ui.errors import user_message
from app.ui.formatting import count_of
from app.ui.operations.case_evidence import decide_holds, load_case_evidence
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import EvidenceRow, Workstation

EVIDENCE_TAB = "Evidence"
CUSTODIANS = frozenset({"evidence_technician", "supervisor"})
COLUMNS = ("Plate", "Read", "Marked by", "Note", "Hold", "Decided by", "Legal basis")
PLATE, READ, MARKED_BY, NOTE, HOLD, DECIDED_BY, BASIS = range(len(COLUMNS))
HOLD_WORDS = {
    "pending": "Not at the hub yet",
    "proposed": "Proposed",
    "confirmed": "Confirmed",
    "released": "Released",
    "refused": "Refused",
}
DONE_WORDS = {"confirm": "confirmed", "refuse": "refused", "release": "released"}


class EvidenceDeskPanel(QWidget):
    """The case's evidence from every workstation, and (custodians) the decisions."""

    evidence_loaded = Signal(int)
    holds_decided = Signal(str, int)  # the decision, how many holds
    decision_failed = Signal(str)

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        case_number: str | None = None,
        role: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("evidenceDesk")
        self._workstation = workstation
        self._runner = runner
        self._case_number = case_number
        self._role = role
        self._rows: list[EvidenceRow] = []

        self.title = QLabel()
        self.title.setObjectName("dialogTitle")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.status_label = QLabel("Loading the case's evidence…")
        self.status_label.setObjectName("hintLabel")
        self.status_label.setWordWrap(True)
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("Note (confirm, refuse) or reason (release, required)")
        self.refresh_button = QPushButton("Refresh")
        self.confirm_button = QPushButton("Confirm hold")
        self.refuse_button = QPushButton("Refuse hold")
        self.release_button = QPushButton("Release hold…")
        for button in (self.refresh_button, self.confirm_button, self.refuse_button,
                       self.release_button):  # fmt: skip
            button.setAutoDefault(False)

        actions = QHBoxLayout()
        actions.addWidget(self.text_edit, 1)
        actions.addWidget(self.confirm_button)
        actions.addWidget(self.refuse_button)
        actions.addWidget(self.release_button)
        actions.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)
        layout.addLayout(actions)

        self.refresh_button.clicked.connect(self.refresh)
        self.confirm_button.clicked.connect(lambda: self.decide("confirm"))
        self.refuse_button.clicked.connect(lambda: self.decide("refuse"))
        self.release_button.clicked.connect(lambda: self.decide("release"))
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.set_role(role)
        self._show_case()

    @property
    def case_number(self) -> str | None:
        return self._case_number

    def set_role(self, role: str | None) -> None:
        """Offer the decisions the role may take: custodians confirm and refuse, a
        supervisor also releases; a detective reads."""
        self._role = role
        custodian = role in CUSTODIANS
        for widget in (self.text_edit, self.confirm_button, self.refuse_button):
            widget.setVisible(custodian)
        self.release_button.setVisible(role == "supervisor")
        self._selection_changed()

    def set_case(self, case_number: str | None) -> None:
        """Show another case's evidence (loaded from the hub when the desk is shown);
        None: no case chosen."""
        if case_number == self._case_number:
            return
        self._case_number = case_number
        self.conceal()
        if case_number is not None and self.isVisible():
            self.refresh()

    def conceal(self) -> None:
        """The lock (or another case): no evidence is left on the desk; it loads again
        when the desk is shown."""
        self._rows = []
        self.table.setRowCount(0)
        self._show_case()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()  # what stands now: another workstation may have decided meanwhile

    def _show_case(self) -> None:
        case = self._case_number
        self.title.setText(
            f"Evidence of case {case}, from every workstation" if case else "Evidence"
        )
        if case is None:
            self.status_label.setText("Choose a case to see its evidence.")
        self._selection_changed()

    @property
    def rows(self) -> list[EvidenceRow]:
        return list(self._rows)

    def selected_read_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self._rows[row].read_id for row in rows if row < len(self._rows)]

    def select_reads(self, read_ids: list[str]) -> None:
        self.table.clearSelection()
        wanted = set(read_ids)
        model = self.table.selectionModel()
        for row, entry in enumerate(self._rows):
            if entry.read_id in wanted:
                index = self.table.model().index(row, 0)
                model.select(index, model.SelectionFlag.Select | model.SelectionFlag.Rows)

    def refresh(self) -> None:
        case_number = self._case_number
        if case_number is None:
            return
        self.refresh_button.setEnabled(False)
        self.status_label.setText("Loading the case's evidence…")
        load_case_evidence(
            workstation=self._workstation,
            runner=self._runner,
            case_number=case_number,
            on_success=lambda found: self._loaded(case_number, found),
            on_failure=self._load_failed,
        )

    def _loaded(self, case_number: str, found: tuple[list[EvidenceRow], bool]) -> None:
        self.refresh_button.setEnabled(True)
        if case_number != self._case_number:
            return  # another case was chosen meanwhile
        rows, from_hub = found
        self._rows = rows
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            cells = (
                row.record.plate if row.record else "—",
                row.read_id[:12],
                row.marked_by,
                row.note,
                HOLD_WORDS.get(row.hold, row.hold),
                row.decided_by or "",
                row.legal_basis,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == READ:
                    item.setToolTip(row.read_id)
                if column == HOLD and row.detail:
                    item.setToolTip(row.detail)
                self.table.setItem(index, column, item)
        standing = sum(1 for row in rows if row.hold in ("proposed", "confirmed"))
        where = "" if from_hub else " (offline: as last known)"
        if rows:
            self.status_label.setText(
                f"{count_of(len(rows), 'read')} marked as evidence, "
                f"{count_of(standing, 'hold')} standing{where}."
            )
        else:
            self.status_label.setText(
                f"No read is marked as evidence for case {self._case_number} yet{where}."
            )
        self._selection_changed()
        self.evidence_loaded.emit(len(rows))

    def _load_failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        self.status_label.setText(user_message(exc))

    def _selection_changed(self) -> None:
        chosen = set(self.selected_read_ids())
        holds = {row.hold for row in self._rows if row.read_id in chosen}
        self.confirm_button.setEnabled(bool(holds) and holds == {"proposed"})
        self.refuse_button.setEnabled(bool(holds) and holds == {"proposed"})
        self.release_button.setEnabled(bool(holds) and holds <= {"proposed", "confirmed"})

    def decide(self, decision: str) -> None:
        read_ids = self.selected_read_ids()
        case_number = self._case_number
        if not read_ids or case_number is None:
            return
        text = self.text_edit.text().strip()
        if decision == "release" and len(text) < 3:
            message = "Write the reason for releasing the hold first."
            self.status_label.setText(message)
            self.decision_failed.emit(message)
            return
        for button in (self.confirm_button, self.refuse_button, self.release_button):
            button.setEnabled(False)
        decide_holds(
            workstation=self._workstation, runner=self._runner,
            case_number=case_number, read_ids=read_ids, decision=decision, text=text,
            on_success=lambda holds: self._decided(decision, holds),
            on_failure=self._decision_failed,
        )  # fmt: skip

    def _decided(self, decision: str, holds: list[HoldPublic]) -> None:
        self.text_edit.clear()
        self.status_label.setText(f"{count_of(len(holds), 'hold')} {DONE_WORDS[decision]}.")
        self.holds_decided.emit(decision, len(holds))
        self.refresh()

    def _decision_failed(self, exc: BaseException) -> None:
        message = user_message(exc)
        self.status_label.setText(message)
        self._selection_changed()
        self.decision_failed.emit(message)
