"""Hotlist alerts: the list of hits for the user, one hit's image, and its acknowledgement.

Alerts come from the engine: the ones already at the hub when the panel starts
(`Workstation.alerts`), then new ones pushed by the hub's event stream
(`Workstation.alert_listener`, on its own thread; each alert is marshalled to the
GUI thread through a signal). Acknowledging records the policy's verification
steps and the hit's outcome at the hub, journaled by the engine; the hub refuses
"action taken" unless every step was done, and the panel says why before asking.
While the window is locked the panel stops listening and shows nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.records import ALERT_OUTCOMES, AlertRecord, CameraInfo
from app.core.schemas import VERIFICATION_STEPS
from app.ui.errors import user_message
from app.ui.formatting import camera_names, local_time
from app.ui.workers import Lane, TaskRunner

if TYPE_CHECKING:
    from app.sync.alerts import AlertListener
    from app.workstation import Workstation

OUTCOME_LABELS = {
    "correct_read": "Correct read",
    "wrong_state": "Wrong state",
    "misread": "Misread (the plate is not the listed one)",
    "entry_no_longer_valid": "Entry no longer valid",
    "action_taken": "Action taken",
}
STEP_LABELS = {
    "visual_confirmed": "I compared the plate in the image with the hotlist plate",
    "state_match": "The plate's state matches the hotlist entry",
    "entry_confirmed": "I re-confirmed the hotlist entry is still valid with its source",
}
NO_ALERTS = "No hotlist alerts for your cases."
LOADING_ALERTS = "Loading the alerts for your cases…"
CHOOSE_ALERT = "Select an alert to verify it."
CHOOSE_OUTCOME = "Choose the outcome…"
NO_OUTCOME = "Choose the outcome of your verification first."
NO_IMAGE = "The image of this read is not available."
LISTENING = "Listening for new alerts"
NOT_LISTENING = "Not receiving new alerts: the hub cannot be reached; retrying"


def alert_title(alert: AlertRecord, camera_names: Mapping[str, str] | None = None) -> str:
    """One line naming the hit: plate, reason, where (the camera's name and id, or its id
    where the catalog has no name) and when, and a fuzzy warning."""
    plate = alert.read_plate or alert.entry_plate
    parts = [f"{plate} — {alert.reason} ({alert.source})"]
    if alert.captured_at is not None:
        parts.append(local_time(alert.captured_at))
    if alert.camera_id:
        name = (camera_names or {}).get(alert.camera_id)
        parts.append(f"{name} ({alert.camera_id})" if name else alert.camera_id)
    if alert.match == "fuzzy":
        parts.append(f"possible misread of {alert.entry_plate}")
    return " · ".join(parts)


def alert_line(alert: AlertRecord, camera_names: Mapping[str, str] | None = None) -> str:
    """The short form for the list, on two lines: plate and when; where (the camera's
    name, else its id), and a fuzzy warning."""
    first = [alert.read_plate or alert.entry_plate]
    if alert.captured_at is not None:
        first.append(local_time(alert.captured_at))
    where = (camera_names or {}).get(alert.camera_id or "") or alert.camera_id
    second = [where] if where else []
    if alert.match == "fuzzy":
        second.append(f"misread of {alert.entry_plate}?")
    return "\n".join(" · ".join(parts) for parts in (first, second) if parts)


class _Relay(QObject):
    """Carries the listener thread's callbacks onto the GUI thread (queued signals)."""

    alert = Signal(object)  # AlertRecord
    state = Signal(str)


