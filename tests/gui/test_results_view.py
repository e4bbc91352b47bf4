"""The results table as it opens: every column's title can be read whole."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetrics
from pytestqt.qtbot import QtBot

from app.ui.models.results_model import COLUMNS, ResultsTableModel
from app.ui.widgets.results_view import ResultsView
from app.ui.workers import TaskRunner

# resources/styles/platedesk.qss, QHeaderView::section: font-weight 600, padding 4px 6px,
# a 1px border on the right.
TITLE_BOX = 2 * 6 + 1


def test_every_column_title_fits_its_column(qtbot: QtBot, runner: TaskRunner) -> None:
    view = ResultsView(ResultsTableModel(workstation=None, runner=runner))  # type: ignore[arg-type]
    qtbot.addWidget(view)
    font = QFont(view.horizontalHeader().font())
    font.setWeight(QFont.Weight.DemiBold)
    metrics = QFontMetrics(font)
    cut = [
        title
        for column, title in enumerate(COLUMNS[:-1])  # the last column stretches
        if view.columnWidth(column) < metrics.horizontalAdvance(title) + TITLE_BOX
    ]
    assert cut == []  # once "Stat" and "Confidenc"
