"""The review queue's filter bar: what it sends to the hub, and the dates it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.widgets.review_filter_bar import BAD_DATE, FilterError, QueueFilters, ReviewFilterBar


def test_filters_as_typed(qtbot: QtBot) -> None:
    bar = ReviewFilterBar()
    qtbot.addWidget(bar)
    assert bar.filters() == QueueFilters()  # pending, every rule, user, case and date
    bar.status_box.setCurrentIndex(bar.status_box.findData("answered"))
    bar.rule_box.setCurrentIndex(bar.rule_box.findData("random_sample"))
    bar.user_edit.setText("  detective ")
    bar.case_edit.setText("2026-004211")
    bar.from_edit.setText("2026-11-10")
    bar.to_edit.setText("2026-11-11")
    chosen = bar.filters()
    local_midnight = datetime.combine(datetime(2026, 11, 10).date(), time()).astimezone()
    assert (chosen.status, chosen.rule, chosen.user, chosen.case_number) == (
        "answered", "random_sample", "detective", "2026-004211",
    )  # fmt: skip
    assert chosen.since == local_midnight.astimezone(UTC)
    assert chosen.until is not None
    assert chosen.until - chosen.since == timedelta(days=2)  # through the end of the 11th
    with qtbot.waitSignal(bar.applied, timeout=1_000):
        qtbot.keyClick(bar.case_edit, Qt.Key.Key_Return)


def test_dates_that_cannot_be_sent(qtbot: QtBot) -> None:
    bar = ReviewFilterBar()
    qtbot.addWidget(bar)
    bar.from_edit.setText("11/02/2026")
    with pytest.raises(FilterError) as bad:
        bar.filters()
    assert str(bad.value) == BAD_DATE.format(text="11/02/2026")
    bar.from_edit.setText("2026-11-05")
    bar.to_edit.setText("2026-11-03")
    with pytest.raises(FilterError, match="before the 'from' date"):
        bar.filters()
