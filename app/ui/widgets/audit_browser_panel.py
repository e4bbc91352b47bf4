"""The audit trail browser: search the hub's audit log by user, device, case, action and
time (newest first, a page at a time), see each device's hash chain in plain words
(intact, gap, broken), and export the selection as CSV or as a hash-chained JSON
excerpt that verifies on its own (`platedesk audit verify-excerpt FILE`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.audit_trail import AuditEventPublic, AuditSearchPage, DeviceChainPublic
from app.core.canonical import parse_utc
from app.services.insights import AuditFilter
from app.ui.errors import user_message
from app.ui.formatting import count_of
from app.ui.models.insights_models import chains_model, events_model
from app.ui.operations import insights as insight_ops
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

AUDIT_TAB = "Audit trail"
BAD_TIME = "'{text}' is not a time; give it in UTC, e.g. 2026-12-01T08:00:00Z."


def _table(model: object) -> QTableView:
    table = QTableView()
    table.setModel(model)  # type: ignore[arg-type]
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    return table


class AuditBrowserPanel(QWidget):
    searched = Signal(int)  # events shown
    chains_loaded = Signal(int)  # devices
    exported = Signal(str)  # the file written
    failed = Signal(str)

    def __init__(
        self, *, workstation: Workstation, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._runner = runner
        self.where = AuditFilter()
        self.next_cursor: str | None = None
        self._label: str | None = None
        self.events = events_model(self)
        self.chains = chains_model(self)
        self.user_edit = QLineEdit()
        self.device_edit = QLineEdit()
        self.case_edit = QLineEdit()
        self.action_edit = QLineEdit()
        self.action_edit.setPlaceholderText("e.g. search, review.decision")
        self.from_edit = QLineEdit()
        self.from_edit.setPlaceholderText("UTC, e.g. 2026-12-01T00:00:00Z")
        self.to_edit = QLineEdit()
        self.to_edit.setPlaceholderText("UTC, before this time")
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.more_button = QPushButton("Older events")
        self.csv_button = QPushButton("Export CSV…")
        self.excerpt_button = QPushButton("Export excerpt…")
        self.status_label = QLabel("Search the audit trail of your unit.")
        self.status_label.setWordWrap(True)
        self.table = _table(self.events)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.chains_button = QPushButton("Check the chains")
        self.chains_label = QLabel()
        self.chains_label.setWordWrap(True)
        self.chains_table = _table(self.chains)

        form = QFormLayout()
        for label, edit in (("User", self.user_edit), ("Device", self.device_edit),
                            ("Case", self.case_edit), ("Action", self.action_edit),
                            ("From", self.from_edit), ("To", self.to_edit)):  # fmt: skip
            # Wide enough that the example reads whole (40 px: the padding and frame).
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + 40)
            form.addRow(label, edit)
            edit.returnPressed.connect(self.search)
        form_box = QWidget()
        form_layout = QVBoxLayout(form_box)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addLayout(form)
        form_layout.addWidget(self.search_button)
        form_layout.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status_label, 1)
        for button in (self.more_button, self.csv_button, self.excerpt_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        found = QWidget()
        found_layout = QVBoxLayout(found)
        found_layout.setContentsMargins(0, 0, 0, 0)
        found_layout.addLayout(buttons)
        inner = QSplitter(Qt.Orientation.Vertical)
        inner.addWidget(self.table)
        inner.addWidget(self.detail)
        inner.setStretchFactor(0, 3)
        found_layout.addWidget(inner, 1)
        chains_box = QWidget()
        chains_layout = QVBoxLayout(chains_box)
        chains_layout.setContentsMargins(0, 0, 0, 0)
        chains_top = QHBoxLayout()
        chains_top.addWidget(QLabel("<b>Device chains</b>"))
        chains_top.addWidget(self.chains_label, 1)
        chains_top.addWidget(self.chains_button)
        chains_layout.addLayout(chains_top)
        chains_layout.addWidget(self.chains_table)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(form_box)
        top.addWidget(found)
        top.setStretchFactor(1, 4)
        outer = QSplitter(Qt.Orientation.Vertical)
        outer.addWidget(top)
        outer.addWidget(chains_box)
        outer.setStretchFactor(0, 3)
        outer.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(outer)

        self.search_button.clicked.connect(self.search)
        self.more_button.clicked.connect(self.more)
        self.csv_button.clicked.connect(lambda: self._choose_file("csv"))
        self.excerpt_button.clicked.connect(lambda: self._choose_file("excerpt"))
        self.chains_button.clicked.connect(self.check_chains)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self._update_buttons()

    def conceal(self) -> None:
        """The lock: no event, chain or filter is left on screen."""
        for edit in (self.user_edit, self.device_edit, self.case_edit, self.action_edit,
                     self.from_edit, self.to_edit):  # fmt: skip
            edit.clear()
        self.where = AuditFilter()
        self.next_cursor = None
        self.events.set_records([])
        self.chains.set_records([])
        self.detail.clear()
        self.chains_label.clear()
        self.status_label.setText("Search the audit trail of your unit.")
        self._update_buttons()

    # searching ---------------------------------------------------------------------------
    def _time(self, edit: QLineEdit) -> datetime | None:
        text = edit.text().strip()
        if not text:
            return None
        try:
            return parse_utc(text)
        except ValueError:
            raise ValueError(BAD_TIME.format(text=text)) from None

    def search(self) -> None:
        """Search with the filters typed in."""
        try:
            where = AuditFilter(
                user=self.user_edit.text(), device=self.device_edit.text(),
                case_number=self.case_edit.text(), action=self.action_edit.text(),
                time_from=self._time(self.from_edit), time_to=self._time(self.to_edit),
            )  # fmt: skip
        except ValueError as exc:
            self._failed_text(str(exc))
            return
        self._run(where, label=None)

    def show_events(self, event_ids: list[str], label: str) -> None:
        """Show exactly these events (an insight's), whatever the filters say."""
        self._run(AuditFilter(event_ids=tuple(event_ids)), label=label)

    def _run(self, where: AuditFilter, *, label: str | None) -> None:
        self.where = where
        self._label = label
        self.next_cursor = None
        self.events.set_records([])
        self.status_label.setText("Searching the audit trail…")
        self.search_button.setEnabled(False)
        insight_ops.search_audit(
            workstation=self._ws, runner=self._runner, where=where, cursor=None,
            on_success=self._found, on_failure=self._failed,
        )  # fmt: skip

    def more(self) -> None:
        if self.next_cursor is None:
            return
        self.more_button.setEnabled(False)
        insight_ops.search_audit(
            workstation=self._ws, runner=self._runner, where=self.where,
            cursor=self.next_cursor, on_success=self._found, on_failure=self._failed,
        )  # fmt: skip

    def _found(self, page: AuditSearchPage) -> None:
        self.search_button.setEnabled(True)
        self.events.append_records(page.events)
        self.table.resizeColumnsToContents()
        self.next_cursor = page.next_cursor
        shown = self.events.rowCount()
        what = f" ({self._label})" if self._label else ""
        more = "; older events match too" if page.next_cursor else ""
        self.status_label.setText(f"{count_of(shown, 'event')}, newest first{what}{more}.")
        self._update_buttons()
        self.searched.emit(shown)

    # chains ------------------------------------------------------------------------------
    def check_chains(self) -> None:
        self.chains_button.setEnabled(False)
        self.chains_label.setText("Checking every device's chain…")
        insight_ops.load_chains(
            workstation=self._ws, runner=self._runner,
            on_success=self._chains, on_failure=self._failed,
        )  # fmt: skip

    def _chains(self, chains: list[DeviceChainPublic]) -> None:
        self.chains_button.setEnabled(True)
        self.chains.set_records(chains)
        self.chains_table.resizeColumnsToContents()
        broken = sum(1 for c in chains if c.status == "broken")
        gaps = sum(1 for c in chains if c.status == "gap")
        if broken:
            self.chains_label.setText(
                f"{count_of(broken, 'device chain')} broken: an event was changed or removed "
                "after it was written. Tell your administrator."
            )
        elif gaps:
            self.chains_label.setText(f"{count_of(gaps, 'device')} with missing events.")
        else:
            self.chains_label.setText(f"All {count_of(len(chains), 'device chain')} intact.")
        self.chains_loaded.emit(len(chains))

    def chain_status(self, device_id: str) -> str | None:
        for chain in self.chains.records:
            if chain.device_id == device_id:
                return chain.status
        return None

    # exports -----------------------------------------------------------------------------
    @property
    def selection(self) -> list[AuditEventPublic]:
        """The events chosen in the table, or every event shown when none is."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        if not rows:
            return self.events.records
        return [self.events.record_at(row) for row in rows]

    def _choose_file(self, kind: str) -> None:
        suffix = "csv" if kind == "csv" else "json"
        name, _ = QFileDialog.getSaveFileName(
            self, "Export the audit events", f"audit-events.{suffix}", f"*.{suffix}"
        )
        if name:
            self.export_to(Path(name), kind=kind)

    def export_to(self, path: Path, *, kind: str) -> None:
        events = self.selection
        if not events:
            self._failed_text("Search first: there are no events to export.")
            return
        insight_ops.export_events(
            workstation=self._ws, runner=self._runner, events=events, path=path, kind=kind,
            where=self.where, on_success=self._exported, on_failure=self._failed,
        )  # fmt: skip

    def _exported(self, path: Path) -> None:
        self.status_label.setText(f"Exported to {path}.")
        self.exported.emit(str(path))

    # the rest ----------------------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        self.search_button.setEnabled(True)
        self.chains_button.setEnabled(True)
        self._update_buttons()
        self._failed_text(user_message(exc))

    def _failed_text(self, text: str) -> None:
        self.status_label.setText(text)
        self.failed.emit(text)

    def _update_buttons(self) -> None:
        self.more_button.setEnabled(self.next_cursor is not None)
        has_events = self.events.rowCount() > 0
        self.csv_button.setEnabled(has_events)
        self.excerpt_button.setEnabled(has_events)

    def _selected(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.detail.clear()
            return
        event = self.events.record_at(rows[0].row())
        self.detail.setPlainText(
            json.dumps(event.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False)
        )
