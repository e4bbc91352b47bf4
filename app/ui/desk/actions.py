"""The desk's actions, menus and shortcuts, and which of them the signed-in role is offered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from app.core.records import SessionInfo
from app.ui.dialogs.export_dialog import EXPORT_ROLES
from app.ui.operations import session as session_ops

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

# Who may do what in this window (the hub enforces the same; these only keep the menus honest).
REVIEW_ROLES = frozenset({"detective", "evidence_technician", "supervisor"})
OUTCOME_ROLES = frozenset({"detective", "supervisor"})
OVERSIGHT_ROLES = frozenset({"supervisor", "admin"})  # the review queue, transparency
EVIDENCE_ROLES = frozenset({"detective", "evidence_technician", "supervisor"})  # the Evidence tab


class DeskActions:
    """Every action of the window, in its menus, the results' context menu and the
    image pane's buttons; `apply_role` and `update` keep them honest."""

    def __init__(self, window: MainWindow, *, dark_theme: bool) -> None:
        self._w = window
        review, flow, chores = window.review_flow, window.lock_flow, window.chores
        self.find = self._action(
            "Find plate…", [QKeySequence.StandardKey.Find], window.focus_query, "Go to the search"
        )
        self.request_reads = self._action(
            "Request reads…", ["Ctrl+R"], window.open_slice_dialog, "Ask the hub for reads"
        )
        self.sync = self._action(
            "Sync now", ["F5"], chores.sync_now, "Pull new reads of your slices, send audit events"
        )
        self.compare = self._action(
            "Compare the two selected reads",
            ["Ctrl+D"],
            window.compare_selected,
            "Select two reads (Ctrl+click) to see them side by side",
        )
        self.compare.setEnabled(False)
        self.lock = self._action(
            "Lock now", ["Ctrl+L"], flow.lock, "Hide everything until you sign in again"
        )
        self.mark_evidence = self._action(
            "Mark as &evidence…",
            ["Ctrl+E"],
            review.mark_evidence,
            "Mark the selected read as evidence for the case",
        )
        self.mark_misread = self._action(
            "Mark as &misread…", ["Ctrl+M"], review.mark_misread,
            "Record the plate the image really shows",
        )  # fmt: skip
        self.sightings = self._action(
            "Sightings of this plate",
            ["Ctrl+T"],
            window.show_sightings,
            "Timeline, camera map and vehicles seen with the selected read's plate",
        )
        self.multi_place = self._action(
            "Multi-place search…",
            ["Ctrl+Shift+T"],
            window.open_multi_place,
            "Plates seen at every one of several places within a time window",
        )
        self.save_search = self._action(
            "Save search…", ["Ctrl+Shift+S"], review.save_search, "Keep this search with the case"
        )
        self.record_outcome = self._action(
            "Record outcome…", [], review.record_outcome, "Record what this case's searches led to"
        )
        self.export = self._action(
            "Export evidence packet…",
            ["Ctrl+Shift+E"],
            window.open_export,
            "Write the case's evidence as a signed packet a court can verify",
        )
        self.dark_theme = self._action("Dark theme", [], self._theme_toggled)
        self.dark_theme.setCheckable(True)
        self.dark_theme.setChecked(dark_theme)
        self.sign_out = self._action(
            "Sign out", [], flow.sign_out, "Sign out of the hub; the next user signs in here"
        )
        self.switch_user = self._action(
            "Switch user…",
            [],
            lambda: flow.sign_out(switch=True),
            "Sign out, then sign in as another user (each user has a profile of their own)",
        )
        self._build_menus()
        # What the lock disables (the menu bar as a whole is disabled too).
        self.data_actions = (
            self.find,
            self.request_reads,
            self.sync,
            self.compare,
            window.image_pane.reset_action,
        )

    def _action(
        self,
        text: str,
        keys: Sequence[QKeySequence | QKeySequence.StandardKey | str],
        slot: Callable[..., object],
        tip: str = "",
    ) -> QAction:
        item = QAction(text, self._w)
        item.setShortcuts([QKeySequence(key) for key in keys])
        item.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            item.setStatusTip(tip)
        item.triggered.connect(slot)
        self._w.addAction(item)
        return item

    def _build_menus(self) -> None:
        window, pane = self._w, self._w.image_pane
        bar = window.menuBar()
        case_menu = bar.addMenu("&Case")
        for item in (self.find, self.request_reads, self.sync):
            case_menu.addAction(item)
        case_menu.addSeparator()
        for item in (self.save_search, self.record_outcome, self.export):
            case_menu.addAction(item)
        review_menu = bar.addMenu("&Review")
        for item in (pane.fit_action, pane.actual_size_action, pane.zoom_in_action):
            review_menu.addAction(item)
        review_menu.addAction(pane.zoom_out_action)
        review_menu.addSeparator()
        review_menu.addAction(pane.reset_action)
        review_menu.addAction(self.compare)
        review_menu.addSeparator()
        review_menu.addAction(self.mark_evidence)
        review_menu.addAction(self.mark_misread)
        analysis_menu = bar.addMenu("&Analysis")
        analysis_menu.addAction(self.sightings)
        analysis_menu.addAction(self.multi_place)
        self.review_buttons = pane.add_review_actions(
            [self.mark_evidence, self.mark_misread, self.sightings]
        )
        window.results_view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for item in (self.sightings, self.mark_evidence, self.mark_misread, self.compare):
            window.results_view.addAction(item)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.dark_theme)
        session_menu = bar.addMenu("&Session")
        session_menu.addAction(self.lock)
        session_menu.addSeparator()
        session_menu.addAction(self.switch_user)
        session_menu.addAction(self.sign_out)

    def apply_role(self, session: SessionInfo | None) -> None:
        """Offer only what the signed-in role can use."""
        window = self._w
        role = None if session is None else session.role
        for item in (self.mark_evidence, self.mark_misread):
            item.setVisible(role in REVIEW_ROLES)
        for button in self.review_buttons[:2]:
            button.setVisible(role in REVIEW_ROLES)
        self.record_outcome.setVisible(role in OUTCOME_ROLES)
        self.export.setVisible(role in EXPORT_ROLES)
        queue = window.results_tabs.indexOf(window.review_queue_panel)
        window.results_tabs.setTabVisible(queue, role in OVERSIGHT_ROLES)
        evidence = window.results_tabs.indexOf(window.evidence_panel)
        window.results_tabs.setTabVisible(evidence, role in EVIDENCE_ROLES)
        window.evidence_panel.set_role(role)
        if role in OVERSIGHT_ROLES and not window.review_queue_panel.model.rowCount():
            window.review_queue_panel.refresh()
        window.desk_tabs.apply_role(role)
        transparency = window.results_tabs.indexOf(window.transparency_panel)
        window.results_tabs.setTabVisible(transparency, role in OVERSIGHT_ROLES)
        if role in OVERSIGHT_ROLES and window.transparency_panel.report is None:
            window.transparency_panel.refresh()
        self.update()

    def update(self) -> None:
        """Enable the case actions that make sense now (read selected, case chosen, unlocked)."""
        window = self._w
        case_bar = window.case_bar
        open_case = not window.is_locked and case_bar.case_number is not None
        searchable = open_case and case_bar.purpose is not None and window.gate_reason is None
        read = window.image_pane.read
        role = window.role
        for item in (self.mark_evidence, self.mark_misread):
            item.setEnabled(open_case and read is not None and role in REVIEW_ROLES)
        self.sightings.setEnabled(searchable and read is not None)
        self.export.setEnabled(open_case and role in EXPORT_ROLES)
        self.multi_place.setEnabled(searchable)
        window.sightings_panel.multi_place_button.setEnabled(searchable)
        self.save_search.setEnabled(searchable)
        window.search_panel.saved_button.setEnabled(searchable)
        self.record_outcome.setEnabled(
            open_case and case_bar.purpose is not None and role in OUTCOME_ROLES
        )
        self.compare.setEnabled(not window.is_locked and bool(window.selected_rows()))

    def set_data_enabled(self, enabled: bool) -> None:
        """The lock: no action on data (and no menu) until unlock."""
        for item in self.data_actions:
            item.setEnabled(enabled)
        self._w.menuBar().setEnabled(enabled)

    def _theme_toggled(self, dark: bool) -> None:
        from app.ui.style import apply_style

        window = self._w
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_style(app, dark=dark)
        session_ops.set_dark_theme(
            workstation=window.workstation, runner=window.runner, dark=dark,
            on_failure=window.review_flow.action_failed,
        )  # fmt: skip
        window.theme_changed.emit(dark)
