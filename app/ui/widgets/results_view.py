"""The results table as the window shows it: one row per read, the engine sorts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from app.ui.models.results_model import COLUMNS, THUMBNAIL_SIZE, TIME, ResultsTableModel

COLUMN_WIDTHS = (136, 144, 52, 126, 64, 68, 56, 92, 60)  # Review: stretches to the rest
ROW_HEIGHT = 26


class ResultsView(QTableView):
    """A QTableView over a ResultsTableModel, set up for a long list of reads.

    Rows have one fixed height and never wrap, so Qt lays out and paints only the
    rows on screen whatever the number loaded; clicking a column header asks the
    engine for that order (the model's sort), newest first until then.
    """

    def __init__(self, model: ResultsTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsView")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Extended: two selected reads can be compared side by side.
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        rows = self.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(ROW_HEIGHT)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        for column, width in enumerate(COLUMN_WIDTHS[: len(COLUMNS)]):
            self.setColumnWidth(column, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSortIndicator(TIME, Qt.SortOrder.DescendingOrder)
        self.setSortingEnabled(True)
        self.setIconSize(THUMBNAIL_SIZE)
