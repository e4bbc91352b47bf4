"""A plain map of camera positions: no tiles, just where the cameras stand relative to each other.

Positions come from each camera's latitude and longitude through an equirectangular
projection (longitude scaled by the cosine of the mean latitude) fitted to the
cameras' bounding box. The map can highlight a plate's sightings in order, and
colour cameras by place (camera group) for the multi-place search, and mark the
cameras chosen for a request; clicking a camera emits `camera_clicked`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.records import CameraInfo, ReadRecord

SIGHTING_COLOR = QColor("#d9822b")
SELECTED_COLOR = QColor("#2f7fc1")
PLACE_COLORS = tuple(QColor(c) for c in ("#2f7fc1", "#3a9d5d", "#9b59b6", "#c0392b", "#16a085"))
CAMERA_RADIUS = 5.0
HIT_RADIUS = 12.0
MARGIN = 28.0
LABEL_WIDTH = 220
NO_CAMERAS = "No camera positions yet"


def place_color(index: int) -> QColor:
    return PLACE_COLORS[index % len(PLACE_COLORS)]


class CameraMapWidget(QWidget):
    """Cameras drawn from their coordinates; sightings numbered in time order."""

    camera_clicked = Signal(str)  # camera id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraMap")
        self.setMinimumSize(260, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self._cameras: list[CameraInfo] = []
        self._orders: dict[str, list[int]] = {}  # camera id -> sighting numbers (1-based)
        self._route: list[str] = []  # camera ids in sighting order
        self._places: dict[str, int] = {}  # camera id -> place index
        self._selected: set[str] = set()  # cameras chosen for a request
        self.painted_cameras = 0
        self.painted_sightings = 0

    def sizeHint(self) -> QSize:
        return QSize(420, 300)

    # -- content -----------------------------------------------------------

    @property
    def cameras(self) -> list[CameraInfo]:
        return list(self._cameras)

    def set_cameras(self, cameras: Sequence[CameraInfo]) -> None:
        self._cameras = sorted(cameras, key=lambda c: c.camera_id)
        self.update()

    def set_sightings(self, reads: Sequence[ReadRecord]) -> None:
        """Highlight where a plate was seen, numbered oldest first."""
        ordered = sorted(reads, key=lambda r: r.captured_at)
        self._orders = {}
        for number, read in enumerate(ordered, start=1):
            self._orders.setdefault(read.camera_id, []).append(number)
        self._route = [read.camera_id for read in ordered]
        self.update()

    def set_places(self, places: Mapping[str, int]) -> None:
        """Colour cameras by the place (camera group, 0-based) they belong to."""
        self._places = dict(places)
        self.update()

    def set_selected(self, camera_ids: Sequence[str]) -> None:
        """Mark the cameras a request is limited to (drawn larger, with a ring)."""
        self._selected = set(camera_ids)
        self.update()

    @property
    def selected(self) -> set[str]:
        return set(self._selected)

    # -- geometry ----------------------------------------------------------

    def positions(self) -> dict[str, QPointF]:
        """Each camera's point in widget coordinates (north up)."""
        if not self._cameras:
            return {}
        lats = [c.latitude for c in self._cameras]
        mean_lat = math.radians(sum(lats) / len(lats))
        xs = {c.camera_id: c.longitude * math.cos(mean_lat) for c in self._cameras}
        ys = {c.camera_id: c.latitude for c in self._cameras}
        min_x, max_x = min(xs.values()), max(xs.values())
        min_y, max_y = min(ys.values()), max(ys.values())
        area = QRectF(self.rect()).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        span_x, span_y = max_x - min_x, max_y - min_y
        scales = []
        if span_x > 0:
            scales.append(area.width() / span_x)
        if span_y > 0:
            scales.append(area.height() / span_y)
        scale = min(scales) if scales else 0.0
        center_x, center_y = (min_x + max_x) / 2, (min_y + max_y) / 2
        mid = area.center()
        return {
            cid: QPointF(
                mid.x() + (xs[cid] - center_x) * scale, mid.y() - (ys[cid] - center_y) * scale
            )
            for cid in xs
        }

    def camera_at(self, point: QPointF) -> str | None:
        best: tuple[float, str] | None = None
        for cid, where in self.positions().items():
            distance = math.hypot(where.x() - point.x(), where.y() - point.y())
            if distance <= HIT_RADIUS and (best is None or distance < best[0]):
                best = (distance, cid)
        return None if best is None else best[1]

    # -- events ------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            camera_id = self.camera_at(event.position())
            if camera_id is not None:
                self.camera_clicked.emit(camera_id)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        camera_id = self.camera_at(event.position())
        names = {c.camera_id: c.name for c in self._cameras}
        self.setToolTip(f"{names[camera_id]} ({camera_id})" if camera_id else "")
        super().mouseMoveEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        self.painted_cameras = 0
        self.painted_sightings = 0
        text_color = palette.color(QPalette.ColorRole.Text)
        if not self._cameras:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, NO_CAMERAS)
            painter.end()
            return
        painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(
            QRectF(self.rect()).adjusted(6, 4, -6, -4), Qt.AlignmentFlag.AlignRight, "N ↑"
        )
        where = self.positions()
        self._paint_route(painter, where)
        metrics = QFontMetrics(self.font())
        taken: list[QRectF] = []  # label boxes already drawn
        for camera in self._cameras:
            point = where[camera.camera_id]
            orders = self._orders.get(camera.camera_id, [])
            place = self._places.get(camera.camera_id)
            fill = palette.color(QPalette.ColorRole.Mid) if not camera.active else QColor("#5b7a99")
            if place is not None:
                fill = place_color(place)
            radius = CAMERA_RADIUS
            ring = QPen(palette.color(QPalette.ColorRole.Base), 1.5)
            if camera.camera_id in self._selected:
                fill, radius = SELECTED_COLOR, CAMERA_RADIUS + 2
                ring = QPen(palette.color(QPalette.ColorRole.Text), 2)
            if orders:
                fill, radius = SIGHTING_COLOR, CAMERA_RADIUS + 3
            painter.setPen(ring)
            painter.setBrush(fill)
            painter.drawEllipse(point, radius, radius)
            self.painted_cameras += 1
            self.painted_sightings += len(orders)
            label = camera.name
            if place is not None:
                label = f"P{place + 1} · {label}"
            if orders:
                label = f"{', '.join(str(n) for n in orders)} · {label}"
            label = metrics.elidedText(label, Qt.TextElideMode.ElideRight, LABEL_WIDTH)
            box = self._label_box(point, radius, metrics.horizontalAdvance(label), metrics, taken)
            taken.append(box)
            painter.setPen(SIGHTING_COLOR.darker(130) if orders else text_color)
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
        painter.end()

    def _label_box(
        self,
        point: QPointF,
        radius: float,
        width: float,
        metrics: QFontMetrics,
        taken: Sequence[QRectF],
    ) -> QRectF:
        """Beside the dot (right if it fits, else left), inside the widget, off other labels."""
        height = float(metrics.height())
        right = point.x() + radius + 4
        x = right if right + width <= self.width() - 2 else point.x() - radius - 4 - width
        x = min(max(2.0, x), self.width() - width - 2)
        y = point.y() - height / 2
        box = QRectF(x, y, width, height)
        for shift in (height, -height, 2 * height, -2 * height):
            if not any(box.intersects(other) for other in taken):
                break
            box = QRectF(x, y + shift, width, height)
        return box

    def _paint_route(self, painter: QPainter, where: Mapping[str, QPointF]) -> None:
        """Thin lines from each sighting's camera to the next one's."""
        pen = QPen(SIGHTING_COLOR, 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        for a, b in zip(self._route, self._route[1:], strict=False):
            if a != b and a in where and b in where:
                painter.drawLine(where[a], where[b])
