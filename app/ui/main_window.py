"""The main window: case and purpose bar, search, lazy results, image review, status."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.plates import PlatePattern
from app.core.records import (
    AlertRecord,
    CameraInfo,
    SearchQuery,
    SessionInfo,
)
from app.services.clock import Clock
from app.ui.desk.actions import OVERSIGHT_ROLES, DeskActions
from app.ui.desk.case_flow import GATE_CHOOSE, CaseFlow
from app.ui.desk.chores import HubChores
from app.ui.desk.lock_flow import Concealable, LockFlow
from app.ui.desk.review_flow import ReviewFlow
from app.ui.dialogs.compare_dialog import CompareDialog
from app.ui.dialogs.export_dialog import EXPORT_ROLES, ExportDialog
from app.ui.dialogs.multi_place_dialog import MultiPlaceDialog
from app.ui.dialogs.slice_dialog import SliceDialog
from app.ui.formatting import count_of
from app.ui.idle import IdleWatcher
from app.ui.models.results_model import ResultsTableModel
from app.ui.widgets.alerts_panel import AlertBanner, AlertsPanel
from app.ui.widgets.case_bar import CaseBar
from app.ui.widgets.desk_tabs import DeskTabs
from app.ui.widgets.evidence_desk import EVIDENCE_TAB, EvidenceDeskPanel
from app.ui.widgets.image_pane import ImagePane
from app.ui.widgets.lock_screen import LockScreen
from app.ui.widgets.results_view import ResultsView
from app.ui.widgets.review_queue_panel import (
    REVIEW_QUEUE_TAB,
    JustificationNotice,
    ReviewQueuePanel,
)
from app.ui.widgets.search_panel import SearchPanel
from app.ui.widgets.sightings_panel import SightingsPanel
from app.ui.widgets.status_bar import DeskStatusBar
from app.ui.widgets.sync_panel import SyncPanel
from app.ui.widgets.transparency_panel import TRANSPARENCY_TAB, TransparencyPanel
from app.ui.workers import TaskRunner
from app.vision.plate_reader import PlateReader

if TYPE_CHECKING:
    from app.workstation import Workstation

log = logging.getLogger(__name__)

DEMO_BANNER = "Demo session: synthetic data on a local demo hub"
INSECURE_KEYRING = "Secrets are stored in a plaintext keyring (test backend)"
ALERTS_TAB = "Alerts"


def compare_hint(selected: int) -> str:
    """Why Compare cannot run with this many reads selected."""
    if selected == 1:
        return "Compare shows two reads side by side: Ctrl+click a second read, then Compare."
    if selected > 2:
        return f"Compare shows two reads side by side; {selected} are selected: keep two."
    return "Select two reads (Ctrl+click) to compare them."


class MainWindow(QMainWindow):
    """Everything an investigator needs for one case: request reads, search, review."""

    ready = Signal()  # cases and purposes are in the bar
    gate_changed = Signal(object)  # why searching is unavailable, or None
    search_finished = Signal(int)  # the result count of a search
    sync_finished = Signal(object)  # SyncResult of a sync started here or in the slice dialog
    image_shown = Signal(str)  # read id
    status_refreshed = Signal()  # the unsent-events count was refreshed
    connection_changed = Signal(bool)  # online: what the last contact with the hub found
    cache_size_refreshed = Signal(object)  # bytes, or None when unknown
    cameras_loaded = Signal(int)
    session_locked = Signal()  # the engine has locked the session (the screen locks at once)
    signed_out = Signal(bool)  # the user signed out (True: to sign in as another user)
    session_unlocked = Signal()
    unlock_failed = Signal(str)  # the message shown on the lock screen
    theme_changed = Signal(bool)  # dark
    review_marked = Signal(object)  # ReviewMark the engine recorded
    outcome_recorded = Signal(str)  # outcome code
    search_saved = Signal(object)  # SavedSearch
    saved_search_deleted = Signal(int)  # saved id
    saved_searches_loaded = Signal(int)  # how many the case has
    action_failed = Signal(str)  # a review, outcome or saved-search call failed: the message
    questions_checked = Signal(int)  # open justification requests for this user

    def __init__(
        self,
        workstation: Workstation,
        runner: TaskRunner,
        *,
        demo: bool = False,
        initial_case: str | None = None,
        initial_purpose: str | None = None,
        plate_reader: PlateReader | None = None,
        dark_theme: bool = False,
        clock: Clock | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.workstation = workstation
        self.runner = runner
        self.closing = False
        self.last_query: SearchQuery | None = None
        self.compare_dialogs: list[CompareDialog] = []
        self.is_locked = False
        self.is_ready = False
        self.slice_dialog: SliceDialog | None = None
        self.export_dialog: ExportDialog | None = None
        self.multi_place_dialog: MultiPlaceDialog | None = None
        self.cameras: list[CameraInfo] = []
        self._sightings_plate: str | None = None
        self.setWindowTitle("Platedesk")
        self.resize(1360, 840)

        # -- top: demo banner, case bar, search ------------------------------
        self.demo_banner = QLabel(DEMO_BANNER)
        self.demo_banner.setObjectName("demoBanner")
        self.demo_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.demo_banner.setVisible(demo)
        self.case_bar = CaseBar()
        self.search_panel = SearchPanel()
        self.query_edit = self.search_panel.query_edit
        self.search_button = self.search_panel.search_button
        self.count_label = self.search_panel.count_label
        self.pattern_error_label = self.search_panel.pattern_error_label
        self.gate_label = self.search_panel.gate_label

        # -- middle: results and the image pane ------------------------------
        self.results_model = ResultsTableModel(workstation=workstation, runner=runner, parent=self)
        self.results_view = ResultsView(self.results_model)
        self.image_pane = ImagePane(
            workstation=workstation, runner=runner, plate_reader=plate_reader
        )

        # Results and the sightings of a plate share the left side, as tabs.
        self.sightings_panel = SightingsPanel(workstation=workstation, runner=runner)
        self.results_tabs = QTabWidget()
        self.results_tabs.setObjectName("resultsTabs")
        self.results_tabs.setDocumentMode(True)
        self.results_tabs.addTab(self.results_view, "Results")
        self.results_tabs.addTab(self.sightings_panel, "Sightings")
        self.alerts_panel = AlertsPanel(workstation=workstation, runner=runner)
        self.results_tabs.addTab(self.alerts_panel, ALERTS_TAB)
        self.alert_banner = AlertBanner()
        self.review_queue_panel = ReviewQueuePanel(workstation=workstation, runner=runner)
        self.results_tabs.addTab(self.review_queue_panel, REVIEW_QUEUE_TAB)
        # Operator insights, Audit trail and Charts: supervisors and administrators.
        self.desk_tabs = DeskTabs(self.results_tabs, workstation=workstation, runner=runner)
        self.desk_tabs.insights.filed.connect(lambda _item: self.review_queue_panel.refresh())
        self.transparency_panel = TransparencyPanel(workstation=workstation, runner=runner)
        self.results_tabs.addTab(self.transparency_panel, TRANSPARENCY_TAB)
        # The case's evidence from every workstation (issue 22); custodians decide holds.
        self.evidence_panel = EvidenceDeskPanel(workstation=workstation, runner=runner)
        self.results_tabs.addTab(self.evidence_panel, EVIDENCE_TAB)
        self.justification_notice = JustificationNotice()
        # The supervisor's desk takes the whole width: the search and the image pane are
        # the investigator's and stand aside while one of its tabs is open.
        self.oversight_panels: tuple[QWidget, ...] = (
            self.review_queue_panel,
            self.desk_tabs.insights,
            self.desk_tabs.audit,
            self.desk_tabs.charts,
            self.transparency_panel,
        )
        self.results_tabs.currentChanged.connect(self._tab_changed)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.results_tabs)
        splitter.addWidget(self.image_pane)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([880, 520])
        splitter.setChildrenCollapsible(False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.demo_banner)
        layout.addWidget(self.case_bar)
        layout.addWidget(self.search_panel)
        self.sync_panel = SyncPanel(workstation=workstation, runner=runner)
        self.sync_panel.setObjectName("syncStrip")
        self.sync_panel.hide()
        self.progress_bar = self.sync_panel.progress_bar
        self.cancel_button = self.sync_panel.cancel_button
        body = QVBoxLayout()
        body.setContentsMargins(12, 4, 12, 8)
        body.setSpacing(6)
        body.addWidget(self.alert_banner)
        body.addWidget(self.justification_notice)
        body.addWidget(splitter, 1)
        body.addWidget(self.sync_panel)
        layout.addLayout(body, 1)
        self.workspace = central
        self.lock_screen = LockScreen()
        self.lock_screen.set_session(workstation.session)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.workspace)
        self.stack.addWidget(self.lock_screen)
        self.setCentralWidget(self.stack)

        # -- status bar -------------------------------------------------------
        self.connection_label = QLabel("Connecting…")
        self.connection_label.setObjectName("connectionLabel")
        self.user_label = QLabel()
        self.journal_label = QLabel("Audit events: checking…")
        self.last_sync_label = QLabel("Not synced in this session")
        self.cache_label = QLabel("Cache size: checking…")
        self.cache_label.setObjectName("cacheLabel")
        self.keyring_label = QLabel(INSECURE_KEYRING)
        self.keyring_label.setObjectName("warningLabel")
        status = DeskStatusBar()  # the message and the connection state never cut off
        self.setStatusBar(status)
        for label in (self.connection_label, self.keyring_label):
            status.add_essential(label)
        for label in (self.user_label, self.journal_label, self.last_sync_label, self.cache_label):
            status.add_detail(label)
        session = workstation.session
        self.show_user(session)
        self.keyring_label.setVisible(session is not None and session.insecure_keyring)
        self.idle_watcher = IdleWatcher(_idle_ms(workstation), self)

        # -- the flows: review, the hub's chores, the lock; then the actions -----
        self.review_flow = ReviewFlow(self)
        self.case_flow = CaseFlow(self, initial_case=initial_case, initial_purpose=initial_purpose)
        self.chores = HubChores(self, clock or Clock())
        self.lock_flow = LockFlow(self)
        self.desk_actions = DeskActions(self, dark_theme=dark_theme)
        self.desk_actions.apply_role(session)
        if self.role in OVERSIGHT_ROLES:
            self.results_tabs.setCurrentWidget(self.review_queue_panel)  # a supervisor's desk
        # What the lock empties: every widget and model that shows case data.
        self.data_holders: tuple[Concealable, ...] = (
            self.results_model,
            self.image_pane,
            self.search_panel,
            self.sightings_panel,
            self.alerts_panel,
            self.alert_banner,
            self.review_queue_panel,
            self.desk_tabs,
            self.justification_notice,
            self.evidence_panel,
        )

        # -- wiring -----------------------------------------------------------
        self.case_bar.selection_changed.connect(self.case_flow.selection_changed)
        self.case_bar.request_reads_clicked.connect(self.open_slice_dialog)
        self.search_panel.search_requested.connect(self._search)
        self.search_panel.results_outdated.connect(self._drop_results)
        self.results_model.search_finished.connect(self._search_finished)
        self.results_model.search_failed.connect(self._search_failed)
        self.results_view.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.image_pane.image_shown.connect(self.image_shown)
        self.image_pane.correction_accepted.connect(self.review_flow.accept_reader_correction)
        self.image_pane.search_requested.connect(self.run_search)
        self.sync_panel.sync_started.connect(lambda _slice_id: self.sync_panel.show())
        self.sync_panel.sync_finished.connect(self.chores.sync_finished)
        self.sync_panel.sync_failed.connect(lambda _message: self.chores.refresh_status())
        self.sync_panel.hub_lost.connect(lambda message: self.chores.set_connection(False, message))
        self.results_view.selectionModel().selectionChanged.connect(self.desk_actions.update)
        self.lock_screen.unlock_requested.connect(self.lock_flow.unlock_requested)
        self.sightings_panel.associate_activated.connect(self.run_search)
        self.sightings_panel.multi_place_requested.connect(self.open_multi_place)
        self.search_panel.save_requested.connect(self.review_flow.save_search)
        self.search_panel.saved_search_chosen.connect(self.review_flow.run_saved_search)
        self.search_panel.saved_search_delete_requested.connect(
            self.review_flow.delete_saved_search
        )
        self.alerts_panel.alert_arrived.connect(self._alert_arrived)
        self.alerts_panel.unacknowledged_changed.connect(self._alerts_waiting)
        self.alert_banner.review_requested.connect(self.review_alert)
        self.justification_notice.answer_requested.connect(self.chores.open_answer)
        self.idle_watcher.idle.connect(self.lock_flow.lock)

        self.case_flow.set_gate(GATE_CHOOSE)
        self.case_flow.load_reference_data()
        self.chores.refresh_status()
        self.chores.run_due_chores()  # the hub check is due at once
        self.chores.timer.start()
        self.idle_watcher.start()
        if workstation.session is not None:
            self.alerts_panel.start()

    # -- hotlist alerts --------------------------------------------------

    def _alert_arrived(self, alert: AlertRecord) -> None:
        """A new hit: say so without blocking, and flash the taskbar entry."""
        if self.is_locked:
            return
        self.alert_banner.show_alert(alert)
        QApplication.alert(self)

    def _alerts_waiting(self, count: int) -> None:
        index = self.results_tabs.indexOf(self.alerts_panel)
        self.results_tabs.setTabText(index, f"{ALERTS_TAB} ({count})" if count else ALERTS_TAB)

    # -- evidence export -------------------------------------------------

    def open_export(self) -> ExportDialog | None:
        """The technician's export of the chosen case's evidence (non-modal)."""
        case_number = self.case_bar.case_number
        if case_number is None or self.is_locked or self.role not in EXPORT_ROLES:
            return None
        if self.export_dialog is not None and self.export_dialog.is_exporting:
            self.export_dialog.show()
            self.export_dialog.raise_()
            return self.export_dialog
        self.export_dialog = ExportDialog(
            workstation=self.workstation, runner=self.runner, case_number=case_number,
            parent=self,
        )  # fmt: skip
        self.export_dialog.show()
        return self.export_dialog

    def _tab_changed(self, _index: int) -> None:
        oversight = self.results_tabs.currentWidget() in self.oversight_panels
        self.search_panel.setVisible(not oversight)
        self.image_pane.setVisible(not oversight)

    def review_alert(self, alert_id: int) -> None:
        """Open the Alerts tab on one alert."""
        self.results_tabs.setCurrentWidget(self.alerts_panel)
        self.alerts_panel.select(alert_id)

    # -- who is signed in -------------------------------------------------

    @property
    def role(self) -> str | None:
        session = self.workstation.session
        return None if session is None else session.role

    def show_user(self, session: SessionInfo | None) -> None:
        if session is not None:
            self.user_label.setText(
                f"Signed in as {session.display_name} ({session.username}) · role: "
                f"{session.role.replace('_', ' ')}"
            )

    # -- the case gate (app.ui.desk.case_flow) ------------------------------

    @property
    def gate_reason(self) -> str | None:
        return self.search_panel.gate_reason

    def refresh_gate(self) -> None:
        self.case_flow.refresh_gate()

    # -- search ----------------------------------------------------------

    def focus_query(self) -> None:
        self.query_edit.setFocus()
        self.query_edit.selectAll()

    def run_search(self, text: str | None = None) -> None:
        """Search for `text` (or what is in the field) as if the user pressed Enter."""
        if text is not None:
            self.query_edit.setText(text)
        self.search_panel.submit()

    def _search(self, pattern: PlatePattern | None) -> None:
        case_number, purpose = self.case_bar.case_number, self.case_bar.purpose
        if case_number is None or purpose is None:
            return
        query = self.search_panel.build_query(case_number=case_number, purpose=purpose)
        self.start_search(query)

    def start_search(self, query: SearchQuery) -> None:
        self.last_query = query
        self.count_label.setText("Searching…")
        self.results_tabs.setCurrentWidget(self.results_view)
        self.image_pane.show_read(None)
        self.desk_actions.update()
        self.results_model.start_search(query)

    def _drop_results(self) -> None:
        """No rows and no count rather than ones that answer another search."""
        self.last_query = None
        self.results_model.clear()
        self.count_label.clear()
        self.image_pane.show_read(None)
        self.desk_actions.update()

    def _search_finished(self, total: int) -> None:
        self.count_label.setText(count_of(total, "read"))
        self.search_finished.emit(total)
        self.chores.refresh_status()

    def _search_failed(self, message: str) -> None:
        self.count_label.setText("")
        self.statusBar().showMessage(message)

    def _current_row_changed(
        self,
        current: QModelIndex | QPersistentModelIndex,
        _previous: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if current.isValid() and current.row() < self.results_model.rowCount():
            self.image_pane.show_read(self.results_model.read_at(current.row()))
            self.chores.refresh_status()
        else:
            self.image_pane.show_read(None)
        self.desk_actions.update()

    def select_row(self, row: int) -> None:
        """Make `row` current, as a click or the arrow keys would."""
        self.results_view.selectRow(row)
        self.results_view.setFocus()

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.results_view.selectionModel().selectedRows())

    def compare_selected(self) -> CompareDialog | None:
        """Show the two selected reads side by side (non-modal)."""
        rows = self.selected_rows()
        if self.is_locked or len(rows) != 2:
            self.statusBar().showMessage(compare_hint(len(rows)), 8000)
            self.action_failed.emit(compare_hint(len(rows)))
            return None
        reads = (self.results_model.read_at(rows[0]), self.results_model.read_at(rows[1]))
        dialog = CompareDialog(
            workstation=self.workstation, runner=self.runner, reads=reads, parent=self
        )
        self.compare_dialogs.append(dialog)
        dialog.destroyed.connect(lambda _obj=None, d=dialog: self._forget_compare(d))
        dialog.show()
        return dialog

    def _forget_compare(self, dialog: CompareDialog) -> None:
        if dialog in self.compare_dialogs:
            self.compare_dialogs.remove(dialog)

    # -- sightings and multi-place ------------------------------------------

    def show_sightings(self, plate: str | None = None) -> None:
        """Ctrl+T: the Sightings tab for `plate` (by default the shown read's plate)."""
        case_number, purpose = self.case_bar.case_number, self.case_bar.purpose
        if self.is_locked or case_number is None or purpose is None or self.gate_reason:
            return
        if not plate:
            read = self.image_pane.read
            if read is None:
                self.statusBar().showMessage("Select a read to see its plate's sightings.", 5000)
                return
            plate = read.plate
        self._sightings_plate = plate
        self.results_tabs.setCurrentWidget(self.sightings_panel)
        self.sightings_panel.show_plate(plate=plate, case_number=case_number, purpose=purpose)

    @property
    def sightings_shown(self) -> bool:
        """Whether the Sightings tab is the one on screen."""
        return self.results_tabs.currentWidget() is self.sightings_panel

    def open_multi_place(self) -> MultiPlaceDialog | None:
        """Ctrl+Shift+T: plates seen at every one of several places (non-modal)."""
        case_number, purpose = self.case_bar.case_number, self.case_bar.purpose
        if self.is_locked or case_number is None or purpose is None or self.gate_reason:
            return None
        if self.multi_place_dialog is not None:
            self.multi_place_dialog.deleteLater()
        dialog = MultiPlaceDialog(
            workstation=self.workstation,
            runner=self.runner,
            case_number=case_number,
            purpose=purpose,
            cameras=self.cameras,
            parent=self,
        )
        self.multi_place_dialog = dialog
        dialog.plate_opened.connect(self.show_sightings)
        dialog.show()
        return dialog

    # -- slices and sync -------------------------------------------------

    def open_slice_dialog(self) -> SliceDialog | None:
        """The "Request reads…" dialog for the chosen case and purpose (window-modal)."""
        case_number, purpose = self.case_bar.case_number, self.case_bar.purpose
        label = self.case_bar.purpose_label
        if self.is_locked or case_number is None or purpose is None or label is None:
            return None
        dialog = SliceDialog(
            workstation=self.workstation,
            runner=self.runner,
            case_number=case_number,
            purpose=purpose,
            purpose_label=label,
            parent=self,
        )
        dialog.slice_created.connect(lambda _info: self.chores.refresh_status())
        dialog.sync_finished.connect(self.chores.sync_finished)
        dialog.request_failed.connect(lambda _message: self.chores.refresh_status())
        if self.slice_dialog is not None and not self.slice_dialog.sync_panel.is_running:
            self.slice_dialog.deleteLater()
        self.slice_dialog = dialog
        dialog.open()
        return dialog

    def start_sync(self, slice_id: str) -> None:
        """Sync a slice with the progress bar in the status bar."""
        self.sync_panel.start(slice_id)

    def forget_sightings(self) -> None:
        self._sightings_plate = None
        self.sightings_panel.clear()

    def restore_sightings(self) -> None:
        """After unlock: the plate whose sightings were on screen, shown again."""
        if self._sightings_plate is not None and self.sightings_shown:
            self.show_sightings(self._sightings_plate)

    # -- closing ---------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop background work that can stop; the runner waits for the rest."""
        self.closing = True
        self.idle_watcher.stop()
        self.chores.timer.stop()
        self.alerts_panel.stop()
        self.sync_panel.cancel()
        if self.slice_dialog is not None:
            self.slice_dialog.sync_panel.cancel()
        if self.export_dialog is not None:
            self.export_dialog.cancel()
        super().closeEvent(event)


def _idle_ms(workstation: Workstation) -> int:
    """The engine's idle-lock time in milliseconds (0: off when the engine has none)."""
    seconds = getattr(workstation, "idle_lock_seconds", 0)
    return int(seconds) * 1000
