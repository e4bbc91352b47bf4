"""The supervisor's review queue in the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from app.core.oversight import queue_order
from app.ui.models.review_queue_model import QUEUE_COLUMNS, ReviewQueueModel
from tests.support.review_items import item


def test_review_queue_model(qtmodeltester: ModelTester) -> None:
    model = ReviewQueueModel()
    items = queue_order([item("a", ["off_hours"], 5), item("b", ["case_not_assigned"], 0)])
    model.set_items(items)
    qtmodeltester.check(model)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == list(QUEUE_COLUMNS)
    first = [model.data(model.index(0, c)) for c in (0, 2, 3, 4, 5, 6)]
    assert first == ["high", "detective", "2026-000123", "case not assigned", "3", "open"]
    assert model.data(model.index(0, 4), Qt.ItemDataRole.ToolTipRole) == (
        "case_not_assigned: case_not_assigned fired"
    )
    decided = items[1].model_copy(update={"status": "justification_requested"})
    with_signal = []
    model.dataChanged.connect(lambda top, bottom: with_signal.append((top.row(), bottom.row())))
    model.replace(decided)
    assert with_signal == [(1, 1)]
    assert model.data(model.index(1, 6)) == "justification requested"
    qtmodeltester.check(model)
