"""Request reads: ask the hub for a slice of reads for the case, then sync it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import PatternError, PolicyRefusal
from app.core.plates import parse_pattern
from app.core.purposes import MIN_JUSTIFICATION_LENGTH
from app.core.records import CameraInfo, SliceInfo, SyncResult
from app.ui.errors import user_message
from app.ui.formatting import count_of
from app.ui.style import fit_height
from app.ui.widgets.camera_map import CameraMapWidget
from app.ui.widgets.sync_panel import SyncPanel
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

DEFAULT_WINDOW = timedelta(days=3)
CAMERA_PICKER_HEIGHT = 150
DATETIME_FORMAT = "yyyy-MM-dd HH:mm"


def _to_qdatetime(moment: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()))


def _to_utc(value: QDateTime) -> datetime:
    return datetime.fromtimestamp(value.toSecsSinceEpoch(), tz=UTC)


class SliceDialog(QDialog):
    """Time window, justification, optional plate pattern and cameras; then request and sync."""

    slice_created = Signal(object)  # SliceInfo
    request_failed = Signal(str)  # the refusal or error shown in error_label
    cameras_loaded = Signal(int)
    sync_finished = Signal(object)  # SyncResult

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        case_number: str,
        purpose: str,
        purpose_label: str,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._workstation = workstation
        self._runner = runner
        self._case_number = case_number
        self._purpose = purpose
        self.slice: SliceInfo | None = None
        self.setWindowTitle("Request reads")
        self.setObjectName("sliceDialog")
        self.setMinimumWidth(680)

        title = QLabel(f"Request reads for case {case_number}")
        title.setObjectName("dialogTitle")
        subtitle = QLabel(
            f"Purpose: {purpose_label}. The hub checks this request against the agency's "
            "policy and records it; you only get the reads it approves."
        )
        subtitle.setObjectName("hintLabel")
        subtitle.setWordWrap(True)

        end = now()
        self.from_edit = QDateTimeEdit(_to_qdatetime(end - DEFAULT_WINDOW))
        self.to_edit = QDateTimeEdit(_to_qdatetime(end))
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat(DATETIME_FORMAT)
        window_row = QHBoxLayout()
        window_row.setSpacing(8)
        window_row.addWidget(self.from_edit)
        window_row.addWidget(QLabel("to"))
        window_row.addWidget(self.to_edit)
        window_row.addStretch(1)

        self.justification_edit = QPlainTextEdit()
        self.justification_edit.setPlaceholderText(
            "Why this case needs these reads, e.g. the suspect vehicle was seen leaving "
            "the scene heading north on Main St."
        )
        self.justification_edit.setTabChangesFocus(True)
        self.justification_edit.setFixedHeight(72)

        self.pattern_edit = QLineEdit()
        self.pattern_edit.setPlaceholderText("Optional, e.g. 7K2* or *7K2?")
        self.pattern_error_label = QLabel()
        self.pattern_error_label.setObjectName("fieldErrorLabel")
        self.pattern_error_label.hide()
        pattern_box = QVBoxLayout()
        pattern_box.setSpacing(2)
        pattern_box.addWidget(self.pattern_edit)
        pattern_box.addWidget(self.pattern_error_label)

        self.camera_list = QListWidget()
        self.camera_list.setFixedHeight(CAMERA_PICKER_HEIGHT)
        # The same cameras where they stand: click one to check or uncheck it.
        self.camera_map = CameraMapWidget()
        self.camera_map.setMinimumSize(240, CAMERA_PICKER_HEIGHT)
        self.camera_map.setFixedHeight(CAMERA_PICKER_HEIGHT)
        self.camera_hint = QLabel("Loading cameras…")
        self.camera_hint.setObjectName("hintLabel")
        pickers = QHBoxLayout()
        pickers.setSpacing(8)
        pickers.addWidget(self.camera_list, 1)
        pickers.addWidget(self.camera_map, 1)
        camera_box = QVBoxLayout()
        camera_box.setSpacing(2)
        camera_box.addLayout(pickers)
        camera_box.addWidget(self.camera_hint)

        form = QGridLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        form.setColumnStretch(1, 1)
        top = Qt.AlignmentFlag.AlignTop
        for row, (label, field) in enumerate(
            (
                ("Time window", window_row),
                ("Justification", self.justification_edit),
                ("Plate pattern", pattern_box),
                ("Cameras", camera_box),
            )
        ):
            caption = QLabel(label)
            caption.setContentsMargins(0, 5, 0, 0)
            form.addWidget(caption, row, 0, top)
            if isinstance(field, QWidget):
                form.addWidget(field, row, 1)
            elif isinstance(field, QLayout):
                form.addLayout(field, row, 1)
        self._form_widgets: tuple[QWidget, ...] = (
            self.from_edit,
            self.to_edit,
            self.justification_edit,
            self.pattern_edit,
            self.camera_list,
            self.camera_map,
        )

        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.estimate_label = QLabel()
        self.estimate_label.setObjectName("estimateLabel")
        self.estimate_label.setWordWrap(True)
        self.estimate_label.hide()
        self.sync_panel = SyncPanel(workstation=workstation, runner=runner)
        self.sync_panel.hide()
        self.progress_bar = self.sync_panel.progress_bar
        self.cancel_button = self.sync_panel.cancel_button

        self.request_button = QPushButton("Request and sync")
        self.request_button.setDefault(True)
        self.close_button = QPushButton("Cancel")
        self.close_button.setAutoDefault(False)
        buttons = QDialogButtonBox()
        buttons.addButton(self.request_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.estimate_label)
        layout.addWidget(self.sync_panel)
        layout.addWidget(buttons)

        self.request_button.clicked.connect(self.submit)
        self.close_button.clicked.connect(self.reject)
        self.pattern_edit.textChanged.connect(self._validate_pattern)
        self.sync_panel.sync_finished.connect(self._sync_finished)
        self.sync_panel.sync_failed.connect(self._sync_failed)
        self.camera_list.itemChanged.connect(self._update_camera_hint)
        self.camera_map.camera_clicked.connect(self.toggle_camera)
        self._load_cameras()

    # -- cameras ---------------------------------------------------------

    def _load_cameras(self) -> None:
        workstation = self._workstation
        self._runner.run(
            workstation.catalog.cameras,
            on_success=self._cameras_arrived,
            on_failure=self._cameras_failed,
            lane=Lane.NETWORK,
        )

    def _cameras_arrived(self, cameras: list[CameraInfo]) -> None:
        self.camera_list.clear()
        for camera in cameras:
            text = f"{camera.name}  ({camera.camera_id}, facing {camera.direction})"
            if not camera.active:
                text += ", inactive"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, camera.camera_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.camera_list.addItem(item)
        self.camera_map.set_cameras(cameras)
        self._update_camera_hint()
        fit_height(self)
        self.cameras_loaded.emit(len(cameras))

    def _cameras_failed(self, exc: BaseException) -> None:
        self.camera_hint.setText(f"{user_message(exc)} The request will cover all cameras.")
        self.camera_hint.setWordWrap(True)
        fit_height(self)

    def toggle_camera(self, camera_id: str) -> None:
        """Check a camera that is unchecked and the reverse (a click on the map)."""
        for row in range(self.camera_list.count()):
            item = self.camera_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == camera_id:
                checked = item.checkState() == Qt.CheckState.Checked
                item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)
                self.camera_list.scrollToItem(item)
                return

    def _update_camera_hint(self) -> None:
        self.camera_map.set_selected(self.checked_camera_ids())
        checked = len(self.checked_camera_ids())
        if checked:
            self.camera_hint.setText(
                f"{count_of(checked, 'camera')} of {self.camera_list.count()}."
            )
        else:
            self.camera_hint.setText("None checked: all cameras.")

    def checked_camera_ids(self) -> list[str]:
        ids = []
        for row in range(self.camera_list.count()):
            item = self.camera_list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                ids.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return ids

    # -- the request -----------------------------------------------------

    def _validate_pattern(self) -> bool:
        text = self.pattern_edit.text()
        if text.strip():
            try:
                parse_pattern(text)
            except PatternError as exc:
                self.pattern_error_label.setText(str(exc))
                self.pattern_error_label.show()
                self.pattern_edit.setProperty("invalid", True)
                self._repolish(self.pattern_edit)
                return False
        self.pattern_error_label.hide()
        self.pattern_edit.setProperty("invalid", False)
        self._repolish(self.pattern_edit)
        return True

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)

    def _problem(self) -> str | None:
        if self.from_edit.dateTime() >= self.to_edit.dateTime():
            return "The start of the time window must be before its end."
        if len(self.justification_edit.toPlainText().strip()) < MIN_JUSTIFICATION_LENGTH:
            return (
                f"Write a justification of at least {MIN_JUSTIFICATION_LENGTH} characters: "
                "why this case needs these reads."
            )
        if not self._validate_pattern():
            return "Fix the plate pattern, or leave it empty."
        return None

    def submit(self) -> None:
        """Ask the hub for the slice off the GUI thread; sync it once approved."""
        if self.slice is not None or not self.request_button.isEnabled():
            return
        problem = self._problem()
        if problem:
            self._show_error(problem)
            return
        self.error_label.hide()
        self._set_form_enabled(False)
        self.request_button.setText("Requesting…")
        workstation = self._workstation
        case_number, purpose = self._case_number, self._purpose
        justification = self.justification_edit.toPlainText().strip()
        time_from = _to_utc(self.from_edit.dateTime())
        time_to = _to_utc(self.to_edit.dateTime())
        camera_ids = self.checked_camera_ids() or None
        plate_pattern = self.pattern_edit.text().strip() or None
        self._runner.run(
            lambda: workstation.slices.request(
                case_number=case_number,
                purpose=purpose,
                justification=justification,
                time_from=time_from,
                time_to=time_to,
                camera_ids=camera_ids,
                plate_pattern=plate_pattern,
            ),
            on_success=self._slice_approved,
            on_failure=self._request_failed,
            lane=Lane.NETWORK,
        )

    def accept(self) -> None:
        """Enter requests; the dialog closes with Close/Done."""
        self.submit()

    def _set_form_enabled(self, enabled: bool) -> None:
        for widget in self._form_widgets:
            widget.setEnabled(enabled)
        self.request_button.setEnabled(enabled)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        fit_height(self)
        self.request_failed.emit(message)

    def _request_failed(self, exc: BaseException) -> None:
        self._set_form_enabled(True)
        self.request_button.setText("Request and sync")
        if isinstance(exc, PolicyRefusal):
            self._show_error(f"The hub refused this request. {exc}")
        else:
            self._show_error(user_message(exc))

    def _slice_approved(self, info: SliceInfo) -> None:
        self.slice = info
        self.request_button.setText("Approved")
        self.estimate_label.setText(
            f"The hub approved this request: about {count_of(info.estimated_reads, 'read')} "
            f"between {info.time_from.astimezone():%Y-%m-%d %H:%M} and "
            f"{info.time_to.astimezone():%Y-%m-%d %H:%M}. Syncing them to this workstation…"
        )
        self.estimate_label.show()
        self.sync_panel.show()
        fit_height(self)
        self.close_button.setText("Close")
        self.slice_created.emit(info)
        self.sync_panel.start(info.slice_id)

    def _sync_finished(self, result: SyncResult) -> None:
        self.close_button.setText("Done")
        self.close_button.setDefault(True)
        self.sync_finished.emit(result)

    def _sync_failed(self, message: str) -> None:
        self.close_button.setText("Close")
        self.error_label.setText(message)
        self.error_label.show()
        fit_height(self)

    def reject(self) -> None:
        """Closing while a sync runs stops it after the current page; what arrived is kept."""
        if self.sync_panel.is_running:
            self.sync_panel.cancel()
        super().reject()
