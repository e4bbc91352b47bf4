"""Small table models for the analyses: vehicles seen with a plate, plates seen at every place.

Both hold a short list the engine returned in full (associates and place matches
are bounded by the case's slices), so they keep their rows in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from app.core.records import Associate, PlaceMatch
from app.ui.formatting import local_time

ModelIndex = QModelIndex | QPersistentModelIndex

ASSOCIATE_COLUMNS: tuple[str, ...] = ("Plate", "Cameras", "Sightings", "First seen", "Last seen")
_NUMERIC = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def short_time(moment: datetime) -> str:
    """Month, day and minute in local time (the full time is in the tooltip)."""
    return moment.astimezone().strftime("%m-%d %H:%M")


def _plate_font() -> QFont:
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    font.setBold(True)
    return font


def column_header(
    columns: Sequence[str], section: int, orientation: Qt.Orientation, role: int
) -> str | None:
    """A table model's horizontal header: the column's title, nothing else."""
    if (
        role == Qt.ItemDataRole.DisplayRole
        and orientation == Qt.Orientation.Horizontal
        and 0 <= section < len(columns)
    ):
        return columns[section]
    return None


class AssociatesTableModel(QAbstractTableModel):
    """ "Seen with this plate": one row per associate, in the engine's order."""

    ASSOCIATE_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Associate] = []
        self._plate_font = _plate_font()

    def set_rows(self, rows: Sequence[Associate]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def associate_at(self, row: int) -> Associate:
        return self._rows[row]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(ASSOCIATE_COLUMNS)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            values = (
                item.plate,
                f"{item.cameras:,}",
                f"{item.sightings:,}",
                short_time(item.first_seen),
                short_time(item.last_seen),
            )
            return values[column] if 0 <= column < len(values) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return int(_NUMERIC)
        if role == Qt.ItemDataRole.FontRole and column == 0:
            return self._plate_font
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return f"Double-click to search for {item.plate}"
            if column in (3, 4):
                return local_time(item.first_seen if column == 3 else item.last_seen)
        if role == self.ASSOCIATE_ROLE:
            return item
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_header(ASSOCIATE_COLUMNS, section, orientation, role)


class PlaceMatchTableModel(QAbstractTableModel):
    """Plates seen at every chosen place: plate, sightings at each place, total."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[PlaceMatch] = []
        self._places = 0
        self._plate_font = _plate_font()

    @property
    def place_count(self) -> int:
        return self._places

    def set_rows(self, rows: Sequence[PlaceMatch], *, places: int) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._places = places
        self.endResetModel()

    def match_at(self, row: int) -> PlaceMatch:
        return self._rows[row]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._places + 2

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        column = index.column()
        if not 0 <= column < self._places + 2:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return item.plate
            if column <= self._places:
                counts = item.sightings
                return f"{counts[column - 1]:,}" if column - 1 < len(counts) else ""
            return f"{sum(item.sightings):,}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return int(_NUMERIC)
        if role == Qt.ItemDataRole.FontRole and column == 0:
            return self._plate_font
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if section == 0:
            return "Plate"
        if 1 <= section <= self._places:
            return f"Place {section}"
        if section == self._places + 1:
            return "Total"
        return None
