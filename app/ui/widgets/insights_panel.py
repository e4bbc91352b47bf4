"""Operator insights: per user of the supervisor's unit over N days, their searches
against their own baseline, repeatedly tracked plates, isolated sessions, searches per
case and purpose, and refusals. Each insight opens the audit events behind it (the
audit trail browser shows them) and can be filed as a review item."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.insights import (
    DEFAULT_DAYS,
    MAX_DAYS,
    InsightKind,
    OperatorInsightPublic,
    OperatorInsightsPublic,
)
from app.core.schemas import ReviewItemPublic
from app.ui.errors import user_message
from app.ui.formatting import count_of, local_time
from app.ui.models.insights_models import operators_model
from app.ui.operations import insights as insight_ops
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

INSIGHTS_TAB = "Operator insights"
CHOOSE_OPERATOR = "Choose a user to see their insights."
CHOOSE_INSIGHT = "Choose an insight to open its audit events or file it for review."
_INSIGHT_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class Insight:
    """One insight of one user: what it is, in words, and the audit events behind it."""

    username: str
    kind: InsightKind
    summary: str
    event_ids: tuple[str, ...]


def insights_of(o: OperatorInsightPublic) -> list[tuple[str, list[Insight]]]:
    """The user's insights, grouped under a heading each (empty groups kept, to say so)."""
    busy = [
        Insight(o.username, "search_volume",
                f"{d.day:%Y-%m-%d}: {d.searches} searches (usually {o.baseline_per_day:g} a day)",
                tuple(d.event_ids))
        for d in o.per_day if d.above_baseline
    ]  # fmt: skip
    repeats = [
        Insight(o.username, "repeat_target",
                f"{r.target}: {r.searches} searches on {r.days} days, {r.first_at:%m-%d} to "
                f"{r.last_at:%m-%d} ({r.user_score:g}× the user's usual, "
                f"{r.unit_score:g}× the unit's)",
                tuple(r.event_ids))
        for r in o.repeat_targets
    ]  # fmt: skip
    sessions = [
        Insight(o.username, "isolated_session",
                f"{local_time(s.started_at)}: {s.searches} searches in "
                f"{int((s.ended_at - s.started_at).total_seconds() // 60)} min, nothing for "
                f"{s.quiet_before_hours:g} h before and {s.quiet_after_hours:g} h after",
                tuple(s.event_ids))
        for s in o.isolated_sessions
    ]  # fmt: skip
    refusals = (
        [Insight(o.username, "refusals",
                 f"{count_of(o.refusals.count, 'refusal')}: "
                 + ", ".join(f"{c.key} ×{c.searches}" for c in o.refusals.actions),
                 tuple(o.refusals.event_ids))]
        if o.refusals.count else []
    )  # fmt: skip
    return [
        ("Days well above the usual", busy),
        ("Repeatedly tracked plates", repeats),
        ("Isolated sessions", sessions),
        ("Refusals", refusals),
    ]


