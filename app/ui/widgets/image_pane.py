"""Image review of the selected read: zoom and pan, plate-crop inset, enhancement, details.

Images are fetched and decoded off the GUI thread; enhancement runs on the
vision lane from the decoded originals, latest request wins, so the original
pixels are never changed and dragging a slider never queues up work.

A scene at least twice the view's size both ways is first decoded at a reduced
scale that still has the view's pixels (app.vision.enhance.preview_reduction):
that preview is on screen (image_previewed) in about half the time of a full
decode and looks the same fitted in the view; the full decode replaces it
(image_shown), keeping the zoom, and only then do enhancement and re-reading start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import KnownError
from app.core.records import ReadRecord, ReviewMark
from app.ui.errors import user_message
from app.ui.formatting import local_time, percent, travelling
from app.ui.images import to_qimage
from app.ui.widgets.enhance_panel import EnhancePanel
from app.ui.widgets.plate_reading import PlateReadingRow
from app.ui.widgets.review_view import ReviewView
from app.ui.workers import Lane, TaskRunner
from app.vision.enhance import (
    UNDECODABLE,
    Enhancement,
    Image,
    apply_enhancement,
    decode_jpeg,
    jpeg_size,
    preview_reduction,
)
from app.vision.plate_reader import NO_MODEL, PlateCandidate, PlateReader

if TYPE_CHECKING:
    from app.workstation import Workstation

NOT_DECODED = UNDECODABLE
CROP_NOT_DECODED = "Plate crop not decoded"
NOTHING_SELECTED = "Select a read to see its image"
LOADING = "Loading image…"
REREAD = "Re-read plate"
NO_MARKS = "Not marked in this case"
MARK_KINDS = {"evidence": "Evidence", "misread": "Misread"}


def describe_mark(mark: ReviewMark) -> str:
    """One line per review mark: kind (and corrected plate), who, when, note."""
    kind = MARK_KINDS.get(mark.kind, mark.kind)
    if mark.corrected_plate:
        kind = f"{kind}, shows {mark.corrected_plate}"
    line = f"{kind} · {mark.marked_by} · {local_time(mark.marked_at)}"
    return f"{line} — {mark.note}" if mark.note else line


@dataclass(frozen=True)
class _Pictures:
    """Decoded originals and what is on screen for them (both may be None)."""

    read_id: str
    enhancement: Enhancement
    scene: Image | None
    crop: Image | None
    scene_shown: QImage | None
    crop_shown: QImage | None
    scene_error: str | None = None
    reduction: int = 1  # scene_shown is a preview decoded at 1/reduction of the size


def _render(
    read_id: str,
    scene: Image | None,
    crop: Image | None,
    enhancement: Enhancement,
    *,
    reduction: int = 1,
) -> _Pictures:
    """Runs on a worker: the enhanced copies as QImages. With a `reduction`, `scene`
    is a preview at that fraction of the size: the pictures keep no originals."""
    return _Pictures(
        read_id=read_id,
        enhancement=enhancement,
        scene=scene if reduction == 1 else None,
        crop=crop if reduction == 1 else None,
        scene_shown=None if scene is None else to_qimage(apply_enhancement(scene, enhancement)),
        crop_shown=None if crop is None else to_qimage(apply_enhancement(crop, enhancement)),
        reduction=reduction,
    )


class ImagePane(QFrame):
    """The review widget: a zoomable view of the scene, the crop inset, controls and details."""

    image_previewed = Signal(str)  # read id: a preview of the scene is on screen
    image_shown = Signal(str)  # read id: the scene is on screen in full
    image_failed = Signal(str)  # the message shown instead
    enhancement_applied = Signal(object)  # Enhancement now on screen
    plate_reread = Signal(object)  # list[PlateCandidate] from the plate reader
    correction_accepted = Signal(str, str)  # plate the reader read, and a note saying so
    search_requested = Signal(str)  # a plate pattern from the reader's alternatives
    marks_loaded = Signal(object)  # list[ReviewMark] of the shown read in the case

    def __init__(
        self,
        *,
        workstation: Workstation,
        runner: TaskRunner,
        plate_reader: PlateReader | None = None,
        show_details: bool = True,
        shortcuts: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("imagePane")
        self._workstation = workstation
        self._runner = runner
        self._plate_reader = plate_reader
        self._shortcuts = shortcuts
        self._show_details = show_details
        self._request = 0
        self._scene: Image | None = None
        self._crop: Image | None = None
        self._enhancing = False  # a render is running on the vision lane
        self._enhance_again = False  # the controls moved while it ran
        self.read: ReadRecord | None = None
        self.case_number: str | None = None  # review marks are shown for this case
        self.marks: list[ReviewMark] = []
        self._marks_request = 0

        # -- toolbar -----------------------------------------------------------
        self.fit_action = self._action("Fit", "Fit the image in the view", ["Ctrl+0"])
        self.actual_size_action = self._action(
            "1:1", "One image pixel per screen pixel", ["Ctrl+1"]
        )
        self.zoom_in_action = self._action("+", "Zoom in", ["+", "=", "Ctrl++", "Ctrl+="])
        self.zoom_out_action = self._action("−", "Zoom out", ["-", "Ctrl+-"])
        self.reset_action = self._action("Reset enhancement", "Show the original image", [])
        self.zoom_label = QLabel("—")
        self.zoom_label.setObjectName("zoomLabel")
        self.zoom_label.setMinimumWidth(48)
        self.enhance_button = QToolButton()
        self.enhance_button.setText("Enhance")
        self.enhance_button.setCheckable(True)
        self.enhance_button.setChecked(True)
        self.enhance_button.setToolTip("Show or hide the enhancement controls")
        self.reread_button = QPushButton(REREAD)
        self.reread_button.setObjectName("rereadButton")
        self.reread_button.setAutoDefault(False)
        self.reread_button.setEnabled(False)
        self.reread_button.setToolTip(
            NO_MODEL if plate_reader is None else "Read the plate again with the plate reader"
        )
        toolbar = QHBoxLayout()
        toolbar.setSpacing(4)
        self.fit_button = self._tool_button(self.fit_action)
        self.actual_size_button = self._tool_button(self.actual_size_action)
        self.zoom_out_button = self._tool_button(self.zoom_out_action)
        self.zoom_in_button = self._tool_button(self.zoom_in_action)
        for button in (
            self.fit_button,
            self.actual_size_button,
            self.zoom_out_button,
            self.zoom_in_button,
        ):
            toolbar.addWidget(button)
        toolbar.addWidget(self.zoom_label)
        toolbar.addStretch(1)
        toolbar.addWidget(self.enhance_button)
        toolbar.addWidget(self.reread_button)

        # -- the stage: the view, or a message instead -------------------------
        self.scene_view = ReviewView()
        self.scene_view.setMinimumSize(320, 200)
        self.crop_label = self.scene_view.inset_label
        self.message_label = QLabel(NOTHING_SELECTED)
        self.message_label.setObjectName("imageMessage")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.message_label)
        self._stack.addWidget(self.scene_view)
        stage = QWidget()
        stage.setObjectName("imageStage")
        stage.setLayout(self._stack)

        self.enhance_panel = EnhancePanel()
        self.reading = PlateReadingRow()

        # -- details -----------------------------------------------------------
        self.plate_value = QLabel("—")
        self.plate_value.setObjectName("plateValue")
        self.state_value = QLabel("—")
        self.time_value = QLabel("—")
        self.camera_value = QLabel("—")
        self.camera_value.setWordWrap(True)
        self.vehicle_value = QLabel("—")
        self.vehicle_value.setWordWrap(True)
        self.body_value = QLabel("—")
        self.body_value.setWordWrap(True)
        self.confidence_value = QLabel("—")
        self.marks_label = QLabel("—")
        self.marks_label.setObjectName("marksLabel")
        self.marks_label.setWordWrap(True)
        self.marks_label.setTextFormat(Qt.TextFormat.PlainText)
        self.review_buttons = QHBoxLayout()
        self.review_buttons.setSpacing(4)
        self._values = (
            self.plate_value,
            self.state_value,
            self.time_value,
            self.camera_value,
            self.vehicle_value,
            self.body_value,
            self.confidence_value,
            self.marks_label,
        )
        for value in self._values:
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details = QFormLayout()
        details.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        details.setHorizontalSpacing(12)
        details.setVerticalSpacing(4)
        details.addRow("Plate", self.plate_value)
        details.addRow("State", self.state_value)
        details.addRow("Time", self.time_value)
        details.addRow("Camera", self.camera_value)
        details.addRow("Vehicle", self.vehicle_value)
        details.addRow("Body, features", self.body_value)
        details.addRow("Confidence", self.confidence_value)
        details.addRow("Review", self.marks_label)
        details.addRow("", self.review_buttons)
        self.details = QWidget()
        self.details.setLayout(details)
        self.details.setVisible(show_details)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(toolbar)
        layout.addWidget(stage, 1)
        layout.addWidget(self.enhance_panel)
        layout.addWidget(self.reading)
        layout.addWidget(self.details)

        # -- wiring ------------------------------------------------------------
        self.fit_action.triggered.connect(self.scene_view.fit)
        self.actual_size_action.triggered.connect(self.scene_view.actual_size)
        self.zoom_in_action.triggered.connect(self.scene_view.zoom_in)
        self.zoom_out_action.triggered.connect(self.scene_view.zoom_out)
        self.reset_action.triggered.connect(self.enhance_panel.reset)
        self.scene_view.zoom_changed.connect(self._zoom_changed)
        self.enhance_button.toggled.connect(self.enhance_panel.setVisible)
        self.enhance_panel.enhancement_changed.connect(self._enhancement_changed)
        self.reread_button.clicked.connect(self.reread_plate)
        self.reading.correction_accepted.connect(self.correction_accepted)
        self.reading.search_requested.connect(self.search_requested)
        self.show_read(None)

    def _action(self, text: str, tip: str, keys: list[str]) -> QAction:
        action = QAction(text, self)
        action.setToolTip(f"{tip} ({keys[0]})" if keys else tip)
        if self._shortcuts:
            # Window-wide: one pane per window has them (a compare dialog's panes do not).
            action.setShortcuts([QKeySequence(key) for key in keys])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.addAction(action)
        return action

    @staticmethod
    def _tool_button(action: QAction) -> QToolButton:
        button = QToolButton()
        button.setDefaultAction(action)
        button.setMinimumWidth(32)
        return button

    # -- state -------------------------------------------------------------

    @property
    def message(self) -> str | None:
        """The text shown instead of the image, or None when the image is on screen."""
        return (
            self.message_label.text() if self._stack.currentWidget() is self.message_label else None
        )

    @property
    def enhancement(self) -> Enhancement:
        return self.enhance_panel.enhancement

    @property
    def original_scene(self) -> Image | None:
        """The decoded scene as the camera took it (never enhanced in place)."""
        return self._scene

    # -- showing a read ------------------------------------------------------

    def conceal(self) -> None:
        """The lock: the pane shows no read."""
        self.show_read(None)

    def show_read(self, read: ReadRecord | None) -> None:
        """Show a read's details now and its images once they have been fetched and decoded."""
        self._request += 1
        self.read = read
        self._scene = self._crop = None
        self.scene_view.set_image(None)
        self.scene_view.set_inset(None)
        self.reading.clear()
        self._set_image_actions(enabled=False)
        if read is None:
            self._show_message(NOTHING_SELECTED)
            for value in self._values:
                value.setText("—")
            self._marks_request += 1
            self.marks = []
            return
        self.plate_value.setText(read.plate)
        self.state_value.setText(read.state)
        self.time_value.setText(local_time(read.captured_at))
        self.camera_value.setText(
            f"{read.camera_name} ({read.camera_id}); vehicle {travelling(read.direction)}"
        )
        vehicle = " ".join(part for part in (read.color, read.make, read.model) if part)
        self.vehicle_value.setText(vehicle or "—")
        self.body_value.setText(", ".join(p for p in (read.body_type, *read.features) if p) or "—")
        self.confidence_value.setText(percent(read.confidence))
        self.refresh_marks()
        self._show_message(LOADING)
        request = self._request
        workstation = self._workstation
        enhancement = self.enhancement
        read_id, scene_sha, crop_sha = read.read_id, read.image_sha256, read.crop_sha256
        viewport = self.scene_view.viewport()
        ratio = viewport.devicePixelRatioF()
        view_size = (round(viewport.width() * ratio), round(viewport.height() * ratio))

        def fetch_and_decode(preview: Callable[[_Pictures], None]) -> _Pictures:
            scene_data = workstation.image(scene_sha, read_id=read_id)
            crop_data = workstation.image(crop_sha, read_id=read_id)
            try:
                crop: Image | None = decode_jpeg(crop_data)
            except KnownError:
                crop = None
            reduction = preview_reduction(jpeg_size(scene_data), view_size)
            if reduction > 1:
                try:
                    small = decode_jpeg(scene_data, reduction=reduction)
                except KnownError:
                    pass  # the full decode says what is wrong
                else:
                    preview(_render(read_id, small, crop, enhancement, reduction=reduction))
            try:
                scene = decode_jpeg(scene_data)
            except KnownError as exc:
                pictures = _render(read_id, None, crop, enhancement)
                return replace(pictures, scene_error=str(exc))
            return _render(read_id, scene, crop, enhancement)

        self._runner.run(
            fetch_and_decode,
            on_success=lambda pictures: self._arrived(request, pictures),
            on_failure=lambda exc: self._failed(request, exc),
            on_progress=lambda pictures: self._previewed(request, pictures),
            lane=Lane.NETWORK,
        )

    def add_review_actions(self, actions: list[QAction]) -> list[QToolButton]:
        """Buttons under the details for the window's review actions (mark evidence, misread)."""
        buttons = []
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.review_buttons.addWidget(button)
            buttons.append(button)
        self.review_buttons.addStretch(1)
        return buttons

    def refresh_marks(self) -> None:
        """Load the shown read's review marks in the case (cache lane), then show them."""
        self._marks_request += 1
        self.marks = []
        read, case_number = self.read, self.case_number
        if read is None or case_number is None or not self._show_details:
            self.marks_label.setText("—")
            return
        self.marks_label.setText("Checking…")
        request = self._marks_request
        workstation = self._workstation
        read_id = read.read_id
        self._runner.run(
            lambda: workstation.review.marks(read_id=read_id, case_number=case_number),
            on_success=lambda marks: self._marks_arrived(request, marks),
            on_failure=lambda exc: self._marks_failed(request, exc),
            lane=Lane.CACHE,
        )

    def _marks_arrived(self, request: int, marks: list[ReviewMark]) -> None:
        if request != self._marks_request:
            return
        self.marks = list(marks)
        self.marks_label.setText("\n".join(describe_mark(m) for m in marks) or NO_MARKS)
        self.marks_loaded.emit(self.marks)

    def _marks_failed(self, request: int, exc: BaseException) -> None:
        if request == self._marks_request:
            self.marks_label.setText(user_message(exc))

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self._stack.setCurrentWidget(self.message_label)

    def _set_image_actions(self, *, enabled: bool) -> None:
        for action in (
            self.fit_action,
            self.actual_size_action,
            self.zoom_in_action,
            self.zoom_out_action,
        ):
            action.setEnabled(enabled)
        self.reread_button.setEnabled(enabled and self._plate_reader is not None)
        if not enabled:
            self.zoom_label.setText("—")

    def _previewed(self, request: int, pictures: _Pictures) -> None:
        if request != self._request or pictures.scene_shown is None:
            return
        self._show_crop(pictures.crop_shown)
        self._show_scene(pictures.scene_shown, scale=pictures.reduction)
        self.image_previewed.emit(pictures.read_id)

    def _arrived(self, request: int, pictures: _Pictures) -> None:
        if request != self._request:
            return  # another read was selected meanwhile
        self._scene, self._crop = pictures.scene, pictures.crop
        self._show_crop(pictures.crop_shown)
        if pictures.scene_shown is None:
            message = pictures.scene_error or NOT_DECODED
            self.scene_view.set_image(None)  # a preview, if the full decode failed
            self._show_message(message)
            self.image_failed.emit(message)
            return
        self._set_image_actions(enabled=True)
        self._show_scene(pictures.scene_shown, keep_view=True)
        self.image_shown.emit(pictures.read_id)
        if pictures.enhancement != self.enhancement:
            self._enhancement_changed(self.enhancement)

    def _show_scene(self, scene: QImage, *, scale: int = 1, keep_view: bool = False) -> None:
        self._stack.setCurrentWidget(self.scene_view)
        self.scene_view.set_image(scene, keep_view=keep_view, scale=scale)
        self._zoom_changed(self.scene_view.zoom)

    def _show_crop(self, crop: QImage | None) -> None:
        if crop is None:
            self.scene_view.set_inset(None, text=CROP_NOT_DECODED)
        else:
            self.scene_view.set_inset(QPixmap.fromImage(crop))

    def _failed(self, request: int, exc: BaseException) -> None:
        if request != self._request:
            return
        message = user_message(exc)
        self._show_message(message)
        self.image_failed.emit(message)

    def _zoom_changed(self, zoom: float) -> None:
        if self.scene_view.has_image():
            fit = " (fit)" if self.scene_view.fit_mode else ""
            self.zoom_label.setText(f"{zoom * 100:.0f}%{fit}")

    # -- enhancement -------------------------------------------------------

    def _enhancement_changed(self, _enhancement: Enhancement) -> None:
        if self._scene is None and self._crop is None:
            return
        if self._enhancing:
            self._enhance_again = True
            return
        self._enhancing = True
        self._enhance_again = False
        request = self._request
        read_id = self.read.read_id if self.read is not None else ""
        scene, crop, enhancement = self._scene, self._crop, self.enhancement
        self._runner.run(
            lambda: _render(read_id, scene, crop, enhancement),
            on_success=lambda pictures: self._enhanced(request, pictures),
            on_failure=lambda exc: self._enhance_failed(request, exc),
            lane=Lane.VISION,
        )

    def _enhanced(self, request: int, pictures: _Pictures) -> None:
        self._enhancing = False
        if request == self._request:
            if pictures.scene_shown is not None:
                self.scene_view.set_image(pictures.scene_shown, keep_view=True)
            self._show_crop(pictures.crop_shown)
        if self._enhance_again or pictures.enhancement != self.enhancement:
            self._enhancement_changed(self.enhancement)  # the latest request wins
        elif request == self._request:
            self.enhancement_applied.emit(pictures.enhancement)

    def _enhance_failed(self, request: int, exc: BaseException) -> None:
        self._enhancing = False
        if request == self._request:
            self._show_message(user_message(exc))
            self.image_failed.emit(user_message(exc))

    # -- plate reading -------------------------------------------------------

    def reread_plate(self) -> None:
        """Read the plate crop (or the scene) again with the plate reader, off the GUI thread."""
        reader = self._plate_reader
        image = self._crop if self._crop is not None else self._scene
        if reader is None or image is None:
            return
        request = self._request
        self.reread_button.setEnabled(False)
        self.reading.reading()
        self._runner.run(
            lambda: reader.read(image),
            on_success=lambda candidates: self._reread(request, candidates),
            on_failure=lambda exc: self._reread_failed(request, exc),
            lane=Lane.VISION,
        )

    def _reread(self, request: int, candidates: list[PlateCandidate]) -> None:
        if request != self._request:
            return
        self.reread_button.setEnabled(True)
        self.reading.show_reading(candidates, self.read.plate if self.read is not None else None)
        self.plate_reread.emit(candidates)

    def _reread_failed(self, request: int, exc: BaseException) -> None:
        if request != self._request:
            return
        self.reread_button.setEnabled(True)
        self.reading.failed(user_message(exc))
