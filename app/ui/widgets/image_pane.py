"""The selected read: its scene image scaled to fit, the plate crop inset, and its details."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from app.core.records import ReadRecord
from app.ui.errors import user_message
from app.ui.formatting import local_time, percent
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

NOT_DECODED = "This image could not be decoded"
NOTHING_SELECTED = "Select a read to see its image"
LOADING = "Loading image…"
CROP_SIZE = (240, 72)


@dataclass(frozen=True)
class _Decoded:
    read_id: str
    scene: QImage
    crop: QImage


class FitGraphicsView(QGraphicsView):
    """A view that keeps its whole scene in sight, scaled to fit, as it is resized."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def set_image(self, image: QImage | None) -> None:
        pixmap = QPixmap.fromImage(image) if image is not None else QPixmap()
        self._item.setPixmap(pixmap)
        self.scene().setSceneRect(QRectF(pixmap.rect()))
        self._fit()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    def _fit(self) -> None:
        if self.has_image():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()


class ImagePane(QFrame):
    """Loads a read's images off the GUI thread and shows them with the read's details."""

    image_shown = Signal(str)  # read id: scene and crop are on screen
    image_failed = Signal(str)  # the message shown instead

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("imagePane")
        self._workstation = workstation
        self._runner = runner
        self._request = 0
        self.read: ReadRecord | None = None

        self.scene_view = FitGraphicsView()
        self.scene_view.setObjectName("sceneView")
        self.scene_view.setMinimumSize(320, 200)
        self.message_label = QLabel(NOTHING_SELECTED)
        self.message_label.setObjectName("imageMessage")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.message_label)
        self._stack.addWidget(self.scene_view)
        stage = QWidget()
        stage.setObjectName("imageStage")
        stage.setLayout(self._stack)

        self.crop_label = QLabel()
        self.crop_label.setObjectName("cropLabel")
        self.crop_label.setFixedSize(*CROP_SIZE)
        self.crop_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.crop_label.setToolTip("The plate as the camera cropped it")

        self.plate_value = QLabel("—")
        self.plate_value.setObjectName("plateValue")
        self.state_value = QLabel("—")
        self.time_value = QLabel("—")
        self.camera_value = QLabel("—")
        self.camera_value.setWordWrap(True)
        self.vehicle_value = QLabel("—")
        self.vehicle_value.setWordWrap(True)
        self.confidence_value = QLabel("—")
        for value in (
            self.plate_value,
            self.state_value,
            self.time_value,
            self.camera_value,
            self.vehicle_value,
            self.confidence_value,
        ):
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details = QFormLayout()
        details.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        details.setHorizontalSpacing(12)
        details.addRow("Plate crop", self.crop_label)
        details.addRow("Plate", self.plate_value)
        details.addRow("State", self.state_value)
        details.addRow("Time", self.time_value)
        details.addRow("Camera", self.camera_value)
        details.addRow("Vehicle", self.vehicle_value)
        details.addRow("Confidence", self.confidence_value)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)
        layout.addWidget(stage, 1)
        layout.addLayout(details)
        self.show_read(None)

    @property
    def message(self) -> str | None:
        """The text shown instead of the image, or None when the image is on screen."""
        return (
            self.message_label.text() if self._stack.currentWidget() is self.message_label else None
        )

    def show_read(self, read: ReadRecord | None) -> None:
        """Show a read's details now and its images once they have been fetched and decoded."""
        self._request += 1
        self.read = read
        self.scene_view.set_image(None)
        self.crop_label.clear()
        if read is None:
            self._show_message(NOTHING_SELECTED)
            for value in (
                self.plate_value,
                self.state_value,
                self.time_value,
                self.camera_value,
                self.vehicle_value,
                self.confidence_value,
            ):
                value.setText("—")
            return
        self.plate_value.setText(read.plate)
        self.state_value.setText(read.state)
        self.time_value.setText(local_time(read.captured_at))
        self.camera_value.setText(f"{read.camera_name} ({read.camera_id}), facing {read.direction}")
        vehicle = " ".join(part for part in (read.color, read.make, read.model) if part)
        self.vehicle_value.setText(vehicle or "—")
        self.confidence_value.setText(percent(read.confidence))
        self._show_message(LOADING)
        request = self._request
        workstation = self._workstation
        read_id, scene_sha, crop_sha = read.read_id, read.image_sha256, read.crop_sha256

        def fetch_and_decode() -> _Decoded:
            scene = QImage.fromData(workstation.image(scene_sha, read_id=read_id))
            crop = QImage.fromData(workstation.image(crop_sha, read_id=read_id))
            return _Decoded(read_id, scene, crop)

        self._runner.run(
            fetch_and_decode,
            on_success=lambda decoded: self._arrived(request, decoded),
            on_failure=lambda exc: self._failed(request, exc),
            lane=Lane.NETWORK,
        )

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self._stack.setCurrentWidget(self.message_label)

    def _arrived(self, request: int, decoded: _Decoded) -> None:
        if request != self._request:
            return  # another read was selected meanwhile
        if not decoded.crop.isNull():
            self.crop_label.setPixmap(
                QPixmap.fromImage(decoded.crop).scaled(
                    *CROP_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            self.crop_label.setText("Not decoded")
        if decoded.scene.isNull():
            self._show_message(NOT_DECODED)
            self.image_failed.emit(NOT_DECODED)
            return
        self._stack.setCurrentWidget(self.scene_view)
        self.scene_view.set_image(decoded.scene)
        self.image_shown.emit(decoded.read_id)

    def _failed(self, request: int, exc: BaseException) -> None:
        if request != self._request:
            return
        message = user_message(exc)
        self._show_message(message)
        self.image_failed.emit(message)
