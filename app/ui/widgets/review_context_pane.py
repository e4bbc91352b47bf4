"""An opened review item's wider context: the user's searches around it, and (on
request, since each viewing is audited at the hub and journaled here) the reads the
flagged search returned, with a thumbnail of the chosen read's image. No case
assignment is needed: the hub grants a reviewer the item's reads and images."""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.records import CameraInfo
from app.core.schemas import ReadPublic, RecentSearchPublic, ReviewItemPublic, ReviewReadsPublic
from app.ui.errors import user_message
from app.ui.formatting import camera_names, count_of, local_time
from app.ui.operations import oversight_desk
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

READ_COLUMNS = ("When", "Plate", "Camera", "Vehicle")
CAMERA_COLUMN = READ_COLUMNS.index("Camera")
SHOW_READS = "Show the reads it returned"
READS_NOTE = "Viewing them is recorded in the audit log."
NO_READS = {
    "none": "This search left no reads to show: it had no slice, or its reads are past retention.",
}
THUMB = 200


def searches_html(searches: list[RecentSearchPublic], item: ReviewItemPublic) -> str:
    if not searches:
        return "<p>No other search by this user within a day of this one.</p>"
    rows = []
    for s in searches:
        this = s.occurred_at == item.occurred_at and s.case_number == item.case_number
        mark = (
            " <b>(this search)</b>" if this and s.flagged else (" · flagged" if s.flagged else "")
        )
        rows.append(
            f"<li>{html.escape(local_time(s.occurred_at))} · {html.escape(s.source)} · case "
            f"{html.escape(s.case_number)} · {html.escape(s.purpose)} · "
            f"{'-' if s.result_count is None else s.result_count} results{mark}</li>"
        )
    return "<p><b>The user's searches within a day of it</b></p><ul>" + "".join(rows) + "</ul>"


def _vehicle(read: ReadPublic) -> str:
    parts = [read.color, read.make, read.model, read.body_type]
    return " ".join(p for p in parts if p) or "-"


class ReviewContextPane(QWidget):
    searches_loaded = Signal(int)
    reads_loaded = Signal(int)  # reads shown
    image_loaded = Signal(str)  # sha256
    failed = Signal(str)

    def __init__(
        self, *, workstation: Workstation, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._ws = workstation
        self._runner = runner
        self.item: ReviewItemPublic | None = None
        self.shown: ReviewReadsPublic | None = None
        self._camera_names: dict[str, str] = {}
        self.searches_view = QTextBrowser()
        self.searches_view.setMaximumHeight(140)
        self.reads_button = QPushButton(SHOW_READS)
        self.reads_button.setAutoDefault(False)
        self.reads_button.setToolTip(READS_NOTE)
        self.reads_label = QLabel()
        self.reads_label.setWordWrap(True)
        self.reads_table = QTableWidget(0, len(READ_COLUMNS))
        self.reads_table.setHorizontalHeaderLabels(list(READ_COLUMNS))
        self.reads_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.reads_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.reads_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.reads_table.verticalHeader().hide()
        self.reads_table.horizontalHeader().setStretchLastSection(True)
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(THUMB, THUMB * 3 // 4)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setObjectName("reviewThumbnail")
        top = QHBoxLayout()
        top.addWidget(self.reads_button)
        top.addWidget(self.reads_label, 1)
        reads_row = QHBoxLayout()
        reads_row.addWidget(self.reads_table, 1)
        reads_row.addWidget(self.thumbnail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.searches_view)
        layout.addLayout(top)
        layout.addLayout(reads_row)
        self.reads_button.clicked.connect(self.show_reads)
        self.reads_table.itemSelectionChanged.connect(self._read_chosen)
        self.set_item(None)

    def set_cameras(self, cameras: Sequence[CameraInfo]) -> None:
        """The catalog's cameras: reads show their camera's name (its id in a tooltip)."""
        self._camera_names = camera_names(cameras)

    def set_item(self, item: ReviewItemPublic | None) -> None:
        """Show this item's context (its searches around now; its reads on request)."""
        self.item = item
        self.shown = None
        self.reads_table.setRowCount(0)
        self.thumbnail.clear()
        self.reads_label.setText(READS_NOTE if item is not None else "")
        self.reads_button.setEnabled(item is not None)
        self.searches_view.clear()
        if item is None:
            return
        oversight_desk.load_searches_around(
            workstation=self._ws,
            runner=self._runner,
            item_id=item.item_id,
            on_success=partial(self._searches, item.item_id),
            on_failure=self._failed,
        )

    def show_reads(self) -> None:
        if self.item is None:
            return
        self.reads_button.setEnabled(False)
        self.reads_label.setText("Loading the reads…")
        oversight_desk.load_reads(
            workstation=self._ws,
            runner=self._runner,
            item_id=self.item.item_id,
            on_success=self._reads,
            on_failure=self._failed,
        )

    def _searches(self, item_id: str, found: list[RecentSearchPublic]) -> None:
        if self.item is None or self.item.item_id != item_id:
            return  # the supervisor opened another item meanwhile
        self.searches_view.setHtml(searches_html(found, self.item))
        self.searches_loaded.emit(len(found))

    def _reads(self, shown: ReviewReadsPublic) -> None:
        if self.item is None or self.item.item_id != shown.item_id:
            return
        self.shown = shown
        self.reads_button.setEnabled(True)
        if not shown.reads:
            self.reads_label.setText(NO_READS.get(shown.basis, "No read to show."))
        else:
            more = f" (the newest {len(shown.reads):,})" if shown.total > len(shown.reads) else ""
            self.reads_label.setText(
                f"{count_of(shown.total, 'read')} returned{more}. {READS_NOTE}"
            )
        self.reads_table.setRowCount(len(shown.reads))
        for row, read in enumerate(shown.reads):
            camera = self._camera_names.get(read.camera_id, read.camera_id)
            values = (local_time(read.captured_at), read.plate, camera, _vehicle(read))
            for column, value in enumerate(values):
                cell = QTableWidgetItem(value)
                cell.setToolTip(read.camera_id if column == CAMERA_COLUMN else value)
                self.reads_table.setItem(row, column, cell)
        self.reads_table.resizeColumnsToContents()
        if shown.reads:
            self.reads_table.selectRow(0)
        self.reads_loaded.emit(len(shown.reads))

    def _read_chosen(self) -> None:
        rows = self.reads_table.selectionModel().selectedRows()
        if self.shown is None or self.item is None or not rows:
            return
        read = self.shown.reads[rows[0].row()]
        sha = read.image_sha256
        if not sha:
            self.thumbnail.setText("no image")
            return
        oversight_desk.load_image(
            workstation=self._ws,
            runner=self._runner,
            item_id=self.item.item_id,
            sha256=sha,
            on_success=partial(self._image, sha),
            on_failure=self._failed,
        )

    def _image(self, sha: str, data: bytes) -> None:
        pixmap = QPixmap()
        if not pixmap.loadFromData(data):
            self.thumbnail.setText("the image cannot be shown")
        else:
            self.thumbnail.setPixmap(
                pixmap.scaled(
                    self.thumbnail.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        self.image_loaded.emit(sha)

    def _failed(self, exc: BaseException) -> None:
        text = user_message(exc)
        self.reads_button.setEnabled(self.item is not None)
        self.reads_label.setText(text)
        self.failed.emit(text)
