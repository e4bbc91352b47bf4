"""`platedesk --smoke-screenshot PATH`: start, render the first window a user would see
(the first-run dialog when the profile names no hub, else the sign-in dialog) to a PNG,
and quit. A packaged build's check that Qt, its plugins, the style and the fonts load."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QDialog

from app.core.errors import KnownError
from app.ui.dialogs.first_run import FirstRunDialog
from app.ui.dialogs.sign_in import SignInDialog
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

SETTLE_MS = 150  # lets the dialog lay out and paint before it is grabbed


def first_dialog(*, workstation: Workstation, runner: TaskRunner) -> QDialog:
    """The dialog a user meets first: first run (no hub yet) or sign-in."""
    if workstation.hub_url is None:
        return FirstRunDialog(workstation=workstation, runner=runner)
    return SignInDialog(workstation=workstation, runner=runner)


def render_first_window(*, workstation: Workstation, runner: TaskRunner, path: Path) -> str:
    """Show the first dialog, write it to `path` (PNG) and close it; its window title."""
    dialog = first_dialog(workstation=workstation, runner=runner)
    dialog.show()
    loop = QEventLoop()
    QTimer.singleShot(SETTLE_MS, loop.quit)
    loop.exec()
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = dialog.grab().save(str(path), "PNG")
    title = dialog.windowTitle()
    dialog.close()
    dialog.deleteLater()
    if not saved:
        raise KnownError(f"Could not write the screenshot {path}.")
    return title
