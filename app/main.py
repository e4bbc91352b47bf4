"""The composition root of the desktop app: builds the QApplication, the runner and the windows.

`run_gui` is called with an open Workstation (by `main` here, and by the demo);
nothing else builds windows or holds them globally.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEventLoop,
    QMessageLogContext,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from app import __version__
from app.config.paths import resource_path
from app.core.errors import KnownError
from app.core.heap import freeze_startup_objects
from app.ui.collector import GuiThreadCollector
from app.ui.desk.case_flow import GATE_CHECKING
from app.ui.dialogs.first_run import FirstRunDialog
from app.ui.dialogs.sign_in import SignInDialog
from app.ui.display_check import display_problem
from app.ui.main_window import MainWindow
from app.ui.smoke import render_first_window
from app.ui.style import apply_style
from app.ui.workers import TaskRunner
from app.vision.plate_reader import PlateReader, load_plate_reader

if TYPE_CHECKING:
    from app.workstation import Workstation

log = logging.getLogger(__name__)

NO_DISPLAY = (
    "No display found: run with a desktop session, or set QT_QPA_PLATFORM=offscreen "
    "to run headless (for `make screenshots`)."
)
SCREENSHOT_QUERY = "*7K2*"
SCREENSHOT_PLATE = "7K2LMV"  # the demo's vehicle of interest with a companion vehicle
SCREENSHOT_SIZE = (1440, 900)
LOAD_TIMEOUT_S = 60.0
THUMBNAIL_ROWS = 12  # rows surely on screen in a screenshot
THUMBNAIL_WAIT_S = 10.0
SYNC_TIMEOUT_S = 900.0

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def has_display() -> bool:
    """Whether Qt can open windows here: a platform plugin was chosen, or X11/Wayland is up."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def display_error() -> str | None:
    """Why Qt cannot open windows here (no display, a missing system library), or None."""
    if not has_display():
        return NO_DISPLAY
    return display_problem()


