"""The main window: case and purpose bar, search, lazy results, image review, status."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
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
    SEARCH_OUTCOMES,
    AlertRecord,
    CameraInfo,
    CaseInfo,
    HubContact,
    JournalStatus,
    PurposeInfo,
    ReadRecord,
    ReviewMark,
    SavedSearch,
    SearchQuery,
    SessionInfo,
    SliceInfo,
    SyncResult,
    query_from_dict,
    query_to_dict,
)
from app.core.schemas import JustificationRequestPublic
from app.services.clock import Chore, Clock
from app.ui.dialogs.compare_dialog import CompareDialog
from app.ui.dialogs.export_dialog import EXPORT_ROLES, ExportDialog
from app.ui.dialogs.multi_place_dialog import MultiPlaceDialog
from app.ui.dialogs.review_dialogs import (
    EvidenceDialog,
    MisreadDialog,
    OutcomeDialog,
    SaveSearchDialog,
)
from app.ui.dialogs.slice_dialog import SliceDialog
from app.ui.errors import is_unreachable, user_message
from app.ui.formatting import count_of, file_size
from app.ui.idle import IdleWatcher
from app.ui.models.results_model import ResultsTableModel
from app.ui.operations import catalog as catalog_ops
from app.ui.operations import evidence as evidence_ops
from app.ui.operations import oversight as oversight_ops
from app.ui.operations import review as review_ops
from app.ui.operations import session as session_ops
from app.ui.operations import status as status_ops
from app.ui.widgets.alerts_panel import AlertBanner, AlertsPanel
from app.ui.widgets.case_bar import CaseBar
from app.ui.widgets.image_pane import ImagePane
from app.ui.widgets.lock_screen import LOCKING, LockScreen
from app.ui.widgets.results_view import ResultsView
from app.ui.widgets.review_queue_panel import (
    REVIEW_QUEUE_TAB,
    AnswerDialog,
    JustificationNotice,
    ReviewQueuePanel,
)
from app.ui.widgets.search_panel import SearchPanel, describe_search
from app.ui.widgets.sightings_panel import SightingsPanel
from app.ui.widgets.status_bar import DeskStatusBar
from app.ui.widgets.sync_panel import SyncPanel
from app.ui.workers import TaskRunner
from app.vision.plate_reader import PlateReader

if TYPE_CHECKING:
    from app.workstation import Workstation

log = logging.getLogger(__name__)

GATE_CHOOSE = "Choose a case and purpose to search"
GATE_NEED_SLICE = "Request the reads this case needs (Request reads…) before searching"
GATE_CHECKING = "Checking which reads this case has on this workstation…"
DEMO_BANNER = "Demo session: synthetic data on a local demo hub"
INSECURE_KEYRING = "Secrets are stored in a plaintext keyring (test backend)"
ONLINE = "Online"
OFFLINE = "Offline: working from this workstation's cache"
LOCKED_TITLE = "Platedesk — locked"
ALERTS_TAB = "Alerts"
CACHE_UNKNOWN = "Cache size: unknown"
# Who may do what in this window (the hub enforces the same; these only keep the menus honest).
REVIEW_ROLES = frozenset({"detective", "evidence_technician", "supervisor"})
OUTCOME_ROLES = frozenset({"detective", "supervisor"})
OVERSIGHT_ROLES = frozenset({"supervisor", "admin"})  # the review queue


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
        # The clock says when to check the hub (and send audit events) and when to purge.
        self.clock = clock or Clock()
        self._offline_message = ""  # the status bar message an offline failure left
        self._workstation = workstation
        self._runner = runner
        self._initial = (initial_case, initial_purpose)
        self._cases: list[CaseInfo] | None = None
        self._purposes: list[PurposeInfo] | None = None
        self._gate_request = 0
        self._closing = False
        self._last_query: SearchQuery | None = None
        self._restore_query_text = ""
        self._restore_search: SearchQuery | None = None
        self._slice_dialog_was_open = False
        self.compare_dialogs: list[CompareDialog] = []
        self.is_locked = False
        self.is_ready = False
        self.last_sync: datetime | None = None
        self.slice_dialog: SliceDialog | None = None
        self.export_dialog: ExportDialog | None = None
        self.review_dialog: EvidenceDialog | MisreadDialog | None = None
        self.outcome_dialog: OutcomeDialog | None = None
        self.save_search_dialog: SaveSearchDialog | None = None
        self.multi_place_dialog: MultiPlaceDialog | None = None
        self.cameras: list[CameraInfo] = []
        self._saved_request = 0
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
        self.justification_notice = JustificationNotice()
        self.answer_dialog: AnswerDialog | None = None
        self.justification_requests: list[JustificationRequestPublic] = []
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
        self._stack = QStackedWidget()
        self._stack.addWidget(self.workspace)
        self._stack.addWidget(self.lock_screen)
        self.setCentralWidget(self._stack)

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
        self._show_user(session)
        self.keyring_label.setVisible(session is not None and session.insecure_keyring)
        self._build_menus(dark_theme=dark_theme)
        self._apply_role(session)

        # -- wiring -----------------------------------------------------------
        self.case_bar.selection_changed.connect(self._selection_changed)
        self.case_bar.request_reads_clicked.connect(self.open_slice_dialog)
        self.search_panel.search_requested.connect(self._search)
        self.search_panel.results_outdated.connect(self._drop_results)
        self.results_model.search_finished.connect(self._search_finished)
        self.results_model.search_failed.connect(self._search_failed)
        self.results_view.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.image_pane.image_shown.connect(self.image_shown)
        self.image_pane.correction_accepted.connect(self.accept_reader_correction)
        self.image_pane.search_requested.connect(self.run_search)
        self.sync_panel.sync_started.connect(lambda _slice_id: self.sync_panel.show())
        self.sync_panel.sync_finished.connect(self._sync_finished)
        self.sync_panel.sync_failed.connect(self._sync_failed)
        self.sync_panel.hub_lost.connect(lambda message: self._set_connection(False, message))
        self.results_view.selectionModel().selectionChanged.connect(self._selection_rows_changed)
        self.lock_screen.unlock_requested.connect(self._unlock_requested)
        self.sightings_panel.associate_activated.connect(self.run_search)
        self.sightings_panel.multi_place_requested.connect(self.open_multi_place)
        self.search_panel.save_requested.connect(self.save_search)
        self.search_panel.saved_search_chosen.connect(self.run_saved_search)
        self.search_panel.saved_search_delete_requested.connect(self.delete_saved_search)
        self.alerts_panel.alert_arrived.connect(self._alert_arrived)
        self.alerts_panel.unacknowledged_changed.connect(self._alerts_waiting)
        self.alert_banner.review_requested.connect(self.review_alert)
        self.justification_notice.answer_requested.connect(self.open_answer)
        self.idle_watcher = IdleWatcher(_idle_ms(workstation), self)
        self.idle_watcher.idle.connect(self.lock_session)
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(_ms(self.clock.tick_s))
        self._clock_timer.timeout.connect(self.run_due_chores)

        self._set_gate(GATE_CHOOSE)
        self._load_reference_data()
        self.refresh_status()
        self.run_due_chores()  # the hub check is due at once
        self._clock_timer.start()
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
            workstation=self._workstation, runner=self._runner, case_number=case_number,
            parent=self,
        )  # fmt: skip
        self.export_dialog.show()
        return self.export_dialog

    def review_alert(self, alert_id: int) -> None:
        """Open the Alerts tab on one alert."""
        self.results_tabs.setCurrentWidget(self.alerts_panel)
        self.alerts_panel.select(alert_id)

    # -- menus and shortcuts ---------------------------------------------

    def _build_menus(self, *, dark_theme: bool) -> None:
        def action(
            text: str,
            keys: Sequence[QKeySequence | QKeySequence.StandardKey | str],
            slot: Callable[..., object],
            tip: str = "",
        ) -> QAction:
            item = QAction(text, self)
            item.setShortcuts([QKeySequence(key) for key in keys])
            item.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            if tip:
                item.setStatusTip(tip)
            item.triggered.connect(slot)
            self.addAction(item)
            return item

        self.find_action = action(
            "Find plate…", [QKeySequence.StandardKey.Find], self._focus_query, "Go to the search"
        )
        self.request_reads_action = action(
            "Request reads…", ["Ctrl+R"], self.open_slice_dialog, "Ask the hub for reads"
        )
        self.sync_action = action(
            "Sync now", ["F5"], self.sync_now, "Pull new reads of your slices, send audit events"
        )
        self.compare_action = action(
            "Compare the two selected reads",
            ["Ctrl+D"],
            self.compare_selected,
            "Select two reads (Ctrl+click) to see them side by side",
        )
        self.compare_action.setEnabled(False)
        self.lock_action = action(
            "Lock now", ["Ctrl+L"], self.lock_session, "Hide everything until you sign in again"
        )
        self.mark_evidence_action = action(
            "Mark as &evidence…",
            ["Ctrl+E"],
            self.mark_evidence,
            "Mark the selected read as evidence for the case",
        )
        self.mark_misread_action = action(
            "Mark as &misread…",
            ["Ctrl+M"],
            self.mark_misread,
            "Record the plate the image really shows",
        )
        self.sightings_action = action(
            "Sightings of this plate",
            ["Ctrl+T"],
            self.show_sightings,
            "Timeline, camera map and vehicles seen with the selected read's plate",
        )
        self.multi_place_action = action(
            "Multi-place search…",
            ["Ctrl+Shift+T"],
            self.open_multi_place,
            "Plates seen at every one of several places within a time window",
        )
        self.save_search_action = action(
            "Save search…", ["Ctrl+Shift+S"], self.save_search, "Keep this search with the case"
        )
        self.record_outcome_action = action(
            "Record outcome…",
            [],
            self.record_outcome,
            "Record what this case's searches led to",
        )
        self.export_action = action(
            "Export evidence packet…",
            ["Ctrl+Shift+E"],
            self.open_export,
            "Write the case's evidence as a signed packet a court can verify",
        )
        self.dark_theme_action = action("Dark theme", [], self._theme_toggled)
        self.dark_theme_action.setCheckable(True)
        self.dark_theme_action.setChecked(dark_theme)

        bar = self.menuBar()
        case_menu = bar.addMenu("&Case")
        for item in (self.find_action, self.request_reads_action, self.sync_action):
            case_menu.addAction(item)
        case_menu.addSeparator()
        case_menu.addAction(self.save_search_action)
        case_menu.addAction(self.record_outcome_action)
        case_menu.addAction(self.export_action)
        review_menu = bar.addMenu("&Review")
        pane = self.image_pane
        for item in (
            pane.fit_action,
            pane.actual_size_action,
            pane.zoom_in_action,
            pane.zoom_out_action,
        ):
            review_menu.addAction(item)
        review_menu.addSeparator()
        review_menu.addAction(pane.reset_action)
        review_menu.addAction(self.compare_action)
        review_menu.addSeparator()
        review_menu.addAction(self.mark_evidence_action)
        review_menu.addAction(self.mark_misread_action)
        analysis_menu = bar.addMenu("&Analysis")
        analysis_menu.addAction(self.sightings_action)
        analysis_menu.addAction(self.multi_place_action)
        self.review_buttons = pane.add_review_actions(
            [self.mark_evidence_action, self.mark_misread_action, self.sightings_action]
        )
        self.results_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for item in (
            self.sightings_action,
            self.mark_evidence_action,
            self.mark_misread_action,
            self.compare_action,
        ):
            self.results_view.addAction(item)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.dark_theme_action)
        self.sign_out_action = action(
            "Sign out", [], self.sign_out, "Sign out of the hub; the next user signs in here"
        )
        self.switch_user_action = action(
            "Switch user…",
            [],
            lambda: self.sign_out(switch=True),
            "Sign out, then sign in as another user (each user has a profile of their own)",
        )
        session_menu = bar.addMenu("&Session")
        session_menu.addAction(self.lock_action)
        session_menu.addSeparator()
        session_menu.addAction(self.switch_user_action)
        session_menu.addAction(self.sign_out_action)
        self._data_actions = (
            self.find_action,
            self.request_reads_action,
            self.sync_action,
            self.compare_action,
            pane.reset_action,
        )

    @property
    def role(self) -> str | None:
        session = self._workstation.session
        return None if session is None else session.role

    def _apply_role(self, session: SessionInfo | None) -> None:
        """Offer only what the signed-in role can use."""
        role = None if session is None else session.role
        for item in (self.mark_evidence_action, self.mark_misread_action):
            item.setVisible(role in REVIEW_ROLES)
        for button in self.review_buttons[:2]:
            button.setVisible(role in REVIEW_ROLES)
        self.record_outcome_action.setVisible(role in OUTCOME_ROLES)
        self.export_action.setVisible(role in EXPORT_ROLES)
        queue = self.results_tabs.indexOf(self.review_queue_panel)
        self.results_tabs.setTabVisible(queue, role in OVERSIGHT_ROLES)
        if role in OVERSIGHT_ROLES and not self.review_queue_panel.model.rowCount():
            self.review_queue_panel.refresh()
        self._update_actions()

    def _update_actions(self) -> None:
        """Enable the case actions that make sense now (read selected, case chosen, unlocked)."""
        if not hasattr(self, "record_outcome_action"):
            return  # still building the window
        open_case = not self.is_locked and self.case_bar.case_number is not None
        searchable = open_case and self.case_bar.purpose is not None and self.gate_reason is None
        read = self.image_pane.read
        role = self.role
        for item in (self.mark_evidence_action, self.mark_misread_action):
            item.setEnabled(open_case and read is not None and role in REVIEW_ROLES)
        self.sightings_action.setEnabled(searchable and read is not None)
        self.export_action.setEnabled(open_case and role in EXPORT_ROLES)
        self.multi_place_action.setEnabled(searchable)
        self.sightings_panel.multi_place_button.setEnabled(searchable)
        self.save_search_action.setEnabled(searchable)
        self.search_panel.saved_button.setEnabled(searchable)
        self.record_outcome_action.setEnabled(
            open_case and self.case_bar.purpose is not None and role in OUTCOME_ROLES
        )

    def _show_user(self, session: SessionInfo | None) -> None:
        if session is not None:
            self.user_label.setText(
                f"Signed in as {session.display_name} ({session.username}) · role: "
                f"{session.role.replace('_', ' ')}"
            )

    def _theme_toggled(self, dark: bool) -> None:
        from app.ui.style import apply_style

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_style(app, dark=dark)
        session_ops.set_dark_theme(
            workstation=self._workstation, runner=self._runner, dark=dark,
            on_failure=self._action_failed,
        )  # fmt: skip
        self.theme_changed.emit(dark)

    # -- reference data --------------------------------------------------

    def _load_reference_data(self) -> None:
        catalog_ops.load_reference_data(
            workstation=self._workstation, runner=self._runner, on_cases=self._cases_arrived,
            on_purposes=self._purposes_arrived, on_cameras=self._cameras_arrived,
            on_failure=self._reference_failed,
        )  # fmt: skip

    def _cameras_arrived(self, cameras: list[CameraInfo]) -> None:
        self.cameras = list(cameras)
        self.search_panel.set_cameras(cameras)
        self.sightings_panel.set_cameras(cameras)
        self.cameras_loaded.emit(len(cameras))

    def _cases_arrived(self, cases: list[CaseInfo]) -> None:
        self._cases = cases
        self.case_bar.set_cases(cases)
        self._maybe_ready()

    def _purposes_arrived(self, purposes: list[PurposeInfo]) -> None:
        self._purposes = purposes
        self.case_bar.set_purposes(purposes)
        self._maybe_ready()

    def _reference_failed(self, exc: BaseException) -> None:
        self._note_hub(exc)
        self.statusBar().showMessage(user_message(exc))

    def _maybe_ready(self) -> None:
        if self._cases is None or self._purposes is None or self.is_ready:
            return
        case_number, purpose = self._initial
        if case_number is not None or purpose is not None:
            if not self.case_bar.select(case_number=case_number, purpose=purpose):
                self.statusBar().showMessage(
                    f"Case {case_number} or purpose {purpose} is not among yours; choose them above."
                )
        elif len(self._cases) == 1:
            self.case_bar.select(case_number=self._cases[0].case_number)
        self.is_ready = True
        self.ready.emit()

    # -- the case gate ---------------------------------------------------

    @property
    def gate_reason(self) -> str | None:
        return self.search_panel.gate_reason

    def _set_gate(self, reason: str | None) -> None:
        changed = reason != self.search_panel.gate_reason
        self.search_panel.set_gate(reason)
        self._update_actions()
        if changed:
            self.gate_changed.emit(reason)

    def _selection_changed(self) -> None:
        case_number = self.case_bar.case_number
        self._last_query = None
        self.results_model.clear()
        self.count_label.clear()
        self.image_pane.case_number = case_number
        self.image_pane.show_read(None)
        self._sightings_plate = None
        self.sightings_panel.clear()
        if self.multi_place_dialog is not None:
            self.multi_place_dialog.close()
        title = f"Platedesk — case {case_number}" if case_number else "Platedesk"
        self.setWindowTitle(title)
        self.refresh_gate()
        self.load_saved_searches()

    def refresh_gate(self) -> None:
        """Searching needs a case, a purpose, and a slice of the case with reads synced."""
        self._gate_request += 1
        case_number, purpose = self.case_bar.case_number, self.case_bar.purpose
        if case_number is None or purpose is None:
            self._set_gate(GATE_CHOOSE)
            return
        if self.search_panel.gate_reason is not None:
            self._set_gate(GATE_CHECKING)
        request = self._gate_request
        catalog_ops.case_slices(
            workstation=self._workstation, runner=self._runner, case_number=case_number,
            on_success=lambda slices: self._slices_arrived(request, purpose, slices),
            on_failure=lambda exc: self._slices_failed(request, exc),
        )  # fmt: skip

    def _slices_arrived(self, request: int, purpose: str, slices: list[SliceInfo]) -> None:
        if request != self._gate_request:
            return
        synced = any(s.purpose == purpose and (s.complete or s.synced_reads > 0) for s in slices)
        self._set_gate(None if synced else GATE_NEED_SLICE)

    def _slices_failed(self, request: int, exc: BaseException) -> None:
        if request != self._gate_request:
            return
        self._set_gate(user_message(exc))

    # -- search ----------------------------------------------------------

    def _focus_query(self) -> None:
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
        self._start_search(query)

    def _start_search(self, query: SearchQuery) -> None:
        self._last_query = query
        self.count_label.setText("Searching…")
        self.results_tabs.setCurrentWidget(self.results_view)
        self.image_pane.show_read(None)
        self._update_actions()
        self.results_model.start_search(query)

    def _drop_results(self) -> None:
        """No rows and no count rather than ones that answer another search."""
        self._last_query = None
        self.results_model.clear()
        self.count_label.clear()
        self.image_pane.show_read(None)
        self._update_actions()

    def _search_finished(self, total: int) -> None:
        self.count_label.setText(count_of(total, "read"))
        self.search_finished.emit(total)
        self.refresh_status()

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
            self.refresh_status()
        else:
            self.image_pane.show_read(None)
        self._update_actions()

    def select_row(self, row: int) -> None:
        """Make `row` current, as a click or the arrow keys would."""
        self.results_view.selectRow(row)
        self.results_view.setFocus()

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.results_view.selectionModel().selectedRows())

    def _selection_rows_changed(self) -> None:
        # Enabled with any selection: with one read, Compare says why it needs two.
        self.compare_action.setEnabled(not self.is_locked and bool(self.selected_rows()))

    def compare_selected(self) -> CompareDialog | None:
        """Show the two selected reads side by side (non-modal)."""
        rows = self.selected_rows()
        if self.is_locked or len(rows) != 2:
            self.statusBar().showMessage(compare_hint(len(rows)), 8000)
            self.action_failed.emit(compare_hint(len(rows)))
            return None
        reads = (self.results_model.read_at(rows[0]), self.results_model.read_at(rows[1]))
        dialog = CompareDialog(
            workstation=self._workstation, runner=self._runner, reads=reads, parent=self
        )
        self.compare_dialogs.append(dialog)
        dialog.destroyed.connect(lambda _obj=None, d=dialog: self._forget_compare(d))
        dialog.show()
        return dialog

    def _forget_compare(self, dialog: CompareDialog) -> None:
        if dialog in self.compare_dialogs:
            self.compare_dialogs.remove(dialog)

    # -- review marks ------------------------------------------------------

    def _review_target(self) -> tuple[ReadRecord, str] | None:
        read, case_number = self.image_pane.read, self.case_bar.case_number
        if self.is_locked or read is None or case_number is None or self.role not in REVIEW_ROLES:
            self.statusBar().showMessage("Select a read of the case to mark it.", 5000)
            return None
        return read, case_number

    def _open_review_dialog(self, dialog: EvidenceDialog | MisreadDialog) -> None:
        if self.review_dialog is not None:
            self.review_dialog.deleteLater()
        self.review_dialog = dialog
        dialog.open()

    def mark_evidence(self) -> EvidenceDialog | None:
        """Ctrl+E: ask for a note, then mark the shown read as evidence for the case."""
        target = self._review_target()
        if target is None:
            return None
        read, case_number = target
        dialog = EvidenceDialog(read=read, case_number=case_number, parent=self)

        def submit() -> None:
            self.statusBar().showMessage("Recording the review mark…")
            evidence_ops.mark_evidence(
                workstation=self._workstation, runner=self._runner, read_id=read.read_id,
                case_number=case_number, note=dialog.note, on_success=self._marked,
                on_failure=self._action_failed,
            )  # fmt: skip

        dialog.accepted.connect(submit)
        self._open_review_dialog(dialog)
        return dialog

    def mark_misread(self) -> MisreadDialog | None:
        """Ctrl+M: ask for the plate the image shows and a note, then record the misread."""
        return self._misread_dialog(corrected_plate="", note="")

    def accept_reader_correction(self, plate: str, note: str) -> MisreadDialog | None:
        """The image pane's "Accept": the same misread record, the reader's plate prefilled."""
        return self._misread_dialog(corrected_plate=plate, note=note)

    def _misread_dialog(self, *, corrected_plate: str, note: str) -> MisreadDialog | None:
        target = self._review_target()
        if target is None:
            return None
        read, case_number = target
        dialog = MisreadDialog(read=read, case_number=case_number, parent=self)
        dialog.plate_edit.setText(corrected_plate)
        dialog.note_edit.setPlainText(note)

        def submit() -> None:
            self.statusBar().showMessage("Recording the review mark…")
            review_ops.mark_misread(
                workstation=self._workstation, runner=self._runner, read_id=read.read_id,
                case_number=case_number, corrected_plate=dialog.corrected_plate,
                note=dialog.note, on_success=self._marked, on_failure=self._action_failed,
            )  # fmt: skip

        dialog.accepted.connect(submit)
        self._open_review_dialog(dialog)
        return dialog

    def _marked(self, mark: ReviewMark) -> None:
        what = "evidence" if mark.kind == "evidence" else f"a misread of {mark.corrected_plate}"
        self.statusBar().showMessage(
            f"Marked read {mark.read_id} as {what} for case {mark.case_number}.", 8000
        )
        if self.image_pane.read is not None and self.image_pane.read.read_id == mark.read_id:
            self.image_pane.refresh_marks()
        self.results_model.add_mark(mark)
        self.refresh_status()
        self.review_marked.emit(mark)

    def _action_failed(self, exc: BaseException) -> None:
        message = user_message(exc)
        self._note_hub(exc)
        self.statusBar().showMessage(message, 10000)
        self.action_failed.emit(message)

    # -- outcomes ----------------------------------------------------------

    def record_outcome(self) -> OutcomeDialog | None:
        """Ask what the case's searches led to, then record it (journaled)."""
        case_number, purpose = self.case_bar.case_number, self.case_bar.purpose
        label = self.case_bar.purpose_label
        if self.is_locked or case_number is None or purpose is None or label is None:
            return None
        if self.role not in OUTCOME_ROLES:
            return None
        dialog = OutcomeDialog(case_number=case_number, purpose_label=label, parent=self)

        def submit() -> None:
            outcome = dialog.outcome
            review_ops.record_outcome(
                workstation=self._workstation, runner=self._runner, case_number=case_number,
                purpose=purpose, outcome=outcome, note=dialog.note,
                on_success=lambda _none: self._outcome_recorded(case_number, outcome),
                on_failure=self._action_failed,
            )  # fmt: skip

        dialog.accepted.connect(submit)
        if self.outcome_dialog is not None:
            self.outcome_dialog.deleteLater()
        self.outcome_dialog = dialog
        dialog.open()
        return dialog

    def _outcome_recorded(self, case_number: str, outcome: str) -> None:
        label = SEARCH_OUTCOMES.get(outcome, outcome)
        self.statusBar().showMessage(f"Outcome recorded for case {case_number}: {label}.", 8000)
        self.refresh_status()
        self.outcome_recorded.emit(outcome)

    # -- saved searches ------------------------------------------------------

    def load_saved_searches(self) -> None:
        """Refresh the search panel's list of the case's saved searches (cache lane)."""
        self._saved_request += 1
        case_number = self.case_bar.case_number
        if self.is_locked or case_number is None:
            self.search_panel.set_saved_searches([])
            return
        request = self._saved_request
        review_ops.load_saved_searches(
            workstation=self._workstation, runner=self._runner, case_number=case_number,
            on_success=lambda saved: self._saved_searches_arrived(request, saved),
            on_failure=self._action_failed,
        )  # fmt: skip

    def _saved_searches_arrived(self, request: int, saved: list[SavedSearch]) -> None:
        if request != self._saved_request or self.is_locked:
            return
        self.search_panel.set_saved_searches(saved)
        self.saved_searches_loaded.emit(len(saved))

    def save_search(self) -> SaveSearchDialog | None:
        """Ctrl+Shift+S: name the search now in the panel and keep it with the case."""
        case_number, purpose = self.case_bar.case_number, self.case_bar.purpose
        if self.is_locked or case_number is None or purpose is None:
            return None
        if not self.search_panel.can_search:
            self.statusBar().showMessage("Fix the search before saving it.", 5000)
            return None
        query = self.search_panel.build_query(case_number=case_number, purpose=purpose)
        dialog = SaveSearchDialog(
            case_number=case_number, summary=describe_search(query_to_dict(query)), parent=self
        )

        def submit() -> None:
            review_ops.save_search(
                workstation=self._workstation, runner=self._runner, name=dialog.name,
                query=query, on_success=self._search_saved, on_failure=self._action_failed,
            )  # fmt: skip

        dialog.accepted.connect(submit)
        if self.save_search_dialog is not None:
            self.save_search_dialog.deleteLater()
        self.save_search_dialog = dialog
        dialog.open()
        return dialog

    def _search_saved(self, saved: SavedSearch) -> None:
        self.statusBar().showMessage(f"Saved the search \u201c{saved.name}\u201d.", 8000)
        self.load_saved_searches()
        self.search_saved.emit(saved)

    def run_saved_search(self, saved: SavedSearch) -> None:
        """Fill the query field, misread toggle and filters from a saved search, and run it."""
        case_number, purpose = self.case_bar.case_number, self.case_bar.purpose
        if self.is_locked or case_number is None or purpose is None:
            return
        query = query_from_dict(saved.query, case_number=case_number, purpose=purpose)
        self.search_panel.apply_query(query)
        self.search_panel.submit()

    def delete_saved_search(self, saved: SavedSearch) -> None:
        if self.is_locked:
            return
        review_ops.delete_saved_search(
            workstation=self._workstation, runner=self._runner, saved_id=saved.saved_id,
            on_success=lambda _none: self._saved_search_deleted(saved),
            on_failure=self._action_failed,
        )  # fmt: skip

    def _saved_search_deleted(self, saved: SavedSearch) -> None:
        self.statusBar().showMessage(f"Deleted the saved search \u201c{saved.name}\u201d.", 8000)
        self.load_saved_searches()
        self.saved_search_deleted.emit(saved.saved_id)

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
            workstation=self._workstation,
            runner=self._runner,
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
            workstation=self._workstation,
            runner=self._runner,
            case_number=case_number,
            purpose=purpose,
            purpose_label=label,
            parent=self,
        )
        dialog.slice_created.connect(lambda _info: self.refresh_status())
        dialog.sync_finished.connect(self._sync_finished)
        dialog.request_failed.connect(lambda _message: self.refresh_status())
        if self.slice_dialog is not None and not self.slice_dialog.sync_panel.is_running:
            self.slice_dialog.deleteLater()
        self.slice_dialog = dialog
        dialog.open()
        return dialog

    def start_sync(self, slice_id: str) -> None:
        """Sync a slice with the progress bar in the status bar."""
        self.sync_panel.start(slice_id)

    def sync_now(self) -> None:
        """F5: pull every slice of the chosen case, then send the audit events."""
        if self.is_locked:
            return
        self.upload_journal()
        case_number = self.case_bar.case_number
        if case_number is None:
            self.statusBar().showMessage("Choose a case to sync its reads.", 5000)
            return
        catalog_ops.case_slices(
            workstation=self._workstation, runner=self._runner, case_number=case_number,
            on_success=self._sync_slices,
            on_failure=lambda exc: self.statusBar().showMessage(user_message(exc)),
        )  # fmt: skip

    def _sync_slices(self, slices: list[SliceInfo]) -> None:
        if self.is_locked or self.sync_panel.is_running:
            return
        now = datetime.now().astimezone()
        live = [s for s in slices if s.expires_at > now]
        if not live:
            self.statusBar().showMessage("This case has no current slice to sync.", 5000)
            return
        newest = max(live, key=lambda s: s.time_to)
        self.start_sync(newest.slice_id)

    def _sync_finished(self, result: SyncResult) -> None:
        self._set_connection(True)
        if not result.cancelled or result.reads:
            self.last_sync = datetime.now().astimezone()
            self.last_sync_label.setText(f"Last sync: {self.last_sync:%H:%M}")
        self.refresh_gate()
        self.refresh_status()
        self.upload_journal()
        self.sync_finished.emit(result)

    def _sync_failed(self, _message: str) -> None:
        self.refresh_status()

    # -- status ----------------------------------------------------------

    def refresh_status(self) -> None:
        """Re-read the journal (unsent audit events) and the size of the cache file."""
        if self._closing:
            return
        status_ops.journal_status(
            workstation=self._workstation, runner=self._runner, on_success=self._journal_arrived,
            on_failure=lambda exc: self.journal_label.setText(user_message(exc)),
        )  # fmt: skip
        status_ops.cache_size(
            workstation=self._workstation, runner=self._runner, on_done=self._cache_size_arrived
        )

    def _cache_size_arrived(self, size: int | None) -> None:
        self.cache_label.setText(CACHE_UNKNOWN if size is None else f"Cache: {file_size(size)}")
        self.cache_size_refreshed.emit(size)

    def _journal_arrived(self, status: JournalStatus) -> None:
        if status.pending:
            text = f"{count_of(status.pending, 'audit event')} not yet sent"
        else:
            text = "All audit events sent"
        if not status.chain_ok:
            text += " · audit chain problem"
            self.journal_label.setToolTip("\n".join(status.problems))
        self.journal_label.setText(text)
        self.journal_label.setProperty("warning", not status.chain_ok)
        self.journal_label.style().unpolish(self.journal_label)
        self.journal_label.style().polish(self.journal_label)
        self.status_refreshed.emit()

    def purge_expired(self) -> None:
        """Hourly: drop cached reads past retention (the engine's own clock, online or not)."""
        if self._closing:
            return
        status_ops.purge(
            workstation=self._workstation, runner=self._runner,
            on_success=lambda _counts: self.refresh_status(),
        )  # fmt: skip

    def run_due_chores(self) -> None:
        """The clock's tick: run what is due (the hub check and upload, the purge)."""
        for chore in self.clock.due():
            if chore is Chore.CHECK_HUB:
                self.upload_journal()
            elif chore is Chore.PURGE:
                self.purge_expired()

    def upload_journal(self) -> None:
        """The clock's tick: ask the hub whether it answers (within 5 s), then, online,
        send the unsent audit events. The status bar shows what the check found."""
        if self._closing:
            return
        status_ops.check_hub(
            workstation=self._workstation, runner=self._runner, on_success=self._hub_checked,
            on_failure=self._upload_failed,
        )  # fmt: skip

    def _hub_checked(self, contact: HubContact) -> None:
        if self._closing:
            return
        self._set_connection(contact.online, contact.detail)
        if not contact.online:
            self.refresh_status()
            return
        workstation = self._workstation
        if contact.at is not None and workstation.session is not None and not self.is_locked:
            status_ops.note_contact(workstation=workstation, runner=self._runner, at=contact.at)
        status_ops.upload(
            workstation=workstation, runner=self._runner, on_success=self._uploaded,
            on_failure=self._upload_failed,
        )  # fmt: skip
        self.check_questions()

    # -- a supervisor's questions about this user's searches -------------------

    def check_questions(self) -> None:
        """Ask the hub for the questions waiting for this user's answer (network lane);
        any shows a notice that does not block."""
        if self._closing or self.is_locked or self._workstation.session is None:
            return
        oversight_ops.load_inbox(
            workstation=self._workstation, runner=self._runner,
            on_success=self._questions_arrived, on_failure=self._questions_failed,
        )  # fmt: skip

    def _questions_arrived(self, requests: list[JustificationRequestPublic]) -> None:
        self.justification_requests = requests
        if not self.is_locked:
            self.justification_notice.show_requests(requests)
        self.questions_checked.emit(len(requests))

    def _questions_failed(self, exc: BaseException) -> None:
        self._note_hub(exc)  # offline: the next check asks again
        if not is_unreachable(exc):
            log.warning("the open questions could not be fetched (%s)", type(exc).__name__)

    def open_answer(self) -> AnswerDialog | None:
        """The oldest open question, in a dialog that does not block the desk."""
        if not self.justification_requests or self.is_locked:
            return None
        dialog = AnswerDialog(
            self.justification_requests[0], workstation=self._workstation,
            runner=self._runner, parent=self,
        )  # fmt: skip
        dialog.answered.connect(lambda _item_id: self.check_questions())
        self.answer_dialog = dialog
        dialog.show()
        return dialog

    def _uploaded(self, _sent: int) -> None:
        self.refresh_status()

    def _upload_failed(self, exc: BaseException) -> None:
        self._note_hub(exc)
        if not is_unreachable(exc):  # e.g. the hub's signed audit log failed its check
            self.statusBar().showMessage(user_message(exc))
        self.refresh_status()

    def _note_hub(self, exc: BaseException) -> None:
        """A failure whose kind says the hub could not be reached: the desk is offline."""
        if is_unreachable(exc):
            self._set_connection(False, user_message(exc))
            self._offline_message = user_message(exc)

    def _set_connection(self, online: bool, detail: str = "") -> None:
        """Show what the last contact found; offline, look for the hub more often."""
        self.connection_label.setText(ONLINE if online else OFFLINE)
        self.connection_label.setToolTip(detail)
        self.connection_label.setProperty("offline", not online)
        self.connection_label.style().unpolish(self.connection_label)
        self.connection_label.style().polish(self.connection_label)
        if online and self._offline_message:
            if self.statusBar().currentMessage() == self._offline_message:
                self.statusBar().clearMessage()  # "cannot reach the hub" is over
            self._offline_message = ""
        self.clock.contact(online=online)
        if self._clock_timer.interval() != _ms(self.clock.tick_s):
            self._clock_timer.setInterval(_ms(self.clock.tick_s))
        self.connection_changed.emit(online)

    @property
    def online(self) -> bool:
        return self.connection_label.text() == ONLINE

    # -- idle lock -------------------------------------------------------

    def lock_session(self) -> None:
        """Cover the window at once, drop every read from the widgets, then lock the engine."""
        if self.is_locked or self._closing:
            return
        self.is_locked = True
        self.idle_watcher.stop()
        # What to bring back after unlock: the search text and the search itself.
        self._restore_query_text = self.query_edit.text()
        self._restore_search = self._last_query
        self._stack.setCurrentWidget(self.lock_screen)
        self.results_model.clear()
        self.count_label.clear()
        self.image_pane.show_read(None)
        self.query_edit.clear()
        for dialog in list(self.compare_dialogs):
            dialog.close()
        self.sightings_panel.clear()
        self.alerts_panel.stop()
        self.alert_banner.dismiss()
        self.search_panel.set_saved_searches([])
        for other in (
            self.review_dialog,
            self.outcome_dialog,
            self.save_search_dialog,
            self.multi_place_dialog,
        ):
            if other is not None:
                other.reject()
        self._slice_dialog_was_open = bool(self.slice_dialog and self.slice_dialog.isVisible())
        if self.export_dialog is not None:
            if self.export_dialog.is_exporting:
                self.export_dialog.hide()  # the export goes on; shown again after unlock
            else:
                self.export_dialog.close()
                self.export_dialog = None
        if self.slice_dialog is not None:
            self.slice_dialog.hide()
        for item in self._data_actions:
            item.setEnabled(False)
        self.menuBar().setEnabled(False)  # while locked, no menu opens
        self._update_actions()
        self.setWindowTitle(LOCKED_TITLE)
        self.lock_screen.set_session(self._workstation.session)
        self.lock_screen.reset()
        self.lock_screen.set_busy(True, LOCKING)
        session_ops.lock(
            workstation=self._workstation, runner=self._runner,
            on_success=lambda _none: self._engine_locked(), on_failure=self._lock_failed,
        )  # fmt: skip

    def _engine_locked(self) -> None:
        self.lock_screen.set_busy(False)
        self.lock_screen.password_edit.setFocus()
        self.session_locked.emit()

    def _lock_failed(self, exc: BaseException) -> None:
        # The screen stays locked: unlocking re-authenticates at the hub either way.
        log.warning("the session could not be locked in the engine: %s", exc)
        self._engine_locked()

    def _unlock_requested(self, password: str, code: str) -> None:
        session_ops.unlock(
            workstation=self._workstation, runner=self._runner, password=password, totp=code,
            on_success=self._unlocked, on_failure=self._unlock_refused,
        )  # fmt: skip

    def _unlock_refused(self, exc: BaseException) -> None:
        message = user_message(exc)
        self._note_hub(exc)
        self.lock_screen.show_error(message)
        self.unlock_failed.emit(message)

    def _unlocked(self, session: SessionInfo) -> None:
        self.is_locked = False
        self._show_user(session)
        self.lock_screen.reset()
        self.lock_screen.set_busy(False)
        for item in self._data_actions:
            item.setEnabled(True)
        self.menuBar().setEnabled(True)
        self._selection_rows_changed()
        self._apply_role(session)
        self.load_saved_searches()
        if self._sightings_plate is not None and self.sightings_shown:
            self.show_sightings(self._sightings_plate)
        case_number = self.case_bar.case_number
        self.setWindowTitle(f"Platedesk — case {case_number}" if case_number else "Platedesk")
        self._stack.setCurrentWidget(self.workspace)
        self.query_edit.setText(self._restore_query_text)
        if self.slice_dialog is not None and self._slice_dialog_was_open:
            self.slice_dialog.show()
        if self.export_dialog is not None:
            self.export_dialog.show()
        search, self._restore_search = self._restore_search, None
        if search is not None:
            self._start_search(search)
        self.idle_watcher.start()
        self.refresh_status()
        self.alerts_panel.start()
        self.session_unlocked.emit()

    # -- signing out -----------------------------------------------------

    def sign_out(self, *, switch: bool = False) -> None:
        """Sign out (journaled, delivered, tokens removed), then close the window; the
        application then asks who signs in next (`signed_out`)."""
        if self._closing or self.is_locked:
            return
        self.menuBar().setEnabled(False)
        self.statusBar().showMessage("Signing out…")
        session_ops.sign_out(
            workstation=self._workstation, runner=self._runner,
            on_success=lambda _none: self._signed_out(switch), on_failure=self._sign_out_failed,
        )  # fmt: skip

    def _signed_out(self, switch: bool) -> None:
        self.signed_out.emit(switch)
        self.close()

    def _sign_out_failed(self, exc: BaseException) -> None:
        self.menuBar().setEnabled(True)
        self._action_failed(exc)

    # -- closing ---------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop background work that can stop; the runner waits for the rest."""
        self._closing = True
        self.idle_watcher.stop()
        self._clock_timer.stop()
        self.alerts_panel.stop()
        self.sync_panel.cancel()
        if self.slice_dialog is not None:
            self.slice_dialog.sync_panel.cancel()
        if self.export_dialog is not None:
            self.export_dialog.cancel()
        super().closeEvent(event)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _idle_ms(workstation: Workstation) -> int:
    """The engine's idle-lock time in milliseconds (0: off when the engine has none)."""
    seconds = getattr(workstation, "idle_lock_seconds", 0)
    return int(seconds) * 1000
