"""The status bar tells the truth about the hub, against a real hub on loopback: offline
shows as offline, and the desk finds the hub again by itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.demo import totp_now
from app.services.clock import Clock, ClockSettings
from app.ui.desk.chores import OFFLINE, ONLINE
from app.ui.main_window import MainWindow
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.edge import SwitchableTransport
from tests.support.live_hub import SeededHub

pytestmark = pytest.mark.e2e


@pytest.fixture
def cable() -> SwitchableTransport:
    return SwitchableTransport()


@pytest.fixture
def signed_in(
    seeded_hub: SeededHub, tmp_path: Path, cable: SwitchableTransport
) -> Iterator[Workstation]:
    user = seeded_hub.user("detective")
    workstation = Workstation.open(
        profile_dir=tmp_path / "profile", hub_url=seeded_hub.url, transport=cable
    )
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    yield workstation
    workstation.close()


def test_offline_shows_offline_and_the_desk_recovers_by_itself(
    qtbot: QtBot, signed_in: Workstation, cable: SwitchableTransport, runner: TaskRunner
) -> None:
    cable.down = True
    clock = Clock(ClockSettings(check_offline_s=0.2))
    window = MainWindow(signed_in, runner, clock=clock)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.connection_label.text() == OFFLINE, timeout=20_000)
    assert not window.chores.online
    assert "Cannot reach the hub" in window.connection_label.toolTip()

    cable.down = False  # no click, no F5: the desk looks for the hub again on its own
    qtbot.waitUntil(lambda: window.connection_label.text() == ONLINE, timeout=20_000)
    assert window.chores.online
    qtbot.waitUntil(lambda: window.journal_label.text() == "All audit events sent", timeout=20_000)
