"""The evidence technician's export: the case's evidence, redactions, then a signed packet.

The dialog lists the case's evidence at the hub, marked from every workstation, with
who marked each read and where its hold stands (offline: this cache's own marks);
the packet holds the confirmed ones (the reads this cache lacks are fetched under
the evidence grant). It lets the technician draw regions to blur on a read's image (for the derived copy; the
original is never touched), then has the engine write the packet off the GUI
thread with a progress bar and Cancel. A cancelled or failed export leaves no
folder that looks like a packet (the engine writes to a temporary folder and
renames it when complete).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QMouseEvent, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFileDialog,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import KnownError
from app.core.records import ReadRecord
from app.export.packet import ExportProgress, PacketResult
from app.ui.errors import user_message
from app.ui.formatting import count_of, local_time
from app.ui.operations.export import export_packet
from app.ui.workers import Lane, TaskRunner
from app.vision.redact import DerivedSpec, Region

if TYPE_CHECKING:
    from app.workstation import EvidenceRow, Workstation

log = logging.getLogger(__name__)
ZIP_LABEL = "Write one ZIP file instead of a folder"
EXPORT_ROLES = frozenset({"evidence_technician", "supervisor"})
HOLD_LABELS = {  # short, for the table; HOLD_TIPS explain
    "pending": "Not at the hub yet",
    "proposed": "Proposed",
    "confirmed": "Confirmed",
    "released": "Released",
    "refused": "Refused",
}
HOLD_TIPS = {
    "pending": "The hold request is sent to the hub at the next contact.",
    "proposed": "The hold is proposed at the hub; confirm it on the evidence desk to "
    "put the read in the packet.",
    "confirmed": "The hub keeps this read past the retention period for the case.",
    "released": "The hold was released: the hub's purge may delete this read.",
    "refused": "The hub refused the hold.",
}
STAGE_LABELS = {
    "originals": "Copying the originals, making the redacted copies",
    "records": "Writing the read records and the report",
    "manifests": "Writing the manifests",
    "signature": "Signing",
    "zip": "Writing the ZIP",
    "done": "Done",
}
PLATE, TIME, CAMERA, HOLD, REDACTION = range(5)
MIN_REGION = 4  # pixels: a smaller drag is a click, not a region


def _last_folder(workstation: Workstation) -> Path | None:
    """Where the last packet went, while that folder is still there."""
    folder = workstation.export_dir
    return folder if folder is not None and folder.is_dir() else None


class RegionView(QGraphicsView):
    """A read's scene image; drag to add a region to blur, right-click a region to drop it."""

    regions_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("regionView")
        self.setScene(QGraphicsScene(self))
        self.setMinimumSize(360, 220)
        self._image: QGraphicsPixmapItem | None = None
        self._boxes: list[QGraphicsRectItem] = []
        self._origin: QPointF | None = None
        self._rubber: QGraphicsRectItem | None = None

    def set_image(self, data: bytes | None, regions: tuple[Region, ...] = ()) -> bool:
        """Show an image (None: nothing) with its regions; False when it cannot be decoded."""
        self.scene().clear()
        self._image, self._boxes, self._rubber = None, [], None
        if data is None:
            return False
        image = QImage.fromData(data)
        if image.isNull():
            return False
        self._image = self.scene().addPixmap(QPixmap.fromImage(image))
        self.scene().setSceneRect(QRectF(image.rect()))
        for region in regions:
            self._add_box(QRectF(region.x, region.y, region.w, region.h))
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        return True

    @property
    def regions(self) -> tuple[Region, ...]:
        """The boxes as pixel rectangles inside the image."""
        if self._image is None:
            return ()
        bounds = self.scene().sceneRect()
        found = []
        for box in self._boxes:
            rect = box.rect().intersected(bounds).toAlignedRect()
            if rect.width() > 0 and rect.height() > 0:
                found.append(Region(rect.x(), rect.y(), rect.width(), rect.height()))
        return tuple(found)

    def add_region(self, region: Region) -> None:
        self._add_box(QRectF(region.x, region.y, region.w, region.h))
        self.regions_changed.emit()

    def clear_regions(self) -> None:
        for box in self._boxes:
            self.scene().removeItem(box)
        self._boxes = []
        self.regions_changed.emit()

    def _add_box(self, rect: QRectF) -> None:
        box = self.scene().addRect(
            rect, QPen(QColor("#d9822b"), 2), QBrush(QColor(217, 130, 43, 70))
        )
        self._boxes.append(box)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._image is not None:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._image is None:
            return
        point = self.mapToScene(event.position().toPoint())
        if event.button() == Qt.MouseButton.RightButton:
            for box in reversed(self._boxes):
                if box.rect().contains(point):
                    self.scene().removeItem(box)
                    self._boxes.remove(box)
                    self.regions_changed.emit()
                    return
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._origin = point
            self._rubber = self.scene().addRect(
                QRectF(point, point), QPen(QColor("#d9822b"), 1, Qt.PenStyle.DashLine)
            )

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._origin is not None and self._rubber is not None:
            point = self.mapToScene(event.position().toPoint())
            self._rubber.setRect(QRectF(self._origin, point).normalized())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._origin is None or self._rubber is None:
            return
        rect = self._rubber.rect()
        self.scene().removeItem(self._rubber)
        self._origin, self._rubber = None, None
        if rect.width() >= MIN_REGION and rect.height() >= MIN_REGION:
            self._add_box(rect)
            self.regions_changed.emit()


