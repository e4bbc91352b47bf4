"""The image review view: zoom (wheel, fit, 1:1, steps), pan by dragging, a plate-crop inset."""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QWidget,
)

MIN_ZOOM = 0.05
MAX_ZOOM = 16.0
ZOOM_STEP = 1.25
WHEEL_NOTCH = 120  # angleDelta units of one wheel step
INSET_SIZE = (200, 60)
INSET_MARGIN = 10


class ReviewView(QGraphicsView):
    """One image in a scene: fits the view until the user zooms, then keeps the zoom.

    The view stays in fit mode (refitting as it is resized) until the user zooms
    with the wheel, the buttons or 1:1. Dragging pans. The plate crop sits in an
    inset in the bottom-left corner, above the scene, so it neither zooms nor pans.
    """

    zoom_changed = Signal(float)  # the scale: 1.0 is one image pixel per screen pixel

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sceneView")
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self._fit_mode = True
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("Wheel to zoom, drag to pan")

        self.inset_label = QLabel(self)
        self.inset_label.setObjectName("cropInset")
        self.inset_label.setFixedSize(*INSET_SIZE)
        self.inset_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.inset_label.setToolTip("The plate as the camera cropped it")
        self.inset_label.hide()

    # -- the image -------------------------------------------------------

    def set_image(self, image: QImage | None, *, keep_view: bool = False, scale: int = 1) -> None:
        """Show `image`; `keep_view` keeps the zoom and position (an enhanced copy of it,
        or the full image after its preview). `scale`: the image is a preview at
        1/scale of the size; the scene, and so the zoom, stay in full-size pixels."""
        pixmap = QPixmap.fromImage(image) if image is not None else QPixmap()
        same_size = pixmap.size() * scale == self.image_size
        self._item.setPixmap(pixmap)
        self._item.setScale(scale)
        self.scene().setSceneRect(QRectF(0, 0, pixmap.width() * scale, pixmap.height() * scale))
        if not (keep_view and same_size) or self._fit_mode:
            self.fit()

    def has_image(self) -> bool:
        return not self._item.pixmap().isNull()

    @property
    def image_size(self) -> QSize:
        """The image's size in full-size pixels (a preview's times its scale)."""
        return self._item.pixmap().size() * round(self._item.scale())

    def shown_image(self) -> QImage:
        """The pixels on screen (enhanced or not), for tests and for comparing."""
        return self._item.pixmap().toImage()

    def set_inset(self, pixmap: QPixmap | None, *, text: str = "") -> None:
        """The plate crop in the corner; `text` instead when there is no crop to show."""
        if pixmap is None or pixmap.isNull():
            self.inset_label.clear()
            self.inset_label.setText(text)
        else:
            self.inset_label.setPixmap(
                pixmap.scaled(
                    *INSET_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        self.inset_label.setVisible(bool(text) or (pixmap is not None and not pixmap.isNull()))
        self._place_inset()

    # -- zoom ------------------------------------------------------------

    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    @property
    def fit_mode(self) -> bool:
        return self._fit_mode

    def fit(self) -> None:
        """Scale the whole image into the view, and keep it fitted as the view is resized."""
        self._fit_mode = True
        if self.has_image():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
        else:
            self.resetTransform()
        self.zoom_changed.emit(self.zoom)

    def actual_size(self) -> None:
        """One image pixel per screen pixel, centered on what was in the middle."""
        self._set_zoom(1.0, anchor_center=True)

    def zoom_in(self) -> None:
        self._set_zoom(self.zoom * ZOOM_STEP, anchor_center=True)

    def zoom_out(self) -> None:
        self._set_zoom(self.zoom / ZOOM_STEP, anchor_center=True)

    def _set_zoom(self, zoom: float, *, anchor_center: bool) -> None:
        if not self.has_image():
            return
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self._fit_mode = False
        anchor = self.transformationAnchor()
        if anchor_center:
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        factor = zoom / self.zoom
        self.scale(factor, factor)
        self.setTransformationAnchor(anchor)
        self.zoom_changed.emit(self.zoom)

    # -- events ----------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if not self.has_image() or delta == 0:
            event.ignore()
            return
        factor = math.pow(ZOOM_STEP, delta / WHEEL_NOTCH)
        self._set_zoom(self.zoom * factor, anchor_center=False)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit_mode and self.has_image():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
            self.zoom_changed.emit(self.zoom)
        self._place_inset()

    def _place_inset(self) -> None:
        label = self.inset_label
        label.move(INSET_MARGIN, self.height() - label.height() - INSET_MARGIN)
        label.raise_()
