"""Two reads side by side, each in its own review pane (zoom, pan, enhancement)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QSplitter, QWidget

from app.core.records import ReadRecord
from app.ui.formatting import local_time
from app.ui.widgets.image_pane import ImagePane
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation


class CompareDialog(QDialog):
    """A non-modal window with two image panes; closes when the window locks."""

    both_shown = Signal()  # both scenes are on screen

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        reads: tuple[ReadRecord, ReadRecord],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("compareDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.reads = reads
        self._shown: set[int] = set()
        left, right = reads
        self.setWindowTitle(
            f"Compare {left.plate} ({local_time(left.captured_at)}) and "
            f"{right.plate} ({local_time(right.captured_at)})"
        )
        self.resize(1280, 760)
        self.panes = tuple(
            ImagePane(workstation=workstation, runner=runner, shortcuts=False) for _ in reads
        )
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        for i, pane in enumerate(self.panes):
            splitter.addWidget(pane)
            pane.image_shown.connect(lambda _read_id, i=i: self._pane_shown(i))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(splitter)
        for pane, read in zip(self.panes, reads, strict=True):
            pane.show_read(read)

    def _pane_shown(self, index: int) -> None:
        self._shown.add(index)
        if len(self._shown) == len(self.panes):
            self.both_shown.emit()
