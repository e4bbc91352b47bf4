"""Render resources/icons/platedesk.svg to the icon files each platform's bundle needs.

    QT_QPA_PLATFORM=offscreen python packaging/render_icons.py

writes resources/icons/platedesk.png (256 px: the window icon and the Linux desktop
entry's), packaging/windows/platedesk.ico and packaging/macos/platedesk.icns. Run it
again after changing the SVG and commit what it writes.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "platedesk.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)


def render(renderer: QSvgRenderer, size: int) -> Image.Image:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(data.data()))).convert("RGBA")


def main() -> int:
    QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot read {SVG}", file=sys.stderr)
        return 1
    images = {size: render(renderer, size) for size in SIZES}
    images[256].save(ROOT / "resources" / "icons" / "platedesk.png")
    (ROOT / "packaging" / "windows").mkdir(exist_ok=True)
    images[256].save(
        ROOT / "packaging" / "windows" / "platedesk.ico",
        sizes=[(s, s) for s in SIZES if s <= 256],
    )
    (ROOT / "packaging" / "macos").mkdir(exist_ok=True)
    images[1024].save(ROOT / "packaging" / "macos" / "platedesk.icns")
    for path in ("resources/icons/platedesk.png", "packaging/windows/platedesk.ico",
                 "packaging/macos/platedesk.icns"):  # fmt: skip
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
