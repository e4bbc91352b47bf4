"""The status bar: a confirmation and the connection state are never cut off; the details
step aside while they need the room, and come back."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.ui.desk.chores import OFFLINE
from app.ui.widgets.status_bar import DeskStatusBar


def test_the_offline_notice_and_a_message_fit_beside_the_details(qtbot: QtBot) -> None:
    status = DeskStatusBar()
    qtbot.addWidget(status)
    status.resize(1384, 24)
    connection = QLabel(OFFLINE)
    status.add_essential(connection)
    details = [
        QLabel(text)
        for text in (
            "Signed in as Detective Dana Ortiz (dortiz) · role: detective",
            "12 audit events not yet sent",
            "Last sync: 14:02",
            "Cache: 412.5 MB",
        )
    ]
    for label in details:
        status.add_detail(label)
    status.show()
    status.showMessage(
        "Marked read 3f2a9c0d8e7b4a1f9c2d3e4f5a6b7c8d as evidence for case 2026-004211."
    )
    needed = status.fontMetrics().horizontalAdvance(status.currentMessage())
    qtbot.waitUntil(lambda: needed <= status.free_width(), timeout=2_000)
    assert connection.width() >= connection.sizeHint().width()
    assert status.hidden_details  # the least important stepped aside...
    assert details[0] not in status.hidden_details  # ...not who is signed in
    status.clearMessage()
    qtbot.waitUntil(lambda: not status.hidden_details, timeout=2_000)  # and came back
