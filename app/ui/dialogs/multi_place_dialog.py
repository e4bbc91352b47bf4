"""Multi-place search: plates seen at every one of several places within a time window.

A place is a group of cameras. The user picks each place's cameras from a
checkable list or by clicking them on the camera map; the engine runs the
search (and journals it) on the cache lane.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.records import CameraInfo, PlaceMatch
from app.ui.errors import user_message
from app.ui.formatting import camera_names, count_of, to_qdatetime, to_utc
from app.ui.models.analysis_models import PlaceMatchTableModel
from app.ui.widgets.camera_map import CameraMapWidget
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

NEED_PLACES = "Give at least two places a camera each (tick cameras or click them on the map)."
SEARCHING = "Searching…"
DATETIME_FORMAT = "yyyy-MM-dd HH:mm"
CAMERA_ROLE = Qt.ItemDataRole.UserRole + 1


class MultiPlaceDialog(QDialog):
    """Places (camera groups), a time window, and the plates seen at every place."""

    search_finished = Signal(int)  # how many plates were found
    search_failed = Signal(str)
    plate_opened = Signal(str)  # a found plate, double-clicked (or Enter): show its sightings

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        case_number: str,
        purpose: str,
        cameras: Sequence[CameraInfo],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Multi-place search — case {case_number}")
        self.resize(980, 640)
        self._workstation = workstation
        self._runner = runner
        self.case_number = case_number
        self.purpose = purpose
        self._places: list[list[str]] = [[], []]
        self._request = 0
        self._names = camera_names(cameras)

        self.place_combo = QComboBox()
        self.add_place_button = QPushButton("Add place")
        self.add_place_button.setAutoDefault(False)
        self.camera_list = QListWidget()
        self.camera_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for camera in sorted(cameras, key=lambda c: c.name):
            item = QListWidgetItem(f"{camera.name} ({camera.camera_id})")
            item.setData(CAMERA_ROLE, camera.camera_id)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.camera_list.addItem(item)
        self.camera_map = CameraMapWidget()
        self.camera_map.set_cameras(cameras)
        self.places_label = QLabel()
        self.places_label.setObjectName("hintLabel")
        self.places_label.setWordWrap(True)

        now = datetime.now().astimezone()
        self.from_check = QCheckBox("From")
        self.from_edit = QDateTimeEdit(to_qdatetime(now - timedelta(days=7)))
        self.to_check = QCheckBox("To")
        self.to_edit = QDateTimeEdit(to_qdatetime(now))
        for check, edit in ((self.from_check, self.from_edit), (self.to_check, self.to_edit)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat(DATETIME_FORMAT)
            # Always open to typing: a time typed (or picked) turns its bound on.
            edit.dateTimeChanged.connect(lambda _moment, box=check: box.setChecked(True))
        self.find_button = QPushButton("Find plates")
        self.find_button.setObjectName("findPlacesButton")
        self.find_button.setDefault(True)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.results_model = PlaceMatchTableModel(self)
        self.results_view = QTableView()
        self.results_view.setModel(self.results_model)
        self.results_view.verticalHeader().hide()
        self.results_view.horizontalHeader().setStretchLastSection(True)
        self.results_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results_view.setToolTip("Double-click a plate (or press Enter) to see its sightings")
        self.results_view.activated.connect(self._open_row)

        place_row = QHBoxLayout()
        place_row.addWidget(QLabel("Place"))
        place_row.addWidget(self.place_combo, 1)
        place_row.addWidget(self.add_place_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(place_row)
        left_layout.addWidget(self.camera_list, 1)
        left_layout.addWidget(self.places_label)
        choose = QSplitter(Qt.Orientation.Horizontal)
        choose.addWidget(left)
        choose.addWidget(self.camera_map)
        choose.setStretchFactor(0, 2)
        choose.setStretchFactor(1, 3)
        choose.setChildrenCollapsible(False)
        window_row = QHBoxLayout()
        for widget in (self.from_check, self.from_edit, self.to_check, self.to_edit):
            window_row.addWidget(widget)
        window_row.addStretch(1)
        window_row.addWidget(self.find_button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(choose, 3)
        layout.addLayout(window_row)
        layout.addWidget(self.message_label)
        layout.addWidget(self.results_view, 2)
        layout.addWidget(close)

        self.place_combo.currentIndexChanged.connect(lambda _i: self._show_current_place())
        self.add_place_button.clicked.connect(self.add_place)
        self.camera_list.itemChanged.connect(self._item_changed)
        self.camera_map.camera_clicked.connect(self.toggle_camera)
        self.find_button.clicked.connect(self.find_plates)
        self._refresh_places(current=0)

    # -- places ------------------------------------------------------------

    @property
    def places(self) -> list[list[str]]:
        """The camera ids of each place, in order (empty places included)."""
        return [list(place) for place in self._places]

    @property
    def current_place(self) -> int:
        return max(0, self.place_combo.currentIndex())

    def add_place(self) -> None:
        self._places.append([])
        self._refresh_places(current=len(self._places) - 1)

    def set_current_place(self, index: int) -> None:
        self.place_combo.setCurrentIndex(index)

    def toggle_camera(self, camera_id: str) -> None:
        """Add the camera to the current place, or take it out again."""
        place = self._places[self.current_place]
        if camera_id in place:
            place.remove(camera_id)
        else:
            place.append(camera_id)
        self._refresh_places(current=self.current_place)

    def _item_changed(self, item: QListWidgetItem) -> None:
        camera_id = str(item.data(CAMERA_ROLE))
        place = self._places[self.current_place]
        checked = item.checkState() == Qt.CheckState.Checked
        if checked != (camera_id in place):
            self.toggle_camera(camera_id)

    def _refresh_places(self, *, current: int) -> None:
        self.place_combo.blockSignals(True)
        self.place_combo.clear()
        for i, place in enumerate(self._places):
            self.place_combo.addItem(f"Place {i + 1} ({count_of(len(place), 'camera')})")
        self.place_combo.setCurrentIndex(current)
        self.place_combo.blockSignals(False)
        self._show_current_place()

    def _show_current_place(self) -> None:
        chosen = set(self._places[self.current_place])
        self.camera_list.blockSignals(True)
        for row in range(self.camera_list.count()):
            item = self.camera_list.item(row)
            state = (
                Qt.CheckState.Checked
                if item.data(CAMERA_ROLE) in chosen
                else Qt.CheckState.Unchecked
            )
            item.setCheckState(state)
        self.camera_list.blockSignals(False)
        self.camera_map.set_places(
            {cid: i for i, place in enumerate(self._places) for cid in place}
        )
        lines = [
            f"Place {i + 1}: "
            + (", ".join(self._names.get(c, c) for c in place) or "no cameras yet")
            for i, place in enumerate(self._places)
        ]
        self.places_label.setText("\n".join(lines))
        self.find_button.setEnabled(self.ready)

    @property
    def ready(self) -> bool:
        return sum(1 for place in self._places if place) >= 2

    # -- searching ---------------------------------------------------------

    def find_plates(self) -> None:
        places = [place for place in self.places if place]
        if len(places) < 2:
            self.message_label.setText(NEED_PLACES)
            return
        time_from = to_utc(self.from_edit.dateTime()) if self.from_check.isChecked() else None
        time_to = to_utc(self.to_edit.dateTime()) if self.to_check.isChecked() else None
        self._request += 1
        request = self._request
        self.message_label.setText(SEARCHING)
        self.find_button.setEnabled(False)
        workstation, case_number, purpose = self._workstation, self.case_number, self.purpose
        self._runner.run(
            lambda: workstation.search.multi_place(
                case_number=case_number,
                purpose=purpose,
                places=places,
                time_from=time_from,
                time_to=time_to,
            ),
            on_success=lambda found: self._found(request, len(places), found),
            on_failure=lambda exc: self._failed(request, exc),
            lane=Lane.CACHE,
        )

    def _found(self, request: int, place_count: int, found: list[PlaceMatch]) -> None:
        if request != self._request:
            return
        self.find_button.setEnabled(self.ready)
        self.results_model.set_rows(found, places=place_count)
        self.message_label.setText(
            f"{count_of(len(found), 'plate')} seen at all {place_count} places"
        )
        self.search_finished.emit(len(found))

    def _open_row(self, index: QModelIndex) -> None:
        if 0 <= index.row() < self.results_model.rowCount():
            self.plate_opened.emit(self.results_model.match_at(index.row()).plate)

    def _failed(self, request: int, exc: BaseException) -> None:
        if request != self._request:
            return
        self.find_button.setEnabled(self.ready)
        message = user_message(exc)
        self.message_label.setText(message)
        self.search_failed.emit(message)
