"""Screenshots of the supervisor desk's insights, audit trail browser and charts
(`make screenshots`): each panel loaded from the hub as the supervisor sees it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QWidget

from app.core.errors import KnownError
from app.ui.widgets.audit_browser_panel import AuditBrowserPanel
from app.ui.widgets.charts_panel import ChartsPanel
from app.ui.widgets.insights_panel import InsightsPanel
from app.ui.workers import TaskRunner

if TYPE_CHECKING:
    from app.workstation import Workstation

SIZE = (1440, 900)
TIMEOUT_S = 60.0


def _wait(signal_fired: list[object], timeout_s: float = TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    while not signal_fired:
        if time.monotonic() > deadline:
            return False
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    return True


def _run(start: Callable[[], None], *signals: object) -> bool:
    """Start the work and wait until one of the signals (done or failed) fires."""
    fired: list[object] = []
    for signal in signals:
        signal.connect(lambda *args: fired.append(args))  # type: ignore[attr-defined]
    start()
    return _wait(fired)


def _save(widget: QWidget, path: Path) -> None:
    loop = QEventLoop()
    QTimer.singleShot(200, loop.quit)
    loop.exec()
    if not widget.grab().save(str(path)):
        raise KnownError(f"Could not write the screenshot {path}.")
    print(f"wrote {path}")


def render_desk_screens(*, workstation: Workstation, runner: TaskRunner, directory: Path) -> None:
    """insights.png (the busiest user with a repeated plate chosen), audit.png (that
    insight's events, and every device chain checked), charts.png."""
    directory.mkdir(parents=True, exist_ok=True)
    insights = InsightsPanel(workstation=workstation, runner=runner)
    browser = AuditBrowserPanel(workstation=workstation, runner=runner)
    charts = ChartsPanel(workstation=workstation, runner=runner)
    insights.events_requested.connect(browser.show_events)
    try:
        for panel in (insights, browser, charts):
            panel.resize(*SIZE)
            panel.show()
        _run(insights.refresh, insights.loaded, insights.failed)
        chosen = next(
            (o for o in insights.model.records if o.repeat_targets or o.isolated_sessions), None
        )
        if chosen is not None:
            insights.select_user(chosen.username)
            insights.select_insight(
                "repeat_target" if chosen.repeat_targets else "isolated_session"
            )
        _save(insights, directory / "insights.png")
        if insights.current_insight is not None:
            _run(insights.open_events, browser.searched, browser.failed)
        else:
            _run(browser.search, browser.searched, browser.failed)
        if browser.events.rowCount():
            browser.table.selectRow(0)
        _run(browser.check_chains, browser.chains_loaded, browser.failed)
        _save(browser, directory / "audit.png")
        _run(charts.refresh, charts.loaded, charts.failed)
        _save(charts, directory / "charts.png")
    finally:
        for panel in (insights, browser, charts):
            panel.close()
            panel.deleteLater()
