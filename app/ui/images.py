"""Images for the screen, shared by widgets and models (a model never imports a widget)."""

from __future__ import annotations

from PySide6.QtGui import QImage

from app.vision.enhance import Image, with_alpha


def to_qimage(image: Image) -> QImage:
    """A QImage holding its own copy of an 8-bit BGR or grayscale array.

    Made on a worker in 32-bit RGB, the format the GUI thread paints from: turned
    into a pixmap there it is not converted again (3-9 ms for a full-HD scene).
    """
    pixels = with_alpha(image)
    height, width = pixels.shape[:2]
    return QImage(pixels.data, width, height, pixels.strides[0], QImage.Format.Format_RGB32).copy()