class InsightsPanel(QWidget):
    loaded = Signal(int)  # operators
    events_requested = Signal(list, str)  # event ids, what they are (for the browser)
    filed = Signal(str)  # the new review item's id
    failed = Signal(str)

    def __init__(
        self, *, workstation: Workstation, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._runner = runner
        self.found: OperatorInsightsPublic | None = None
        self._insight_items: list[QTreeWidgetItem] = []
        self.model = operators_model(self)
        self.days_spin = QSpinBox()
        self.days_spin.setRange(1, MAX_DAYS)
        self.days_spin.setValue(DEFAULT_DAYS)
        self.days_spin.setSuffix(" days")
        self.refresh_button = QPushButton("Refresh")
        self.status_label = QLabel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Insight"])
        self.tree.setWordWrap(True)
        self.summary_label = QLabel(CHOOSE_OPERATOR)
        self.summary_label.setWordWrap(True)
        self.open_button = QPushButton("Open its audit events")
        self.file_button = QPushButton("File for review")

        top = QHBoxLayout()
        top.addWidget(QLabel("Over the last"))
        top.addWidget(self.days_spin)
        top.addWidget(self.refresh_button)
        top.addWidget(self.status_label, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.summary_label)
        right_layout.addWidget(self.tree, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.file_button)
        right_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([880, 560])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        self.refresh_button.clicked.connect(self.refresh)
        self.table.selectionModel().selectionChanged.connect(self._operator_changed)
        self.tree.itemSelectionChanged.connect(self._insight_changed)
        self.open_button.clicked.connect(self.open_events)
        self.file_button.clicked.connect(self.file_current)
        self._show(None)

    # actions --------------------------------------------------------------------------
    def conceal(self) -> None:
        """The lock: no insight is left on screen (they load again when opened)."""
        self.found = None
        self.model.set_records([])
        self.status_label.clear()
        self._show(None)

    def refresh(self) -> None:
        self.status_label.setText("Loading the insights…")
        self.refresh_button.setEnabled(False)
        insight_ops.load_operators(
            workstation=self._ws, runner=self._runner, days=self.days_spin.value(),
            on_success=self._loaded, on_failure=self._failed,
        )  # fmt: skip

    def select_user(self, username: str) -> bool:
        for row, o in enumerate(self.model.records):
            if o.username == username:
                self.table.selectRow(row)
                return True
        return False

    @property
    def current_insight(self) -> Insight | None:
        items = self.tree.selectedItems()
        found = items[0].data(0, _INSIGHT_ROLE) if items else None
        return found if isinstance(found, Insight) else None

    def select_insight(self, kind: InsightKind, index: int = 0) -> bool:
        """Choose the user's `index`-th insight of this kind; False when there is none."""
        matching = [
            item for item in self._insight_items if item.data(0, _INSIGHT_ROLE).kind == kind
        ]
        if index >= len(matching):
            return False
        self.tree.setCurrentItem(matching[index])
        return True

    def open_events(self) -> None:
        insight = self.current_insight
        if insight is not None:
            self.events_requested.emit(list(insight.event_ids), insight.summary)

    def file_current(self) -> None:
        insight = self.current_insight
        if insight is None:
            return
        self.file_button.setEnabled(False)
        insight_ops.file_insight(
            workstation=self._ws, runner=self._runner, username=insight.username,
            kind=insight.kind, summary=insight.summary, event_ids=insight.event_ids,
            on_success=self._filed, on_failure=self._failed,
        )  # fmt: skip

    # results ---------------------------------------------------------------------------
    def _loaded(self, found: OperatorInsightsPublic) -> None:
        self.found = found
        self.refresh_button.setEnabled(True)
        self.model.set_records(found.operators)
        self.table.resizeColumnsToContents()
        flagged = sum(1 for o in found.operators if o.repeat_targets or o.isolated_sessions)
        self.status_label.setText(
            f"{count_of(len(found.operators), 'user')} of "
            f"{found.unit or 'every unit'}; {flagged} with repeated plates or isolated "
            "sessions"
        )
        self._show(None)
        self.loaded.emit(len(found.operators))

    def _filed(self, item: ReviewItemPublic) -> None:
        self.file_button.setEnabled(True)
        self.status_label.setText(
            f"Filed for review: {item.rules[0].reason if item.rules else item.item_id}"
        )
        self.filed.emit(item.item_id)

    def _failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        self.file_button.setEnabled(self.current_insight is not None)
        text = user_message(exc)
        self.status_label.setText(text)
        self.failed.emit(text)

    def _operator_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        self._show(self.model.record_at(rows[0].row()) if rows else None)

    def _insight_changed(self) -> None:
        chosen = self.current_insight is not None
        self.open_button.setEnabled(chosen)
        self.file_button.setEnabled(chosen)

    def _show(self, o: OperatorInsightPublic | None) -> None:
        self.tree.clear()
        self._insight_items = []
        self.open_button.setEnabled(False)
        self.file_button.setEnabled(False)
        if o is None:
            self.summary_label.setText(CHOOSE_OPERATOR)
            return
        cases = ", ".join(f"{c.key} ×{c.searches}" for c in o.per_case) or "none"
        purposes = ", ".join(f"{p.key} ×{p.searches}" for p in o.per_purpose) or "none"
        self.summary_label.setText(
            f"<b>{o.display_name or o.username}</b>: {count_of(o.searches, 'search', 'searches')}"
            f", usually {o.baseline_per_day:g} a day when searching.<br>Per case: {cases}<br>"
            f"Per purpose: {purposes}<br>{CHOOSE_INSIGHT}"
        )
        for heading, found in insights_of(o):
            group = QTreeWidgetItem([f"{heading} ({len(found)})" if found else f"{heading}: none"])
            group.setFlags(group.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            for insight in found:
                child = QTreeWidgetItem([insight.summary])
                child.setData(0, _INSIGHT_ROLE, insight)
                child.setToolTip(0, insight.summary)
                group.addChild(child)
                self._insight_items.append(child)
            self.tree.addTopLevelItem(group)
            group.setExpanded(True)
