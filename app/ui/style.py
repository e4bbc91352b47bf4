"""The look: a light (or dark) calm style sheet from resources/styles, applied if found."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.config.paths import resource_path

log = logging.getLogger(__name__)

STYLE_SHEET_NAME = "platedesk.qss"
DARK_STYLE_SHEET_NAME = "platedesk-dark.qss"


def default_styles_dir() -> Path:
    """resources/styles of the checkout or the bundle (app.config.paths finds it)."""
    return resource_path("styles")


def load_style_sheet(styles_dir: Path | None = None, *, dark: bool = False) -> str:
    """The style sheet's text, or "" when it is missing (Qt's own look is used then)."""
    name = DARK_STYLE_SHEET_NAME if dark else STYLE_SHEET_NAME
    path = (styles_dir or default_styles_dir()) / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        log.info("No style sheet at %s; using Qt's default look", path)
        return ""


def dark_palette() -> QPalette:
    """Fusion's palette in dark colors, for what the style sheet does not cover."""
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#1b232d",
        QPalette.ColorRole.WindowText: "#e4e7eb",
        QPalette.ColorRole.Base: "#263140",
        QPalette.ColorRole.AlternateBase: "#2a3544",
        QPalette.ColorRole.ToolTipBase: "#263140",
        QPalette.ColorRole.ToolTipText: "#e4e7eb",
        QPalette.ColorRole.PlaceholderText: "#8794a3",
        QPalette.ColorRole.Text: "#e4e7eb",
        QPalette.ColorRole.Button: "#2c3847",
        QPalette.ColorRole.ButtonText: "#e4e7eb",
        QPalette.ColorRole.BrightText: "#ff8a80",
        QPalette.ColorRole.Highlight: "#2f4d72",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#8fbef0",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7a8c"))
    return palette


def apply_style(app: QApplication, styles_dir: Path | None = None, *, dark: bool = False) -> None:
    """The Fusion style in light or dark colors, with the style sheet on top when there is one."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    app.setStyleSheet(load_style_sheet(styles_dir, dark=dark))
    app.setProperty("darkTheme", dark)


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
