"""Sightings of one plate in the case: a timeline, the camera map, and the vehicles seen with it.

The sightings and the associates (same camera within a minute, at two or more
cameras) come from the engine, which journals both as searches; they are asked
for on the cache lane, never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.records import Associate, CameraInfo, ReadRecord
from app.ui.errors import user_message
from app.ui.formatting import count_of
from app.ui.models.analysis_models import AssociatesTableModel
from app.ui.widgets.camera_map import CameraMapWidget
from app.ui.widgets.timeline import TimelineWidget
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

CHOOSE_PLATE = "Select a read and choose Sightings of this plate (Ctrl+T)"
LOADING = "Looking up sightings…"
NO_ASSOCIATES = "No vehicle was seen with this plate at two or more cameras."
ASSOCIATES_TITLE = "Seen with this plate (same camera within a minute, at 2+ cameras)"


class SightingsPanel(QWidget):
    """Timeline, map and associates for one plate; double-click an associate to search it."""

    sightings_loaded = Signal(int)  # how many sightings are shown
    associates_loaded = Signal(int)
    load_failed = Signal(str)
    associate_activated = Signal(str)  # plate
    multi_place_requested = Signal()

    def __init__(
        self, *, workstation: Workstation, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sightingsPanel")
        self._workstation = workstation
        self._runner = runner
        self._request = 0
        self.plate: str | None = None

        self.title_label = QLabel(CHOOSE_PLATE)
        self.title_label.setObjectName("sightingsTitle")
        self.multi_place_button = QPushButton("Multi-place search…")
        self.multi_place_button.setAutoDefault(False)
        self.multi_place_button.setToolTip(
            "Plates seen at every one of several places (camera groups) within a time window"
        )
        self.timeline = TimelineWidget()
        self.camera_map = CameraMapWidget()
        self.associates_model = AssociatesTableModel(self)
        self.associates_view = QTableView()
        self.associates_view.setObjectName("associatesView")
        self.associates_view.setModel(self.associates_model)
        self.associates_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.associates_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.associates_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.associates_view.verticalHeader().hide()
        self.associates_view.horizontalHeader().setStretchLastSection(True)
        self.associates_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.associates_label = QLabel(ASSOCIATES_TITLE)
        self.associates_label.setObjectName("sectionLabel")
        self.associates_label.setWordWrap(True)
        bold = self.associates_label.font()
        bold.setBold(True)
        self.associates_label.setFont(bold)
        self.title_label.setFont(bold)
        self.associates_hint = QLabel()
        self.associates_hint.setObjectName("hintLabel")
        self.associates_hint.setWordWrap(True)
        self.associates_hint.hide()

        header = QHBoxLayout()
        header.addWidget(self.title_label, 1)
        header.addWidget(self.multi_place_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(4)
        right_layout.addWidget(self.associates_label)
        right_layout.addWidget(self.associates_view, 1)
        right_layout.addWidget(self.associates_hint)
        self._sized = False
        lower = QSplitter(Qt.Orientation.Horizontal)
        self.lower_splitter = lower
        lower.addWidget(self.camera_map)
        lower.addWidget(right)
        lower.setStretchFactor(0, 1)
        lower.setStretchFactor(1, 1)
        lower.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.timeline)
        layout.addWidget(lower, 1)

        self.associates_view.doubleClicked.connect(self._associate_double_clicked)
        self.multi_place_button.clicked.connect(self.multi_place_requested)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Once laid out at a real width: the map gets 45% of it, the associates the rest."""
        super().resizeEvent(event)
        width = self.lower_splitter.width()
        if not self._sized and width > 400:
            self._sized = True
            self.lower_splitter.setSizes([width * 9 // 20, width * 11 // 20])

    def set_cameras(self, cameras: Sequence[CameraInfo]) -> None:
        self.camera_map.set_cameras(cameras)

    def conceal(self) -> None:
        """The lock: no plate's sightings are left in the panel."""
        self.clear()

    def clear(self) -> None:
        """Forget the plate and everything shown for it (e.g. when the window locks)."""
        self._request += 1
        self.plate = None
        self.title_label.setText(CHOOSE_PLATE)
        self.timeline.set_sightings([])
        self.camera_map.set_sightings([])
        self.associates_model.set_rows([])
        self.associates_hint.hide()

    def show_plate(self, *, plate: str, case_number: str, purpose: str) -> None:
        """Look up the plate's sightings and associates in the case, off the GUI thread."""
        self.clear()
        self.plate = plate
        self.title_label.setText(f"Sightings of {plate} — {LOADING}")
        request = self._request
        workstation = self._workstation
        self._runner.run(
            lambda: workstation.search.sightings(
                case_number=case_number, purpose=purpose, plate=plate
            ),
            on_success=lambda reads: self._sightings_arrived(request, reads),
            on_failure=lambda exc: self._failed(request, exc),
            lane=Lane.CACHE,
        )
        self._runner.run(
            lambda: workstation.search.associates(
                case_number=case_number, purpose=purpose, plate=plate
            ),
            on_success=lambda found: self._associates_arrived(request, found),
            on_failure=lambda exc: self._failed(request, exc),
            lane=Lane.CACHE,
        )

    def _sightings_arrived(self, request: int, reads: list[ReadRecord]) -> None:
        if request != self._request:
            return
        self.timeline.set_sightings(reads)
        self.camera_map.set_sightings(reads)
        cameras = len({r.camera_id for r in reads})
        self.title_label.setText(
            f"Sightings of {self.plate}: {count_of(len(reads), 'sighting')} at "
            f"{count_of(cameras, 'camera')} in this case's reads"
        )
        self.sightings_loaded.emit(len(reads))

    def _associates_arrived(self, request: int, found: list[Associate]) -> None:
        if request != self._request:
            return
        self.associates_model.set_rows(found)
        self.associates_hint.setText(NO_ASSOCIATES if not found else "")
        self.associates_hint.setVisible(not found)
        self.associates_loaded.emit(len(found))

    def _failed(self, request: int, exc: BaseException) -> None:
        if request != self._request:
            return
        self._request += 1  # one message, even when both lookups fail
        message = user_message(exc)
        self.title_label.setText(message)
        self.load_failed.emit(message)

    def _associate_double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.associate_activated.emit(self.associates_model.associate_at(index.row()).plate)
