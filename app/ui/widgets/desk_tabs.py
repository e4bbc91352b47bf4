"""The supervisor desk's tabs beside the review queue: Operator insights, Audit trail
and Charts, shown to supervisors and administrators only. An insight's "Open its
audit events" switches to the Audit trail showing them; each tab loads the first time
it is shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QTabWidget, QWidget

from app.ui.widgets.audit_browser_panel import AUDIT_TAB, AuditBrowserPanel
from app.ui.widgets.charts_panel import CHARTS_TAB, ChartsPanel
from app.ui.widgets.insights_panel import INSIGHTS_TAB, InsightsPanel
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

DESK_ROLES = frozenset({"supervisor", "admin"})


class DeskTabs:
    """The three panels, added to `tabs`; `apply_role` shows or hides them."""

    def __init__(self, tabs: QTabWidget, *, workstation: Workstation, runner: TaskRunner) -> None:
        self.tabs = tabs
        self.insights = InsightsPanel(workstation=workstation, runner=runner)
        self.audit = AuditBrowserPanel(workstation=workstation, runner=runner)
        self.charts = ChartsPanel(workstation=workstation, runner=runner)
        self._loaded: set[QWidget] = set()
        self._visible = False
        for panel, title in ((self.insights, INSIGHTS_TAB), (self.audit, AUDIT_TAB),
                             (self.charts, CHARTS_TAB)):  # fmt: skip
            tabs.addTab(panel, title)
            tabs.setTabVisible(tabs.indexOf(panel), False)
        self.insights.events_requested.connect(self._open_events)
        tabs.currentChanged.connect(self._shown)

    def apply_role(self, role: str | None) -> None:
        """Show the tabs to supervisors and administrators; the one open loads now."""
        self._visible = role in DESK_ROLES
        for panel in (self.insights, self.audit, self.charts):
            self.tabs.setTabVisible(self.tabs.indexOf(panel), self._visible)
        if not self._visible:
            self.conceal()
        else:
            self._shown(self.tabs.currentIndex())

    def conceal(self) -> None:
        """The lock (or another role): every panel emptied, loaded again when opened."""
        for panel in (self.insights, self.audit, self.charts):
            panel.conceal()
        self._loaded.clear()

    def _open_events(self, event_ids: list[str], label: str) -> None:
        self._loaded.add(self.audit)
        self.tabs.setCurrentWidget(self.audit)
        self.audit.show_events(event_ids, label)

    def _shown(self, index: int) -> None:
        panel = self.tabs.widget(index)
        if not self._visible or panel in self._loaded:
            return
        if panel is self.insights:
            self.insights.refresh()
        elif panel is self.charts:
            self.charts.refresh()
        elif panel is self.audit:
            self.audit.check_chains()
        else:
            return
        self._loaded.add(panel)
