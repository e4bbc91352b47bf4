"""Table models of the supervisor desk: operators (their insights), audit events (the
browser's found pages, appended as the user asks for more) and device chains. Each
page comes from the hub whole, so the rows are kept in memory (Anki's row cache)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.core.audit_trail import AuditEventPublic, DeviceChainPublic, case_of
from app.core.insights import OperatorInsightPublic
from app.ui.models.analysis_models import column_header

ModelIndex = QModelIndex | QPersistentModelIndex
T = TypeVar("T")

OPERATOR_COLUMNS = ("User", "Searches", "Usual a day", "Busy days", "Repeated plates",
                    "Isolated sessions", "Refusals")  # fmt: skip
EVENT_COLUMNS = ("When (UTC)", "User", "Device", "Seq", "Action", "Case", "Outcome")
CHAIN_COLUMNS = ("Status", "Owner", "Device", "Events", "In plain words")


def _operator(o: OperatorInsightPublic) -> tuple[object, ...]:
    who = f"{o.display_name} ({o.username})" if o.display_name else o.username
    return (
        who, o.searches, f"{o.baseline_per_day:g}", sum(1 for d in o.per_day if d.above_baseline),
        len(o.repeat_targets), len(o.isolated_sessions), o.refusals.count,
    )  # fmt: skip


def _event(e: AuditEventPublic) -> tuple[object, ...]:
    when = e.occurred_at.replace("T", " ").removesuffix("Z")
    return (when, e.username or "(hub)", e.device_id[:12], e.seq, e.action, case_of(e), e.outcome)


def _chain(c: DeviceChainPublic) -> tuple[object, ...]:
    return (c.status, c.username or "(hub)", c.name, c.events, c.summary)


class RecordTableModel(QAbstractTableModel, Generic[T]):
    """Read-only rows of records, each shown through `cells`."""

    RECORD_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(
        self, columns: Sequence[str], cells: Callable[[T], tuple[object, ...]], parent: Any = None
    ) -> None:
        super().__init__(parent)
        self._columns = tuple(columns)
        self._cells = cells
        self._rows: list[T] = []

    @property
    def records(self) -> list[T]:
        return list(self._rows)

    def set_records(self, records: Sequence[T]) -> None:
        self.beginResetModel()
        self._rows = list(records)
        self.endResetModel()

    def append_records(self, records: Sequence[T]) -> None:
        if not records:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(records) - 1)
        self._rows.extend(records)
        self.endInsertRows()

    def record_at(self, row: int) -> T:
        return self._rows[row]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        record = self._rows[index.row()]
        if role == self.RECORD_ROLE:
            return record
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = self._cells(record)[index.column()]
            return str(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(
            self._cells(record)[index.column()], int
        ):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> str | None:
        return column_header(self._columns, section, orientation, role)


def operators_model(parent: Any = None) -> RecordTableModel[OperatorInsightPublic]:
    return RecordTableModel(OPERATOR_COLUMNS, _operator, parent)


def events_model(parent: Any = None) -> RecordTableModel[AuditEventPublic]:
    return RecordTableModel(EVENT_COLUMNS, _event, parent)


def chains_model(parent: Any = None) -> RecordTableModel[DeviceChainPublic]:
    return RecordTableModel(CHAIN_COLUMNS, _chain, parent)
