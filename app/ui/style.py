"""The look: a light, calm style sheet from resources/styles, applied if it can be found."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

STYLE_SHEET_NAME = "platedesk.qss"


def default_styles_dir() -> Path:
    """resources/styles of the checkout this package sits in."""
    return Path(__file__).resolve().parents[2] / "resources" / "styles"


def load_style_sheet(styles_dir: Path | None = None) -> str:
    """The style sheet's text, or "" when it is missing (Qt's own look is used then)."""
    path = (styles_dir or default_styles_dir()) / STYLE_SHEET_NAME
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        log.info("No style sheet at %s; using Qt's default look", path)
        return ""


def apply_style(app: QApplication, styles_dir: Path | None = None) -> None:
    """The Fusion style, with the style sheet on top when there is one."""
    app.setStyle("Fusion")
    app.setStyleSheet(load_style_sheet(styles_dir))


def fit_height(widget: QWidget) -> None:
    """Grow a window to the height its layout needs at its current width.

    A layout with word-wrapped labels reports a minimum height that ignores the
    wrapping, so a window that gains a wrapped message must be told to grow.
    """
    layout = widget.layout()
    if layout is None:
        return
    layout.activate()
    needed = (
        layout.totalHeightForWidth(widget.width())
        if layout.hasHeightForWidth()
        else layout.totalSizeHint().height()
    )
    if needed > widget.height():
        widget.resize(widget.width(), needed)