class AlertsPanel(QWidget):
    """Alerts newest first; the selected one's image, verification steps and outcome."""

    alerts_loaded = Signal(int)  # how many alerts the hub had when the panel started
    alert_arrived = Signal(object)  # a new AlertRecord pushed by the hub
    acknowledged = Signal(object)  # the AlertRecord as the hub recorded it
    acknowledge_failed = Signal(str)
    image_loaded = Signal(int)  # alert id
    unacknowledged_changed = Signal(int)

    def __init__(
        self, *, workstation: Workstation, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("alertsPanel")
        self._workstation = workstation
        self._runner = runner
        self._alerts: dict[int, AlertRecord] = {}
        self._camera_names: dict[str, str] = {}
        self._listener: AlertListener | None = None
        self._generation = 0  # which start() a list belongs to (stop() moves it on)
        self._relay = _Relay(self)
        self._relay.alert.connect(self._alert_pushed)
        self._relay.state.connect(self._listener_state)
        self.listener_state = "stopped"
        self.loaded = False  # the alerts the hub held have arrived (or failed to)

        self.alert_list = QListWidget()
        self.alert_list.setObjectName("alertList")
        self.alert_list.setMinimumWidth(260)
        # Each line fits or ends in an ellipsis: never a sideways scroll bar.
        self.alert_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.alert_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.alert_list.setSpacing(2)
        self.empty_label = QLabel(NO_ALERTS)
        self.empty_label.setObjectName("hintLabel")
        self.empty_label.hide()  # until the alerts have loaded and there are none
        self.stream_label = QLabel()
        self.stream_label.setObjectName("hintLabel")
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.alert_list, 1)
        left.addWidget(self.empty_label)
        left.addWidget(self.stream_label)
        left_widget = QWidget()
        left_widget.setLayout(left)

        self.title_label = QLabel(CHOOSE_ALERT)
        self.title_label.setObjectName("alertTitle")
        self.title_label.setWordWrap(True)
        self.match_label = QLabel()
        self.match_label.setObjectName("warningLabel")
        self.match_label.setWordWrap(True)
        self.match_label.hide()
        self.image_label = QLabel(NO_IMAGE)
        self.image_label.setObjectName("alertImage")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(320, 180)
        self.crop_label = QLabel()
        self.crop_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.entry_label = QLabel()
        self.entry_label.setWordWrap(True)
        plate_font = QFont("monospace")
        plate_font.setStyleHint(QFont.StyleHint.TypeWriter)
        plate_font.setBold(True)
        self.entry_label.setFont(plate_font)

        self.step_boxes = {name: QCheckBox(label) for name, label in STEP_LABELS.items()}
        self.outcome_box = QComboBox()
        self.outcome_box.setPlaceholderText(CHOOSE_OUTCOME)  # no outcome until one is chosen
        for code in ALERT_OUTCOMES:
            self.outcome_box.addItem(OUTCOME_LABELS.get(code, code), code)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Optional note, e.g. the stop's incident number")
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.acknowledge_button = QPushButton("Record verification")
        self.acknowledge_button.setAutoDefault(False)
        self.acknowledged_label = QLabel()
        self.acknowledged_label.setWordWrap(True)
        form = QFormLayout()
        steps = QVBoxLayout()
        steps.setSpacing(2)
        for box in self.step_boxes.values():
            steps.addWidget(box)
        form.addRow("Verification", steps)
        form.addRow("Outcome", self.outcome_box)
        form.addRow("Note", self.note_edit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.acknowledge_button)
        self.verify_box = QWidget()
        verify_layout = QVBoxLayout(self.verify_box)
        verify_layout.setContentsMargins(0, 0, 0, 0)
        verify_layout.addLayout(form)
        verify_layout.addWidget(self.error_label)
        verify_layout.addLayout(buttons)

        right = QVBoxLayout()
        right.setContentsMargins(8, 0, 0, 0)
        right.addWidget(self.title_label)
        right.addWidget(self.match_label)
        images = QHBoxLayout()
        images.addWidget(self.image_label, 3)
        images.addWidget(self.crop_label, 1)
        right.addLayout(images, 1)
        right.addWidget(self.entry_label)
        right.addWidget(self.acknowledged_label)
        right.addWidget(self.verify_box)
        self.detail = QWidget()
        self.detail.setLayout(right)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left_widget)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(splitter)

        self.alert_list.currentItemChanged.connect(self._current_changed)
        self.acknowledge_button.clicked.connect(self.acknowledge)
        self._show(None)

    # -- the alerts ------------------------------------------------------------

    @property
    def alerts(self) -> list[AlertRecord]:
        """Newest sighting first, as listed (an alert without one by when it was raised)."""
        return sorted(
            self._alerts.values(),
            key=lambda a: (a.captured_at or a.created_at, a.alert_id),
            reverse=True,
        )

    @property
    def unacknowledged(self) -> int:
        return sum(1 for a in self._alerts.values() if a.acknowledged_at is None)

    @property
    def current(self) -> AlertRecord | None:
        item = self.alert_list.currentItem()
        return None if item is None else self._alerts.get(int(item.data(Qt.ItemDataRole.UserRole)))

    def set_cameras(self, cameras: Sequence[CameraInfo]) -> None:
        """The catalog's cameras: an alert says where by its camera's name."""
        self._camera_names = camera_names(cameras)
        self._refresh_list()

    def start(self) -> None:
        """Load the alerts the hub holds for the user, then listen for new ones."""
        workstation = self._workstation
        self._generation += 1
        generation = self._generation
        self._runner.run(
            lambda: workstation.alerts.list(limit=500),
            on_success=lambda alerts: self._loaded(generation, alerts),
            on_failure=self._load_failed,
            lane=Lane.NETWORK,
        )

    def conceal(self) -> None:
        """The lock: no alert arrives while locked (the stream starts again on unlock)."""
        self.stop()

    def stop(self) -> None:
        """Stop listening and forget what is shown (locking, signing out, closing)."""
        self._generation += 1  # a list still in flight is dropped when it arrives
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop(timeout=5.0)
        self._alerts.clear()
        self.loaded = False
        self.alert_list.clear()
        self.empty_label.hide()
        self._show(None)
        self.listener_state = "stopped"

    def select(self, alert_id: int) -> None:
        for row in range(self.alert_list.count()):
            item = self.alert_list.item(row)
            if int(item.data(Qt.ItemDataRole.UserRole)) == alert_id:
                self.alert_list.setCurrentItem(item)
                return

    def _loaded(self, generation: int, alerts: list[AlertRecord]) -> None:
        if generation != self._generation:
            return  # stopped (locked, signed out, closed) while the list was on its way
        self.loaded = True
        for alert in alerts:
            self._alerts[alert.alert_id] = alert
        self._refresh_list()
        self.alerts_loaded.emit(len(alerts))
        if self._listener is None:
            after = max(self._alerts, default=0)
            relay = self._relay
            try:
                self._listener = self._workstation.alerts.listener(
                    on_alert=relay.alert.emit, on_state=relay.state.emit, after=after
                )
            except Exception as exc:  # signed out meanwhile: nothing to listen for
                self.stream_label.setText(user_message(exc))
                return
            self._listener.start()

    def _load_failed(self, exc: BaseException) -> None:
        self.loaded = True
        self.title_label.setText("The alerts could not be loaded.")
        self.stream_label.setText(f"Alerts could not be loaded: {user_message(exc)}")

    def _alert_pushed(self, alert: AlertRecord) -> None:
        if self._listener is None:
            return  # stopped (locked) since: show nothing
        known = alert.alert_id in self._alerts
        self._alerts[alert.alert_id] = alert
        self._refresh_list()
        if not known:
            self.alert_arrived.emit(alert)

    def _listener_state(self, state: str) -> None:
        self.listener_state = state
        if state == "connected":
            self.stream_label.setText(LISTENING)
        elif state == "offline":
            self.stream_label.setText(NOT_LISTENING)
        elif state == "signed_out":
            self.stream_label.setText("Not receiving new alerts: sign in again.")

    def _refresh_list(self) -> None:
        current = self.current
        self.alert_list.blockSignals(True)
        self.alert_list.clear()
        for alert in self.alerts:
            line = alert_line(alert, self._camera_names)
            item = QListWidgetItem(line)
            item.setData(Qt.ItemDataRole.UserRole, alert.alert_id)
            item.setToolTip(alert_title(alert, self._camera_names))
            if alert.acknowledged_at is None:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            else:
                outcome = OUTCOME_LABELS.get(alert.outcome or "", alert.outcome or "")
                item.setText(f"{line} · {outcome}")
            self.alert_list.addItem(item)
        self.alert_list.blockSignals(False)
        self.empty_label.setVisible(self.loaded and not self._alerts)
        if current is not None:
            self.select(current.alert_id)
        if self.current is None:
            self.title_label.setText(self._no_selection_text())
        self.unacknowledged_changed.emit(self.unacknowledged)

    # -- one alert -------------------------------------------------------------

    def _current_changed(self, *_args: object) -> None:
        self._show(self.current)

    def _no_selection_text(self) -> str:
        if self._alerts:
            return CHOOSE_ALERT
        return NO_ALERTS if self.loaded else LOADING_ALERTS

    def _show(self, alert: AlertRecord | None) -> None:
        self.error_label.hide()
        self.image_label.setPixmap(QPixmap())
        self.crop_label.setPixmap(QPixmap())
        if alert is None:
            self.title_label.setText(self._no_selection_text())
            self.outcome_box.setCurrentIndex(-1)
            self.match_label.hide()
            self.entry_label.clear()
            self.acknowledged_label.clear()
            self.image_label.setText("")
            self.verify_box.setEnabled(False)
            return
        self.title_label.setText(alert_title(alert, self._camera_names))
        if alert.match == "fuzzy":
            self.match_label.setText(
                f"Fuzzy match: the camera read {alert.read_plate}, the hotlist lists "
                f"{alert.entry_plate}. It may be a misread; compare the image closely."
            )
            self.match_label.show()
        else:
            self.match_label.hide()
        entry_state = alert.entry_state or "any state"
        read_state = alert.read_state or "unknown"
        self.entry_label.setText(
            f"Hotlist: {alert.entry_plate} ({entry_state}) · Read: {alert.read_plate or '—'} "
            f"({read_state}) · Case {alert.case_number}"
        )
        done = alert.acknowledged_at is not None
        self.verify_box.setEnabled(not done)
        for name, box in self.step_boxes.items():
            box.setChecked(bool(getattr(alert, name)) if done else False)
        # The outcome the hub recorded, or none chosen yet: never the last alert's choice.
        self.outcome_box.setCurrentIndex(
            self.outcome_box.findData(alert.outcome) if done and alert.outcome else -1
        )
        if not done:
            self.note_edit.clear()
        if alert.acknowledged_at is not None:
            self.acknowledged_label.setText(
                f"Verified by {alert.acknowledged_by} at {local_time(alert.acknowledged_at)}: "
                f"{OUTCOME_LABELS.get(alert.outcome or '', alert.outcome)}"
                + (f". {alert.note}" if alert.note else "")
            )
        else:
            self.acknowledged_label.clear()
        self.image_label.setText("Loading the image…")
        workstation, alert_id = self._workstation, alert.alert_id
        self._runner.run(
            lambda: workstation.alerts.images(alert),
            on_success=lambda images: self._images_arrived(alert_id, images),
            on_failure=lambda exc: self._image_failed(alert_id, exc),
            lane=Lane.NETWORK,
        )

    def _images_arrived(self, alert_id: int, images: tuple[bytes, bytes] | None) -> None:
        current = self.current
        if current is None or current.alert_id != alert_id:
            return
        if images is None:
            self.image_label.setText(NO_IMAGE)
            return
        scene, crop = (QImage.fromData(data) for data in images)
        if scene.isNull():
            self.image_label.setText(NO_IMAGE)
            return
        self.image_label.setText("")
        self.image_label.setPixmap(
            QPixmap.fromImage(scene).scaled(
                self.image_label.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        if not crop.isNull():
            self.crop_label.setPixmap(
                QPixmap.fromImage(crop).scaledToWidth(
                    max(120, self.crop_label.width()), Qt.TransformationMode.SmoothTransformation
                )
            )
        self.image_loaded.emit(alert_id)

    def _image_failed(self, alert_id: int, exc: BaseException) -> None:
        current = self.current
        if current is not None and current.alert_id == alert_id:
            self.image_label.setText(f"{NO_IMAGE} {user_message(exc)}")

    # -- acknowledging -----------------------------------------------------------

    def set_outcome(self, outcome: str) -> None:
        self.outcome_box.setCurrentIndex(self.outcome_box.findData(outcome))

    def acknowledge(self) -> None:
        """Record the steps and outcome at the hub (the engine journals it)."""
        alert = self.current
        if alert is None or alert.acknowledged_at is not None:
            return
        if self.outcome_box.currentIndex() < 0:
            self._refused(NO_OUTCOME)
            return
        outcome = str(self.outcome_box.currentData())
        steps = {name: box.isChecked() for name, box in self.step_boxes.items()}
        if outcome == "action_taken" and not all(steps.values()):
            missing = [VERIFICATION_STEPS[name] for name, done in steps.items() if not done]
            self._refused("Acting on a hit needs every verification step first; missing: "
                          + "; ".join(missing) + ".")  # fmt: skip
            return
        self.error_label.hide()
        self.acknowledge_button.setEnabled(False)
        workstation, note = self._workstation, self.note_edit.text().strip()
        self._runner.run(
            lambda: workstation.alerts.acknowledge(
                alert_id=alert.alert_id, outcome=outcome, note=note, **steps
            ),
            on_success=self._acknowledged,
            on_failure=lambda exc: self._refused(user_message(exc)),
            lane=Lane.NETWORK,
        )

    def _acknowledged(self, alert: AlertRecord) -> None:
        self.acknowledge_button.setEnabled(True)
        self.note_edit.clear()
        self._alerts[alert.alert_id] = alert
        self._refresh_list()
        self._show(alert)
        self.acknowledged.emit(alert)

    def _refused(self, message: str) -> None:
        self.acknowledge_button.setEnabled(True)
        self.error_label.setText(message)
        self.error_label.show()
        self.acknowledge_failed.emit(message)


class AlertBanner(QFrame):
    """The non-blocking notice of a new hit: what and where, Review and Dismiss."""

    review_requested = Signal(int)  # alert id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertBanner")
        self.alert_id: int | None = None
        self.camera_names: dict[str, str] = {}  # the catalog's, set by the window
        self.text_label = QLabel()
        self.text_label.setObjectName("alertBannerText")
        self.review_button = QPushButton("Review")
        self.review_button.setAutoDefault(False)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setAutoDefault(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(self.review_button)
        layout.addWidget(self.dismiss_button)
        self.review_button.clicked.connect(self._review)
        self.dismiss_button.clicked.connect(self.dismiss)
        self.hide()

    def show_alert(self, alert: AlertRecord) -> None:
        self.alert_id = alert.alert_id
        title = alert_title(alert, self.camera_names)
        self.text_label.setText(f"Hotlist hit: {title}. Verify before acting.")
        self.show()

    def conceal(self) -> None:
        """The lock: the banner shows no alert."""
        self.dismiss()

    def dismiss(self) -> None:
        self.alert_id = None
        self.hide()

    def _review(self) -> None:
        if self.alert_id is not None:
            self.review_requested.emit(self.alert_id)
        self.dismiss()
