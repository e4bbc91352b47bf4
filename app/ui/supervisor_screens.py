"""`make screenshots` for the supervisor's desk: the review queue, an opened item with
the reads its search returned, and the transparency preview.

Run by app.main's screenshot mode with the demo supervisor's window; it waits on
the panels' own signals and saves each screen through the callbacks it is given."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

WaitUntil = Callable[[Callable[[], bool], float], bool]
Save = Callable[[QWidget, Path], None]


def render_supervisor_screens(
    window: MainWindow, *, directory: Path, wait_until: WaitUntil, save: Save, timeout_s: float
) -> list[Path]:
    """review_queue.png, review_item.png and transparency.png; the paths written."""
    written: list[Path] = []
    panel = window.review_queue_panel
    window.results_tabs.setCurrentWidget(panel)
    if not wait_until(lambda: panel.model.rowCount() > 0, timeout_s):
        return written
    first = panel.model.items[0]
    panel.select(first.item_id)
    wait_until(lambda: panel.context.searches_view.toPlainText() != "", timeout_s)
    save(window, directory / "review_queue.png")
    written.append(directory / "review_queue.png")

    with_reads = next(
        (item for item in panel.model.items if item.source == "workstation" and item.result_count),
        first,
    )
    panel.select(with_reads.item_id)
    done: list[object] = []
    panel.context.reads_loaded.connect(done.append)
    panel.context.failed.connect(done.append)
    wait_until(lambda: panel.context.searches_view.toPlainText() != "", timeout_s)
    panel.context.show_reads()
    wait_until(lambda: bool(done), timeout_s)
    if panel.context.shown is not None and panel.context.shown.reads:
        images: list[str] = []
        panel.context.image_loaded.connect(images.append)
        wait_until(lambda: bool(images) or not panel.context.thumbnail.pixmap().isNull(), timeout_s)
    save(window, directory / "review_item.png")
    written.append(directory / "review_item.png")

    transparency = window.transparency_panel
    window.results_tabs.setCurrentWidget(transparency)
    shown: list[object] = []
    transparency.preview_loaded.connect(lambda: shown.append(True))
    transparency.failed.connect(shown.append)
    transparency.refresh()
    wait_until(lambda: bool(shown), timeout_s)
    save(window, directory / "transparency.png")
    written.append(directory / "transparency.png")
    return written
