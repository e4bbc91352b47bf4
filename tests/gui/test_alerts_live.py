"""The Alerts pane against a real hub on loopback (the seeded stolen-pickup hits): each
alert shows its own outcome, a new one none, and the pane never says "no alerts" beside
a list of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.demo import totp_now
from app.ui.widgets.alerts_panel import CHOOSE_ALERT, NO_OUTCOME, AlertsPanel
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.live_hub import SeededHub

pytestmark = pytest.mark.e2e


@pytest.fixture
def detective(seeded_hub: SeededHub, tmp_path: Path) -> Iterator[Workstation]:
    user = seeded_hub.user("detective")
    workstation = Workstation.open(profile_dir=tmp_path / "profile", hub_url=seeded_hub.url)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    yield workstation
    workstation.close()


def _panel(qtbot: QtBot, workstation: Workstation, runner: TaskRunner) -> AlertsPanel:
    panel = AlertsPanel(workstation=workstation, runner=runner)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.alerts_loaded, timeout=20_000):
        panel.start()
    return panel


def test_each_alert_shows_its_own_outcome_and_a_new_one_none(
    qtbot: QtBot, detective: Workstation, runner: TaskRunner
) -> None:
    panel = _panel(qtbot, detective, runner)
    try:
        open_alerts = [a for a in panel.alerts if a.acknowledged_at is None]
        assert len(open_alerts) >= 2
        # A list of alerts, and no "No hotlist alerts" beside it.
        assert panel.alert_list.count() == len(panel.alerts)
        assert not panel.empty_label.isVisibleTo(panel)
        assert panel.title_label.text() == CHOOSE_ALERT

        first, second = open_alerts[:2]
        panel.select(first.alert_id)
        assert panel.outcome_box.currentIndex() == -1  # no outcome until one is chosen
        with qtbot.waitSignal(panel.acknowledge_failed, timeout=5_000) as refused:
            qtbot.mouseClick(panel.acknowledge_button, Qt.MouseButton.LeftButton)
        assert refused.args[0] == NO_OUTCOME
        for box in panel.step_boxes.values():
            box.setChecked(True)
        panel.set_outcome("action_taken")
        with qtbot.waitSignal(panel.acknowledged, timeout=20_000):
            qtbot.mouseClick(panel.acknowledge_button, Qt.MouseButton.LeftButton)

        panel.select(second.alert_id)  # the next alert does not inherit "Action taken"
        assert panel.outcome_box.currentIndex() == -1
        assert not any(box.isChecked() for box in panel.step_boxes.values())
        panel.select(first.alert_id)
        assert panel.outcome_box.currentData() == "action_taken"
    finally:
        panel.stop()

    # Someone opening the pane afresh sees the outcome the hub recorded, not the first item.
    again = _panel(qtbot, detective, runner)
    try:
        again.select(first.alert_id)
        assert again.outcome_box.currentData() == "action_taken"
        assert "Action taken" in again.acknowledged_label.text()
    finally:
        again.stop()
