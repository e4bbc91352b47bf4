"""Small things a new user tripped over: the saved search's name has the focus, and a date
typed into a search bound is taken."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.ui.dialogs.review_dialogs import SaveSearchDialog
from app.ui.widgets.search_panel import SearchPanel


def test_the_save_search_name_has_the_focus_and_a_space_is_a_space(qtbot: QtBot) -> None:
    dialog = SaveSearchDialog(case_number="2026-004211", summary="Plate 7K2*")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.name_edit, timeout=2000)
    qtbot.keyClicks(QApplication.focusWidget(), "Silver Camry")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert dialog.name_edit.text() == "Silver Camry "
    assert dialog.result() == 0  # not saved by the space
    assert dialog.isVisible()


def test_digits_typed_into_a_date_field_are_taken_and_turn_the_bound_on(qtbot: QtBot) -> None:
    panel = SearchPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.filters_button.setChecked(True)
    assert not panel.from_check.isChecked()
    qtbot.waitExposed(panel)
    edit = panel.from_edit
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton, pos=QPoint(8, edit.height() // 2))
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    qtbot.keyClicks(edit, "2025")  # the year, the first section
    assert panel.from_check.isChecked()
    query = panel.build_query(case_number="2026-004211", purpose="robbery")
    assert query.time_from is not None
    assert query.time_from.astimezone().year == 2025
    assert panel.active_filter_count == 1
    assert query.time_from < datetime.now().astimezone()
