"""`platedesk --profile DIR --smoke-desk PATH` (the bundle's entry point only): open the
main window of the user signed in to DIR, show its Charts tab (the supervisor desk),
wait for the hub's figures, write the window to PATH as PNG and quit.

The packaged build's check that what a supervisor opens works frozen: the main window
with all its panels, Qt Charts and the libraries it links to, the bundled plate reader,
and a call to the hub. The profile must hold the session of a supervisor or an
administrator (`platedesk --profile DIR login ...` first). tests/packaging runs it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.workstation import Workstation

SIZE = (1440, 900)
TIMEOUT_S = 60.0
SETTLE_MS = 200  # lets the charts lay out and paint before the window is grabbed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="platedesk",
        description="Render the signed-in supervisor's main window on its Charts tab to a PNG.",
    )
    parser.add_argument("--profile", metavar="DIR", type=Path, required=True)
    parser.add_argument("--smoke-desk", metavar="PATH", type=Path, required=True)
    args = parser.parse_args(argv)

    from app.core.errors import KnownError
    from app.logs import configure_logging
    from app.main import display_error
    from app.workstation import Workstation

    configure_logging()
    problem = display_error()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    try:
        workstation = Workstation.open(profile_dir=args.profile)
    except KnownError as exc:
        print(f"platedesk: {exc}", file=sys.stderr)
        return 1
    try:
        return _render(workstation, args.smoke_desk)
    except KnownError as exc:
        print(f"platedesk: {exc}", file=sys.stderr)
        return 1
    finally:
        workstation.close()


def _render(workstation: Workstation, path: Path) -> int:
    from PySide6.QtCore import (
        QEventLoop,
        QMessageLogContext,
        QTimer,
        QtMsgType,
        qInstallMessageHandler,
    )
    from PySide6.QtWidgets import QApplication

    from app.core.errors import KnownError
    from app.ui.main_window import MainWindow
    from app.ui.style import apply_style
    from app.ui.widgets.charts_panel import CHARTS_TAB
    from app.ui.workers import TaskRunner
    from app.vision.plate_reader import load_plate_reader

    session = workstation.session
    if session is None:
        print("platedesk: sign in first (platedesk --profile DIR login ...)", file=sys.stderr)
        return 1

    def qt_message_to_log(_mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
        logging.getLogger(f"qt.{context.category or 'default'}").info("%s", message)

    qInstallMessageHandler(qt_message_to_log)  # the offscreen platform's notes: to the log
    app = QApplication(["platedesk"])
    apply_style(app)

    def wait_until(done: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout_s
        loop = QEventLoop()
        while not done():
            if time.monotonic() > deadline:
                return False
            QTimer.singleShot(20, loop.quit)
            loop.exec()
        return True

    runner = TaskRunner()
    window = MainWindow(workstation, runner, plate_reader=load_plate_reader())
    try:
        window.idle_watcher.stop()
        window.resize(*SIZE)
        window.show()
        if not wait_until(lambda: window.is_ready):
            print("platedesk: the cases and purposes did not load in time", file=sys.stderr)
            return 1
        tabs, charts = window.results_tabs, window.desk_tabs.charts
        if not tabs.isTabVisible(tabs.indexOf(charts)):
            print(f"platedesk: no {CHARTS_TAB} tab for the role {session.role}", file=sys.stderr)
            return 1
        outcome: list[str] = []
        charts.loaded.connect(lambda: outcome.append(""))
        charts.failed.connect(outcome.append)
        tabs.setCurrentWidget(charts)  # the first showing loads the charts from the hub
        if not wait_until(lambda: bool(outcome)):
            print("platedesk: the charts did not load in time", file=sys.stderr)
            return 1
        if outcome[0]:
            print(f"platedesk: {outcome[0]}", file=sys.stderr)
            return 1
        wait_until(lambda: False, SETTLE_MS / 1000)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(path), "PNG"):
            raise KnownError(f"Could not write the screenshot {path}.")
        print(f"wrote {path} ({tabs.tabText(tabs.currentIndex())}: {charts.status_label.text()})")
        return 0
    finally:
        window.close()
        window.deleteLater()
        runner.shutdown()
