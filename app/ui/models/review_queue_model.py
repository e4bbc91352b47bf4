"""The supervisor's review queue: one row per flagged search, in the hub's order
(most severe first, then newest). The hub sends the queue a page at a time; the rows
shown are kept in memory and the next page is appended."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.core.schemas import ReviewItemPublic
from app.ui.formatting import local_time
from app.ui.models.analysis_models import column_header, short_time

ModelIndex = QModelIndex | QPersistentModelIndex

QUEUE_COLUMNS: tuple[str, ...] = ("Severity", "When", "User", "Case", "Rules", "Results", "Status")
_NUMERIC = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def status_words(status: str) -> str:
    return status.replace("_", " ")


class ReviewQueueModel(QAbstractTableModel):
    ITEM_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[ReviewItemPublic] = []

    def set_items(self, items: Sequence[ReviewItemPublic]) -> None:
        self.beginResetModel()
        self._rows = list(items)
        self.endResetModel()

    def append_items(self, items: Sequence[ReviewItemPublic]) -> None:
        """The queue's next page, after the rows shown (the hub's order goes on)."""
        known = {item.item_id for item in self._rows}
        new = [item for item in items if item.item_id not in known]
        if not new:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._rows.extend(new)
        self.endInsertRows()

    @property
    def items(self) -> list[ReviewItemPublic]:
        return list(self._rows)

    def item_at(self, row: int) -> ReviewItemPublic:
        return self._rows[row]

    def row_of(self, item_id: str) -> int | None:
        return next((i for i, item in enumerate(self._rows) if item.item_id == item_id), None)

    def replace(self, item: ReviewItemPublic) -> None:
        """An item the hub returned after a decision: its row shows the new status."""
        row = self.row_of(item.item_id)
        if row is None:
            return
        self._rows[row] = item
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(QUEUE_COLUMNS) - 1))

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(QUEUE_COLUMNS)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            values = (
                item.severity,
                short_time(item.occurred_at),
                item.display_name or item.username,
                item.case_number,
                ", ".join(rule.rule.replace("_", " ") for rule in item.rules),
                "-" if item.result_count is None else f"{item.result_count:,}",
                status_words(item.status),
            )
            return values[column] if 0 <= column < len(values) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 5:
            return int(_NUMERIC)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 1:
                return local_time(item.occurred_at)
            if column == 2:
                return (
                    f"{item.display_name} ({item.username})" if item.display_name else item.username
                )
            if column == 4:
                return "\n".join(f"{rule.rule}: {rule.reason}" for rule in item.rules)
        if role == self.ITEM_ROLE:
            return item
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_header(QUEUE_COLUMNS, section, orientation, role)
