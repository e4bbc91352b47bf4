"""A plate's sightings on a time axis, each a mark labelled with its camera."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QFontMetrics, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.records import ReadRecord
from app.ui.widgets.camera_map import SIGHTING_COLOR

SIDE = 56.0
LABEL_ROWS = 3
LABEL_WIDTH = 200  # a sighting's number and camera name, elided beyond this
NO_SIGHTINGS = "No sightings to show"
TICKS = 5


class TimelineWidget(QWidget):
    """Sightings oldest to newest, left to right; labels take the first free of a few rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._reads: list[ReadRecord] = []
        self.painted_marks = 0
        self.painted_labels = 0

    def sizeHint(self) -> QSize:
        return QSize(600, 130)

    @property
    def sightings(self) -> list[ReadRecord]:
        return list(self._reads)

    def set_sightings(self, reads: Sequence[ReadRecord]) -> None:
        self._reads = sorted(reads, key=lambda r: r.captured_at)
        self.update()

    def _span(self) -> tuple[datetime, datetime]:
        start, end = self._reads[0].captured_at, self._reads[-1].captured_at
        if end - start < timedelta(minutes=1):
            start, end = start - timedelta(minutes=30), end + timedelta(minutes=30)
        pad = (end - start) * 0.03
        return start - pad, end + pad

    def x_of(self, moment: datetime) -> float:
        start, end = self._span()
        width = max(1.0, self.width() - 2 * SIDE)
        return SIDE + (moment - start) / (end - start) * width

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        self.painted_marks = 0
        self.painted_labels = 0
        if not self._reads:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, NO_SIGHTINGS)
            painter.end()
            return
        metrics = QFontMetrics(self.font())
        line_height = metrics.height()
        axis_y = self.height() - line_height - 10
        text = palette.color(QPalette.ColorRole.Text)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        painter.setPen(QPen(muted, 1))
        painter.drawLine(QPointF(SIDE, axis_y), QPointF(self.width() - SIDE, axis_y))
        start, end = self._span()
        fmt = "%H:%M" if end - start < timedelta(days=1) else "%m-%d %H:%M"
        for i in range(TICKS):
            moment = start + (end - start) * i / (TICKS - 1)
            x = self.x_of(moment)
            painter.drawLine(QPointF(x, axis_y), QPointF(x, axis_y + 4))
            label = moment.astimezone().strftime(fmt)
            width = metrics.horizontalAdvance(label)
            painter.drawText(QPointF(x - width / 2, axis_y + 4 + metrics.ascent()), label)
        free_from = [float("-inf")] * LABEL_ROWS  # where each label row is free again
        for number, read in enumerate(self._reads, start=1):
            x = self.x_of(read.captured_at)
            painter.setPen(QPen(SIGHTING_COLOR, 2))
            painter.drawLine(QPointF(x, axis_y - 14), QPointF(x, axis_y))
            painter.setBrush(SIGHTING_COLOR)
            painter.drawEllipse(QPointF(x, axis_y - 14), 3.5, 3.5)
            self.painted_marks += 1
            label = metrics.elidedText(
                f"{number} {read.camera_name}", Qt.TextElideMode.ElideRight, LABEL_WIDTH
            )
            width = metrics.horizontalAdvance(label)
            left = min(max(2.0, x - width / 2), self.width() - width - 2)
            for row in range(LABEL_ROWS):
                if left > free_from[row]:
                    free_from[row] = left + width + 8
                    y = axis_y - 22 - row * (line_height + 2)
                    painter.setPen(QPen(muted, 1, Qt.PenStyle.DotLine))
                    painter.drawLine(QPointF(x, y + 3), QPointF(x, axis_y - 18))
                    painter.setPen(text)
                    painter.drawText(QPointF(left, y), label)  # one line, never wrapped
                    self.painted_labels += 1
                    break
        painter.end()
