"""Start-up failures reach the terminal: a missing system library is named with its package
before Qt starts, and Qt's own fatal messages are printed, not only logged."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMessageLogContext, QtMsgType

from app import demo
from app import main as app_main
from app.ui import display_check

# What ldd printed for PySide6's xcb plugin on a fresh Debian machine (trimmed).
LDD_XCB = """\
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f530c0fb000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f530c011000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f530bf7e000)
\tlibxcb-icccm.so.4 => not found
"""


def _desktop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(sys, "platform", "linux")


def test_the_missing_xcb_libraries_are_named_with_their_debian_packages() -> None:
    asked: list[Path] = []

    def ldd(library: Path) -> str:
        asked.append(library)
        return LDD_XCB

    problem = display_check.display_problem(environ={"DISPLAY": ":0"}, ldd=ldd, system="linux")
    assert problem is not None
    assert asked[0].name == "libqxcb.so"
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1." in problem
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in problem


def test_nothing_is_checked_offscreen_or_when_nothing_is_missing() -> None:
    def ldd(library: Path) -> str:
        raise AssertionError("offscreen needs no display libraries")

    assert display_check.display_problem(environ={"QT_QPA_PLATFORM": "offscreen"}, ldd=ldd) is None
    complete = "\n".join(line for line in LDD_XCB.splitlines() if "not found" not in line)
    assert (
        display_check.display_problem(
            environ={"DISPLAY": ":0"}, ldd=lambda _path: complete, system="linux"
        )
        is None
    )


def test_ldd_reads_a_real_plugin() -> None:
    offscreen = display_check.plugin_path("offscreen")
    assert offscreen.exists()
    assert display_check.missing_libraries(offscreen) == []


def test_make_demo_says_which_library_is_missing_before_seeding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _desktop(monkeypatch)
    monkeypatch.setattr(display_check, "_ldd", lambda _path: LDD_XCB)
    assert demo.main(["--data", str(tmp_path / "demo-data")]) == 2
    err = capsys.readouterr().err
    assert "libxcb-icccm4 libxcb-keysyms1" in err
    assert not (tmp_path / "demo-data").exists()  # it said so before seeding a hub


def test_platedesk_says_which_library_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _desktop(monkeypatch)
    monkeypatch.setattr(display_check, "_ldd", lambda _path: LDD_XCB)
    assert app_main.main(["--hub", "https://hub.example.test"]) == 2
    assert "libxcb-icccm4" in capsys.readouterr().err


def test_qt_fatal_messages_reach_the_terminal_as_well_as_the_log(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    fatal = 'Could not load the Qt platform plugin "xcb" in "" even though it was found.'
    with caplog.at_level(logging.INFO):
        app_main._qt_message_to_log(QtMsgType.QtFatalMsg, QMessageLogContext(), fatal)
        app_main._qt_message_to_log(QtMsgType.QtInfoMsg, QMessageLogContext(), "an info line")
    assert capsys.readouterr().err == f"platedesk: Qt: {fatal}\n"
    assert [record.getMessage() for record in caplog.records] == [fatal, "an info line"]
