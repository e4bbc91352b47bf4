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
from app.ui.formatting import camera_names

SIGHTING_COLOR = QColor("#d9822b")
SELECTED_COLOR = QColor("#2f7fc1")
PLACE_COLORS = tuple(QColor(c) for c in ("#2f7fc1", "#3a9d5d", "#9b59b6", "#c0392b", "#16a085"))
CAMERA_RADIUS = 5.0
HIT_RADIUS = 12.0
MARGIN = 28.0
LABEL_WIDTH = 220
SHORT_LABEL = 120.0  # a label elided this far, or further, where the full one has no room
SHORTEST_LABEL = 64.0
NO_CAMERAS = "No camera positions yet"


def place_color(index: int) -> QColor:
    return PLACE_COLORS[index % len(PLACE_COLORS)]


def _beside(point: QPointF, gap: float, width: float, height: float) -> list[QRectF]:
    """Boxes touching a dot: right, left, above, below, then the four corners."""
    x, y = point.x(), point.y()
    return [
        QRectF(x + gap, y - height / 2, width, height),
        QRectF(x - gap - width, y - height / 2, width, height),
        QRectF(x - width / 2, y - gap - height, width, height),
        QRectF(x - width / 2, y + gap, width, height),
        QRectF(x + gap / 2, y - gap - height, width, height),
        QRectF(x + gap / 2, y + gap, width, height),
        QRectF(x - gap / 2 - width, y - gap - height, width, height),
        QRectF(x - gap / 2 - width, y + gap, width, height),
    ]


def _to(point: QPointF, box: QRectF) -> float:
    """How far a point is from a box (0 inside it)."""
    dx = max(box.left() - point.x(), 0.0, point.x() - box.right())
    dy = max(box.top() - point.y(), 0.0, point.y() - box.bottom())
    return math.hypot(dx, dy)


def _nearest_is(point: QPointF, box: QRectF, others: Sequence[QPointF]) -> bool:
    """Whether `point` is clearly the nearest dot to `box` (every other one is further by
    more than a dot's width): the label reads as that dot's."""
    own = _to(point, box)
    return all(_to(other, box) > own + 2 * CAMERA_RADIUS for other in others)


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
        """The camera under `point`: its dot, else its label, else the nearest dot within
        HIT_RADIUS. A click on a label picks the label's camera, never a dot beside it."""
        where = self.positions()
        nearest: tuple[float, str] | None = None
        for cid, dot in where.items():
            distance = math.hypot(dot.x() - point.x(), dot.y() - point.y())
            if distance <= HIT_RADIUS and (nearest is None or distance < nearest[0]):
                nearest = (distance, cid)
        if nearest is not None and nearest[0] <= CAMERA_RADIUS + 3:
            return nearest[1]
        for cid, box in self.label_boxes().items():
            if box.contains(point):
                return cid
        return None if nearest is None else nearest[1]

    def label_text(self, camera: CameraInfo) -> str:
        label = camera.name
        place = self._places.get(camera.camera_id)
        if place is not None:
            label = f"P{place + 1} · {label}"
        orders = self._orders.get(camera.camera_id, [])
        if orders:
            label = f"{', '.join(str(n) for n in orders)} · {label}"
        metrics = QFontMetrics(self.font())
        return metrics.elidedText(label, Qt.TextElideMode.ElideRight, LABEL_WIDTH)

    def _radius(self, camera_id: str) -> float:
        if self._orders.get(camera_id):
            return CAMERA_RADIUS + 3
        if camera_id in self._selected:
            return CAMERA_RADIUS + 2
        return CAMERA_RADIUS

    def label_boxes(self) -> dict[str, QRectF]:
        """Where each camera's label goes: touching its own dot (right, left, above or
        below it), inside the widget, clear of the other labels and of every other dot,
        so that a label always sits by the dot it names."""
        where = self.positions()
        metrics = QFontMetrics(self.font())
        height = float(metrics.height())
        inside = QRectF(self.rect()).adjusted(2, 2, -2, -2)
        boxes: dict[str, QRectF] = {}
        for camera in self._cameras:
            cid = camera.camera_id
            point, gap = where[cid], self._radius(cid) + 4
            # Qt elides a text drawn in exactly its rounded advance: two pixels to spare
            full = float(metrics.horizontalAdvance(self.label_text(camera)) + 2)
            others = [p for other, p in where.items() if other != cid]
            candidates = [
                box
                for width in dict.fromkeys(
                    (full, min(full, SHORT_LABEL), min(full, SHORTEST_LABEL))
                )
                for box in _beside(point, gap, width, height)
                if inside.contains(box)
            ] or _beside(point, gap, full, height)
            taken = list(boxes.values())
            by_own_dot = [b for b in candidates if _nearest_is(point, b, others)]
            boxes[cid] = next(
                (b for b in by_own_dot if not any(b.intersects(t) for t in taken)),
                by_own_dot[0]
                if by_own_dot
                else max(candidates, key=lambda b: min((_to(p, b) for p in others), default=0.0)),
            )
        return boxes

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
        names = camera_names(self._cameras)
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
        boxes = self.label_boxes()
        metrics = QFontMetrics(self.font())
        for camera in self._cameras:
            point = where[camera.camera_id]
            orders = self._orders.get(camera.camera_id, [])
            place = self._places.get(camera.camera_id)
            fill = palette.color(QPalette.ColorRole.Mid) if not camera.active else QColor("#5b7a99")
            if place is not None:
                fill = place_color(place)
            radius = self._radius(camera.camera_id)
            ring = QPen(palette.color(QPalette.ColorRole.Base), 1.5)
            if camera.camera_id in self._selected:
                fill = SELECTED_COLOR
                ring = QPen(palette.color(QPalette.ColorRole.Text), 2)
            if orders:
                fill = SIGHTING_COLOR
            painter.setPen(ring)
            painter.setBrush(fill)
            painter.drawEllipse(point, radius, radius)
            self.painted_cameras += 1
            self.painted_sightings += len(orders)
            painter.setPen(SIGHTING_COLOR.darker(130) if orders else text_color)
            box = boxes[camera.camera_id]
            text = metrics.elidedText(
                self.label_text(camera), Qt.TextElideMode.ElideRight, math.ceil(box.width())
            )
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.end()

    def _paint_route(self, painter: QPainter, where: Mapping[str, QPointF]) -> None:
        """Thin lines from each sighting's camera to the next one's."""
        pen = QPen(SIGHTING_COLOR, 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        for a, b in zip(self._route, self._route[1:], strict=False):
            if a != b and a in where and b in where:
                painter.drawLine(where[a], where[b])
