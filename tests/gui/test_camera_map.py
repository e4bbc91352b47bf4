"""The camera map: each label sits by the dot it names, and a click on a label picks that
label's camera, never the dot of another one beside it."""

from __future__ import annotations

import math
import random

import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from pytestqt.qtbot import QtBot

from app.core.records import CameraInfo
from app.ui.dialogs.slice_dialog import CAMERA_PICKER_HEIGHT
from app.ui.widgets.camera_map import CameraMapWidget

NAMES = (
    "Lincolnway & Central", "Dell Range & Yellowstone", "Pershing & Converse",
    "College & Lincolnway", "Warren & I-80", "Yellowstone & Four Mile", "Central & 24th",
    "Missile Dr & Happy Jack", "Storey & Ridge", "Fox Farm & Walterscheid",
)  # fmt: skip


def _cameras(seed: int, count: int = 6) -> list[CameraInfo]:
    """Cameras placed as the demo hub places them (around Cheyenne), from a seed."""
    rng = random.Random(seed)
    return [
        CameraInfo(
            camera_id=f"CAM-{n + 1:03d}",
            name=NAMES[n % len(NAMES)],
            latitude=41.14 + rng.uniform(-0.04, 0.04),
            longitude=-104.82 + rng.uniform(-0.06, 0.06),
            direction="NB",
            active=True,
        )
        for n in range(count)
    ]


def _distance(point: QPointF, box: QRectF) -> float:
    dx = max(box.left() - point.x(), 0.0, point.x() - box.right())
    dy = max(box.top() - point.y(), 0.0, point.y() - box.bottom())
    return math.hypot(dx, dy)


@pytest.mark.parametrize("seed", range(12))
def test_each_label_sits_by_its_own_dot_and_a_click_on_it_picks_its_camera(
    qtbot: QtBot, seed: int
) -> None:
    widget = CameraMapWidget()
    qtbot.addWidget(widget)
    widget.resize(420, CAMERA_PICKER_HEIGHT)
    widget.set_cameras(_cameras(seed))
    widget.show()
    dots, boxes = widget.positions(), widget.label_boxes()
    assert set(boxes) == set(dots)
    for camera_id, box in boxes.items():
        own = _distance(dots[camera_id], box)
        assert own <= 16, f"{camera_id}'s label is {own:.0f} px from its dot"
        for other, dot in dots.items():
            if other != camera_id:
                assert _distance(dot, box) > own, f"{camera_id}'s label is by {other}'s dot"
        clicked = box.center()
        with qtbot.waitSignal(widget.camera_clicked, timeout=1000) as picked:
            qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=clicked.toPoint())
        assert picked.args == [camera_id]


def test_a_label_with_room_is_shown_whole(qtbot: QtBot) -> None:
    """A camera alone on a wide map: its label is drawn in full, not cut short by the
    rounding of its text's width."""
    from PySide6.QtGui import QFontMetrics

    widget = CameraMapWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.set_cameras(_cameras(0, count=2))
    widget.show()
    metrics = QFontMetrics(widget.font())
    for camera in _cameras(0, count=2):
        box = widget.label_boxes()[camera.camera_id]
        text = widget.label_text(camera)
        shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, math.ceil(box.width()))
        assert shown == text