class ExportDialog(QDialog):
    """Evidence of one case, its holds and redactions; then export with progress and Cancel."""

    evidence_loaded = Signal(int)
    export_finished = Signal(object)  # PacketResult
    export_failed = Signal(str)
    export_cancelled = Signal()

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        case_number: str,
        out_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._workstation = workstation
        self._runner = runner
        self._case_number = case_number
        self._rows: list[EvidenceRow] = []
        self._redactions: dict[str, DerivedSpec] = {}
        self._cancel: threading.Event | None = None
        self._shown_read: str | None = None
        self.packet: PacketResult | None = None  # the last export's (QDialog has result())
        self.setWindowTitle(f"Export evidence — case {case_number}")
        self.setObjectName("exportDialog")
        self.setMinimumSize(760, 560)

        title = QLabel(f"Evidence packet for case {case_number}")
        title.setObjectName("dialogTitle")
        hint = QLabel(
            "The packet holds the original images byte for byte, redacted copies where you "
            "draw regions, the read records, a report, the chain of custody and the audit "
            "excerpt, signed by this workstation. It holds the case's confirmed evidence."
        )
        hint.setObjectName("hintLabel")
        hint.setWordWrap(True)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Plate", "Time", "Camera", "Hold", "Redaction"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in ((PLATE, 80), (TIME, 150), (CAMERA, 110), (HOLD, 90)):
            self.table.setColumnWidth(column, width)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.status_label = QLabel("Loading the case's evidence…")
        self.status_label.setObjectName("hintLabel")

        self.region_view = RegionView()
        self.region_hint = QLabel(
            "Drag on the image to blur a region in the derived copy; right-click a region "
            "to remove it. The original is never changed."
        )
        self.region_hint.setObjectName("hintLabel")
        self.region_hint.setWordWrap(True)
        self.clear_regions_button = QPushButton("Clear regions")
        self.clear_regions_button.setAutoDefault(False)

        self.folder_edit = QLineEdit(str(out_dir or _last_folder(workstation) or Path.home()))
        self.browse_button = QPushButton("Choose…")
        self.browse_button.setAutoDefault(False)
        # One ZIP file instead of the packet's folder (as `platedesk export --zip`).
        self.zip_box = QCheckBox(ZIP_LABEL)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QPushButton("Export packet")
        self.export_button.setDefault(True)
        self.export_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.close_button.setAutoDefault(False)

        middle = QHBoxLayout()
        middle.addWidget(self.table, 3)
        image_side = QVBoxLayout()
        image_side.addWidget(self.region_view, 1)
        image_side.addWidget(self.region_hint)
        image_side.addWidget(self.clear_regions_button, 0, Qt.AlignmentFlag.AlignRight)
        middle.addLayout(image_side, 2)
        folder_row = QHBoxLayout()
        folder_row.addWidget(QLabel("Write to"))
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.zip_box)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addLayout(middle, 1)
        layout.addWidget(self.status_label)
        layout.addLayout(folder_row)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.error_label)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)

        self.table.currentCellChanged.connect(lambda row, *_: self._show_read(row))
        self.region_view.regions_changed.connect(self._regions_changed)
        self.clear_regions_button.clicked.connect(self.region_view.clear_regions)
        self.browse_button.clicked.connect(self._browse)
        self.export_button.clicked.connect(self.export)
        self.close_button.clicked.connect(self._close_or_cancel)
        self._load()

    # -- the evidence ------------------------------------------------------------

    @property
    def reads(self) -> list[ReadRecord]:
        """The reads of the rows this cache holds (those shown, redacted, exported)."""
        return [row.record for row in self._rows if row.record is not None]

    @property
    def rows(self) -> list[EvidenceRow]:
        return list(self._rows)

    @property
    def redactions(self) -> dict[str, DerivedSpec]:
        return dict(self._redactions)

    def _load(self) -> None:
        workstation, case_number = self._workstation, self._case_number
        self._runner.run(
            lambda: workstation.case_evidence_reads(case_number=case_number),
            on_success=self._loaded,
            on_failure=self._load_failed,
            lane=Lane.NETWORK,
        )

    def _loaded(self, found: tuple[list[EvidenceRow], bool]) -> None:
        rows, from_hub = found
        self._rows = rows
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            read = row.record
            cells = (
                read.plate if read else "—",
                local_time(read.captured_at) if read else "",
                read.camera_name if read else "",
                HOLD_LABELS.get(row.hold, row.hold),
                "None",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == HOLD:
                    tip = HOLD_TIPS.get(row.hold, "")
                    who = f"Marked by {row.marked_by}."
                    if row.confirmed_by:
                        who += f" Confirmed by {row.confirmed_by}."
                    item.setToolTip(" ".join(part for part in (who, tip, row.detail) if part))
                elif column == PLATE and row.note:
                    item.setToolTip(row.note)
                self.table.setItem(index, column, item)
        exportable = [r for r in rows if (r.hold == "confirmed" or not from_hub) and r.record]
        if exportable:
            self.status_label.setText(
                f"{count_of(len(rows), 'read')} of the case marked as evidence; "
                f"in the packet: {count_of(len(exportable), 'confirmed read')}."
            )
            self.export_button.setEnabled(True)
        elif rows:
            self.status_label.setText(
                f"No read of case {self._case_number} has a confirmed hold yet; confirm the "
                "proposed holds on the evidence desk first."
            )
        else:
            self.status_label.setText(
                f"No read is marked as evidence for case {self._case_number}; mark reads "
                "as evidence from the results first."
            )
        if rows:
            self.table.selectRow(0)
        self.evidence_loaded.emit(len(rows))

    def _load_failed(self, exc: BaseException) -> None:
        self.status_label.setText(user_message(exc))

    def _show_read(self, row: int) -> None:
        if not 0 <= row < len(self._rows):
            return
        read = self._rows[row].record
        self.region_view.set_image(None)
        if read is None:
            self._shown_read = None
            return
        self._shown_read = read.read_id
        workstation, case_number = self._workstation, self._case_number
        self._runner.run(
            lambda: workstation.evidence_image(
                read.image_sha256, read_id=read.read_id, case_number=case_number
            ),
            on_success=lambda data: self._image_arrived(read.read_id, data),
            on_failure=lambda exc: self.region_hint.setText(user_message(exc)),
            lane=Lane.NETWORK,
        )

    def _image_arrived(self, read_id: str, data: bytes) -> None:
        if read_id != self._shown_read:
            return
        spec = self._redactions.get(read_id)
        if not self.region_view.set_image(data, spec.regions if spec else ()):
            self.region_hint.setText("This image cannot be decoded; it is exported as it is.")

    def _regions_changed(self) -> None:
        read_id = self._shown_read
        if read_id is None:
            return
        regions = self.region_view.regions
        if regions:
            self._redactions[read_id] = DerivedSpec(regions=regions)
        else:
            self._redactions.pop(read_id, None)
        row = next(i for i, r in enumerate(self._rows) if r.read_id == read_id)
        text = f"{count_of(len(regions), 'region')} blurred" if regions else "None"
        self.table.setItem(row, REDACTION, QTableWidgetItem(text))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Write the packet to", self.folder_edit.text()
        )
        if folder:
            self.folder_edit.setText(folder)

    # -- exporting ---------------------------------------------------------------

    @property
    def is_exporting(self) -> bool:
        return self._cancel is not None

    def export(self) -> None:
        if self._cancel is not None or not self.reads:
            return
        out_dir = Path(self.folder_edit.text().strip()).expanduser()
        if not out_dir.is_dir():
            self._failed_with(f"{out_dir} is not a folder; choose where to write the packet.")
            return
        cancel = threading.Event()
        self._cancel = cancel
        self.error_label.hide()
        self.result_label.clear()
        self.export_button.setEnabled(False)
        self.table.setEnabled(False)
        self.region_view.setEnabled(False)
        self.close_button.setText("Cancel")
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat("Starting…")
        self.progress_bar.show()
        workstation, case_number = self._workstation, self._case_number
        redactions, zipped = dict(self._redactions), self.zip_box.isChecked()
        export_packet(  # each phase on its lane: searches never wait behind an export
            workstation=workstation, runner=self._runner, case_number=case_number,
            out_dir=out_dir, zip=zipped, redactions=redactions, cancel=cancel,
            on_progress=self._progressed, on_success=self._exported,
            on_failure=self._export_failed,
        )  # fmt: skip

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.progress_bar.setFormat("Cancelling…")
            self.close_button.setEnabled(False)

    def _progressed(self, progress: ExportProgress) -> None:
        if self._cancel is None:
            return
        self.progress_bar.setRange(0, max(1, progress.total))
        self.progress_bar.setValue(min(progress.done, progress.total))
        stage = STAGE_LABELS.get(progress.stage, progress.stage)
        self.progress_bar.setFormat(f"{stage}: {progress.done} / {progress.total}")

    def _finish(self) -> None:
        self._cancel = None
        self.export_button.setEnabled(True)
        self.table.setEnabled(True)
        self.region_view.setEnabled(True)
        self.close_button.setEnabled(True)
        self.close_button.setText("Close")

    def _exported(self, result: PacketResult) -> None:
        self._finish()
        self.packet = result
        folder = result.packet.parent
        try:
            self._workstation.set_export_dir(folder)  # the next export starts here
        except (OSError, KnownError) as exc:
            log.warning("the export folder was not remembered: %s", exc.__class__.__name__)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        self.progress_bar.setFormat("Done")
        receipt = {
            "delivered": "The hub has recorded its receipt.",
            "pending": "The hub's receipt is sent at the next contact.",
            "refused": "The hub refused the receipt; tell your administrator.",
        }.get(result.receipt, "")
        self.result_label.setText(
            f"Packet {result.packet_id} written to {result.packet}: "
            f"{count_of(result.reads, 'read')}, {count_of(result.files, 'file')}. {receipt}"
        )
        self.export_finished.emit(result)

    def _export_failed(self, exc: BaseException) -> None:
        cancelled = self._cancel is not None and self._cancel.is_set()
        self._finish()
        self.progress_bar.hide()
        if cancelled:
            self.result_label.setText("Export cancelled: nothing was written.")
            self.export_cancelled.emit()
            return
        self._failed_with(user_message(exc))

    def _failed_with(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        self.export_failed.emit(message)

    def _close_or_cancel(self) -> None:
        if self._cancel is not None:
            self.cancel()
        else:
            self.accept()

    def reject(self) -> None:
        """Escape or the window's close: cancel a running export first."""
        if self._cancel is not None:
            self.cancel()
            return
        super().reject()