def _qt_message_to_log(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's messages go to the log; the critical and fatal ones (a platform plugin that
    cannot load, just before Qt aborts) reach the terminal too."""
    level = _QT_LEVELS.get(mode, logging.WARNING)
    logging.getLogger(f"qt.{context.category or 'default'}").log(level, "%s", message)
    if level >= logging.ERROR:
        print(f"platedesk: Qt: {message}", file=sys.stderr, flush=True)


@contextmanager
def _application() -> Iterator[QApplication | None]:
    """The running QApplication, or a new one (with Qt's messages sent to the log)."""
    existing = QApplication.instance()
    if existing is not None:
        assert isinstance(existing, QApplication)
        yield existing
        return
    if display_error() is not None:
        yield None
        return
    previous = qInstallMessageHandler(_qt_message_to_log)
    app = QApplication([sys.argv[0] if sys.argv else "platedesk"])
    app.setApplicationName("Platedesk")
    app.setApplicationDisplayName("Platedesk")
    app.setOrganizationName("Platedesk")
    app.setWindowIcon(QIcon(str(resource_path("icons/platedesk.png"))))
    apply_style(app)
    try:
        yield app
    finally:
        qInstallMessageHandler(previous)


def run_gui(
    *,
    workstation: Workstation,
    demo: bool = False,
    initial_case: str | None = None,
    initial_purpose: str | None = None,
    start_sync_slice: str | None = None,
    screenshots_dir: Path | None = None,
    more_screenshots: Callable[[TaskRunner, Path], None] | None = None,
    smoke_screenshot: Path | None = None,
) -> int:
    """Show sign-in if needed, then the main window; return the exit code.

    With `screenshots_dir`, render signin.png, results.png, sightings.png, alerts.png and lock.png there
    instead of waiting for the user, then quit (after `more_screenshots`, if given: the
    demo's supervisor desk).
    """
    with _application() as app:
        if app is None:
            print(display_error() or NO_DISPLAY, file=sys.stderr)
            return 2
        runner = TaskRunner()
        collector = GuiThreadCollector(app)
        if workstation.dark_theme:
            apply_style(app, dark=True)
        try:
            if screenshots_dir is not None:
                return _render_screenshots(
                    app,
                    workstation=workstation,
                    runner=runner,
                    demo=demo,
                    initial_case=initial_case,
                    initial_purpose=initial_purpose,
                    start_sync_slice=start_sync_slice,
                    directory=screenshots_dir,
                    more=more_screenshots,
                )
            if smoke_screenshot is not None:
                title = render_first_window(
                    workstation=workstation, runner=runner, path=smoke_screenshot
                )
                print(f"wrote {smoke_screenshot} ({title})")
                return 0
            while True:
                if workstation.session is None:
                    if workstation.hub_url is None:  # first run: which hub, which CA
                        first = FirstRunDialog(workstation=workstation, runner=runner)
                        if first.exec() != QDialog.DialogCode.Accepted:
                            return 0
                    dialog = SignInDialog(workstation=workstation, runner=runner)
                    if dialog.exec() != QDialog.DialogCode.Accepted:
                        return 0
                window = MainWindow(
                    workstation,
                    runner,
                    demo=demo,
                    initial_case=initial_case,
                    initial_purpose=initial_purpose,
                    plate_reader=_plate_reader(),
                    dark_theme=workstation.dark_theme,
                )
                ended: list[bool] = []
                window.signed_out.connect(ended.append)
                window.show()
                freeze_startup_objects()
                if start_sync_slice is not None:
                    window.start_sync(start_sync_slice)
                    start_sync_slice = None
                code = app.exec()
                if not ended:
                    return code
                # Signed out: the next user signs in; for another user, a profile of theirs.
                hub_url = workstation.hub_url
                workstation.close()
                profile = None if ended[0] else workstation.profile_dir
                workstation = type(workstation)(
                    profile_dir=profile, hub_url=hub_url, ca_bundle=workstation.ca_bundle
                )
                initial_case = initial_purpose = None
        finally:
            runner.shutdown()
            collector.stop()


def _plate_reader() -> PlateReader | None:
    """The installed plate reader, or None (re-reading plates is then off, with a reason)."""
    try:
        return load_plate_reader()
    except KnownError as exc:
        log.warning("%s", exc)
        return None


# -- screenshots ----------------------------------------------------------


def _wait_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until `predicate()` holds or the time is up."""
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    return True


def _settle(ms: int = 150) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _save(widget: QWidget, path: Path) -> None:
    _settle()
    if not widget.grab().save(str(path)):
        raise KnownError(f"Could not write the screenshot {path}.")
    print(f"wrote {path}")


def _render_screenshots(
    app: QApplication,
    *,
    workstation: Workstation,
    runner: TaskRunner,
    demo: bool,
    initial_case: str | None,
    initial_purpose: str | None,
    start_sync_slice: str | None,
    directory: Path,
    more: Callable[[TaskRunner, Path], None] | None = None,
) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    session = workstation.session
    dialog = SignInDialog(
        workstation=workstation,
        runner=runner,
        username=session.username if session is not None else None,
    )
    dialog.show()
    _save(dialog, directory / "signin.png")
    dialog.close()
    dialog.deleteLater()
    if session is None:
        print("Sign in first: the other screenshots need a session.", file=sys.stderr)
        return 1

    window = MainWindow(
        workstation,
        runner,
        demo=demo,
        initial_case=initial_case,
        initial_purpose=initial_purpose,
        plate_reader=_plate_reader(),
    )
    window.idle_watcher.stop()  # the screenshots lock the window themselves
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    try:
        if not _wait_until(lambda: window.is_ready, LOAD_TIMEOUT_S):
            print("Cases and purposes did not load in time.", file=sys.stderr)
            return 1
        if start_sync_slice is not None:
            synced: list[object] = []
            window.sync_finished.connect(synced.append)
            window.sync_panel.sync_failed.connect(synced.append)
            window.start_sync(start_sync_slice)
            _wait_until(lambda: bool(synced), SYNC_TIMEOUT_S)
        _wait_until(lambda: window.gate_reason != GATE_CHECKING, LOAD_TIMEOUT_S)
        if window.gate_reason is None:
            _search_and_select(window)
        _save(window, directory / "results.png")
        if _show_sightings(window):
            _save(window, directory / "sightings.png")
        if _show_alert(window):
            _save(window, directory / "alerts.png")
        locked: list[bool] = []

        def note_locked() -> None:
            locked.append(True)

        window.session_locked.connect(note_locked)
        window.lock_flow.lock()
        _wait_until(lambda: bool(locked), LOAD_TIMEOUT_S)
        _save(window, directory / "lock.png")
    finally:
        window.close()
        window.deleteLater()
    if more is not None:
        more(runner, directory)
    return 0


def render_supervisor_window(
    supervisor: Workstation, *, runner: TaskRunner, directory: Path
) -> None:
    """review_queue.png, review_item.png and transparency.png: the supervisor's desk."""
    from app.ui.supervisor_screens import render_supervisor_screens

    window = MainWindow(supervisor, runner)
    window.idle_watcher.stop()
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    try:
        render_supervisor_screens(
            window, directory=directory, wait_until=_wait_until, save=_save,
            timeout_s=LOAD_TIMEOUT_S,
        )  # fmt: skip
    finally:
        window.close()
        window.deleteLater()


def _show_alert(window: MainWindow) -> bool:
    """The Alerts tab on the newest hotlist hit, with its image (False: no alert)."""
    panel = window.alerts_panel
    _wait_until(lambda: panel.loaded, LOAD_TIMEOUT_S)
    if not panel.alerts:
        return False
    loaded: list[int] = []
    panel.image_loaded.connect(loaded.append)
    window.review_alert(panel.alerts[0].alert_id)
    _wait_until(lambda: bool(loaded), LOAD_TIMEOUT_S)
    panel.image_loaded.disconnect(loaded.append)
    return True


def _search_and_select(window: MainWindow) -> None:
    """Search for a partial plate (everything when nothing matches) and show a read of the
    demo's vehicle of interest (or the first read)."""
    for query in (SCREENSHOT_QUERY, ""):
        totals: list[int] = []
        window.search_finished.connect(totals.append)
        window.run_search(query)
        _wait_until(partial(bool, totals), LOAD_TIMEOUT_S)
        window.search_finished.disconnect(totals.append)
        if totals and totals[0] > 0:
            break
    if window.results_model.rowCount() == 0:
        return
    model = window.results_model
    plates = [model.read_at(row).plate for row in range(model.rowCount())]
    row = plates.index(SCREENSHOT_PLATE) if SCREENSHOT_PLATE in plates else 0
    shown: list[str] = []
    window.image_pane.image_shown.connect(shown.append)
    window.image_pane.image_failed.connect(shown.append)
    window.select_row(row)
    _wait_until(lambda: bool(shown), LOAD_TIMEOUT_S)
    # The painted rows' plate-crop thumbnails arrive in the background: let them land.
    last = model.read_at(min(model.rowCount(), THUMBNAIL_ROWS) - 1).read_id
    _wait_until(lambda: model.thumbnail(last) is not None, THUMBNAIL_WAIT_S)


def _show_sightings(window: MainWindow) -> bool:
    """Open the Sightings tab for the shown read's plate; False when there is no read."""
    if window.image_pane.read is None:
        print("No read to show sightings for: sightings.png skipped.", file=sys.stderr)
        return False
    done: list[str] = []
    panel = window.sightings_panel
    panel.sightings_loaded.connect(lambda _n: done.append("sightings"))
    panel.associates_loaded.connect(lambda _n: done.append("associates"))
    panel.load_failed.connect(lambda _message: done.extend(("sightings", "associates")))
    window.show_sightings()
    _wait_until(lambda: {"sightings", "associates"} <= set(done), LOAD_TIMEOUT_S)
    return True


# -- `platedesk` with no subcommand -----------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Open the workstation profile and show the app."""
    parser = argparse.ArgumentParser(
        prog="platedesk", description="Platedesk investigator workstation"
    )
    parser.add_argument(
        "--hub", metavar="URL", help="the hub's address, e.g. https://hub.example.gov"
    )
    parser.add_argument(
        "--profile", metavar="DIR", type=Path, help="the workstation profile folder"
    )
    parser.add_argument("--version", action="version", version=f"platedesk {__version__}")
    parser.add_argument(
        "--smoke-screenshot",
        metavar="PATH",
        type=Path,
        help="render the first window (first-run or sign-in dialog) to PATH as PNG and quit",
    )
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    problem = display_error()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2

    from app.workstation import Workstation

    try:
        workstation = Workstation.open(profile_dir=args.profile, hub_url=args.hub)
    except KnownError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    try:
        return run_gui(workstation=workstation, smoke_screenshot=args.smoke_screenshot)
    except KnownError as exc:
        print(f"platedesk: {exc}", file=sys.stderr)
        return 1
    finally:
        workstation.close()
