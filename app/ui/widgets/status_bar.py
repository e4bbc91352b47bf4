"""The window's status bar: confirmations and the hub's state always readable in full.

QStatusBar gives a message only the room its permanent widgets leave, so with the
user, journal, sync and cache labels beside it, "Marked read … as evidence" came out
as "Marl" at the default window size, and the offline notice was cut too. Here the
labels that say what is always true (who is signed in, the journal, the cache) are
details: the least important of them step aside while a message or the connection
state needs the room, and come back when it is free.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

MESSAGE_PADDING = 24  # the message's margins and the gap before the first label


class DeskStatusBar(QStatusBar):
    """A status bar whose message and essential labels are never cut off."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self._essential: list[QLabel] = []
        self._details: list[QLabel] = []  # most important first
        self._fitting = QTimer(self)
        self._fitting.setSingleShot(True)
        self._fitting.setInterval(0)
        self._fitting.timeout.connect(self.fit)
        self.messageChanged.connect(self.fit)

    def add_essential(self, label: QLabel) -> None:
        """A label always shown in full (the connection state, a security warning)."""
        self._essential.append(label)
        self.addPermanentWidget(label)

    def add_detail(self, label: QLabel) -> None:
        """A label shown while there is room for it (added most important first)."""
        self._details.append(label)
        self.addPermanentWidget(label)

    @property
    def hidden_details(self) -> list[QLabel]:
        return [label for label in self._details if label.isHidden()]

    def free_width(self) -> int:
        """The room the message has: up to the first permanent label shown."""
        shown = [label for label in (*self._essential, *self._details) if label.isVisible()]
        right = min((label.geometry().left() for label in shown), default=self.width())
        return right - self.contentsMargins().left()

    def fit(self) -> None:
        """Show the details that fit beside the message and the essential labels."""
        layout = self.layout()
        spacing = layout.spacing() if layout is not None else 6
        message = self.currentMessage()
        used = self.contentsMargins().left() + self.contentsMargins().right()
        if message:
            used += self.fontMetrics().horizontalAdvance(message) + MESSAGE_PADDING
        for label in self._essential:
            if not label.isHidden():
                used += label.sizeHint().width() + spacing
        for label in self._details:
            width = label.sizeHint().width() + spacing
            fits = used + width <= self.width()
            if fits:
                used += width
            if label.isHidden() == fits:
                label.setHidden(not fits)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fitting.start()

    def event(self, event: QEvent) -> bool:
        # A label's new text asks its parent, this bar, to lay out again: fit again too.
        if event.type() == QEvent.Type.LayoutRequest:
            self._fitting.start()
        return super().event(event)
