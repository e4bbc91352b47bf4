"""Hotlist alerts in the window: the notice, the Alerts tab, verification before acting;
the real desk over a real hub on loopback, hits made by reads a camera feed posts."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.records import AlertRecord
from app.demo import totp_now
from app.ui.main_window import ALERTS_TAB, MainWindow
from app.ui.widgets.alerts_panel import NO_ALERTS
from app.workstation import Workstation
from tests.hub.hub_support import real_jpeg
from tests.support.live_hub import SeededHub

from .conftest import Desk

pytestmark = pytest.mark.e2e

PLATE = "HOT1234"
REASON = "Pickup stolen from Pershing Blvd"
SOURCE = "NCIC stolen vehicle"


@dataclass
class Feed:
    """A camera feed on the module's hub, with a hotlist entry for the detective's case."""

    hub: SeededHub
    token: str
    camera_id: str

    def post(self, plate: str) -> str:
        """Post a read of `plate` as the camera does; the hub raises any hit at once."""
        read_id = uuid.uuid4().hex
        body = {
            "read_id": read_id, "plate": plate, "state": "WY", "confidence": 0.93,
            "captured_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
            "camera_id": self.camera_id, "direction": "NB",
            "attributes": {"make": "Ford", "model": "F-150", "color": "red",
                           "body_type": "pickup", "features": []},
            "image_jpeg": base64.b64encode(real_jpeg(7)).decode(),
            "crop_jpeg": base64.b64encode(real_jpeg(8, (20, 40))).decode(),
        }  # fmt: skip
        reply = httpx.post(
            f"{self.hub.url}/api/v1/ingest/reads",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert reply.status_code == 201, reply.text
        return read_id


@pytest.fixture(scope="module")
def feed(seeded_hub: SeededHub, tmp_path_factory: pytest.TempPathFactory) -> Feed:
    """The hotlist entry and a feed, and one fuzzy hit (H0T1234 read for HOT1234) made."""
    case = seeded_hub.case_for(seeded_hub.user("detective")["username"])
    expires = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    csv_path = tmp_path_factory.mktemp("hotlist") / "hotlist.csv"
    csv_path.write_text(
        "plate,state,reason,source,case_number,expires_at\n"
        f"{PLATE},WY,{REASON},{SOURCE},{case},{expires}\n",
        encoding="utf-8",
    )
    done = seeded_hub.hub_cli(
        "hotlist", "import", str(csv_path), "--as", seeded_hub.user("admin")["username"]
    )
    assert done.returncode == 0, done.stderr
    added = seeded_hub.hub_cli("feed", "add", "--name", "gui alerts")
    assert added.returncode == 0, added.stderr
    user = seeded_hub.user("detective")
    looker = Workstation.open(profile_dir=tmp_path_factory.mktemp("camera"), hub_url=seeded_hub.url)
    try:
        looker.login(
            username=user["username"], password=user["password"],
            totp=totp_now(user["totp_secret"]),
        )  # fmt: skip
        looker.catalog.refresh()
        camera_id = looker.catalog.cameras()[0].camera_id
    finally:
        looker.close()
    made = Feed(seeded_hub, json.loads(added.stdout)["token"], camera_id)
    made.post("H0T-1234")  # O read as 0
    return made


def _open(workstation: Workstation) -> list[AlertRecord]:
    return [a for a in workstation.alerts.list(limit=500) if a.acknowledged_at is None]


def _fuzzy(workstation: Workstation) -> AlertRecord:
    return next(a for a in _open(workstation) if a.read_plate == "H0T1234")


def _loaded(qtbot: QtBot, window: MainWindow) -> None:
    panel = window.alerts_panel
    qtbot.waitUntil(lambda: panel.loaded and panel.listener_state == "connected", timeout=20_000)


def test_alerts_held_at_the_hub_are_listed_newest_first_with_the_count_on_the_tab(
    qtbot: QtBot, feed: Feed, desk: Desk
) -> None:
    window, workstation, _case = desk
    _loaded(qtbot, window)
    panel = window.alerts_panel
    held = workstation.alerts.list(limit=500)
    newest_first = sorted(
        held, key=lambda a: (a.captured_at or a.created_at, a.alert_id), reverse=True
    )
    assert [a.alert_id for a in panel.alerts] == [a.alert_id for a in newest_first]
    assert panel.alert_list.count() == len(held)
    fuzzy = _fuzzy(workstation)
    row = [a.alert_id for a in panel.alerts].index(fuzzy.alert_id)
    assert panel.alert_list.item(row).text().startswith("H0T1234 · ")
    assert panel.alert_list.item(row).text().endswith("misread of HOT1234?")
    assert f"{REASON} ({SOURCE})" in panel.alert_list.item(row).toolTip()
    # where: the camera's name from the catalog (its id too in the tooltip)
    qtbot.waitUntil(lambda: bool(window.cameras), timeout=20_000)
    name = {c.camera_id: c.name for c in window.cameras}[fuzzy.camera_id or ""]
    assert panel.alert_list.item(row).text().split("\n")[1].startswith(f"{name} · ")
    assert f"{name} ({fuzzy.camera_id})" in panel.alert_list.item(row).toolTip()
    tabs = window.results_tabs
    assert tabs.tabText(tabs.indexOf(panel)) == f"{ALERTS_TAB} ({len(_open(workstation))})"
    assert not window.alert_banner.isVisible()  # alerts already known do not pop up


def test_a_pushed_alert_shows_a_notice_that_opens_it(qtbot: QtBot, feed: Feed, desk: Desk) -> None:
    window, _workstation, _case = desk
    _loaded(qtbot, window)
    panel = window.alerts_panel
    assert panel.empty_label.text() == NO_ALERTS
    assert not panel.empty_label.isVisibleTo(panel)
    qtbot.waitUntil(lambda: bool(window.cameras), timeout=20_000)  # the banner names it
    with qtbot.waitSignal(panel.alert_arrived, timeout=20_000) as arrived:
        read_id = feed.post(PLATE)
    assert arrived.args[0].read_id == read_id
    banner = window.alert_banner
    assert banner.isVisible()
    assert banner.text_label.text().startswith(f"Hotlist hit: {PLATE} — {REASON}")
    name = {c.camera_id: c.name for c in window.cameras}[feed.camera_id]
    assert f"{name} ({feed.camera_id})" in banner.text_label.text()
    assert window.search_button.isEnabled()  # nothing modal: work goes on

    with qtbot.waitSignal(panel.image_loaded, timeout=20_000):
        qtbot.mouseClick(banner.review_button, Qt.MouseButton.LeftButton)
    assert window.results_tabs.currentWidget() is panel
    assert panel.current is not None
    assert panel.current.alert_id == arrived.args[0].alert_id
    assert not banner.isVisible()
    assert panel.image_label.pixmap() is not None
    assert not panel.image_label.pixmap().isNull()


def test_acting_on_a_hit_needs_every_verification_step(
    qtbot: QtBot, feed: Feed, desk: Desk
) -> None:
    window, workstation, _case = desk
    _loaded(qtbot, window)
    panel = window.alerts_panel
    fuzzy = _fuzzy(workstation)
    unacknowledged = len(_open(workstation))
    window.review_alert(fuzzy.alert_id)
    assert "Fuzzy match" in panel.match_label.text()
    panel.set_outcome("action_taken")
    panel.step_boxes["visual_confirmed"].setChecked(True)
    with qtbot.waitSignal(panel.acknowledge_failed, timeout=20_000) as refused:
        qtbot.mouseClick(panel.acknowledge_button, Qt.MouseButton.LeftButton)
    assert "missing: the plate's state matches" in refused.args[0]
    assert _fuzzy(workstation).outcome is None  # nothing recorded at the hub

    for box in panel.step_boxes.values():
        box.setChecked(True)
    panel.note_edit.setText("Stop at 14:10, incident 26-1177")
    with qtbot.waitSignal(panel.acknowledged, timeout=20_000) as done:
        qtbot.mouseClick(panel.acknowledge_button, Qt.MouseButton.LeftButton)
    assert done.args[0].outcome == "action_taken"
    [recorded] = [a for a in workstation.alerts.list(limit=500) if a.alert_id == fuzzy.alert_id]
    assert (recorded.outcome, recorded.visual_confirmed, recorded.state_match,
            recorded.entry_confirmed) == ("action_taken", True, True, True)  # fmt: skip
    assert workstation.session is not None
    assert f"Verified by {workstation.session.username}" in panel.acknowledged_label.text()
    assert not panel.verify_box.isEnabled()
    tabs = window.results_tabs
    assert tabs.tabText(tabs.indexOf(panel)) == f"{ALERTS_TAB} ({unacknowledged - 1})"


def test_locking_stops_listening_and_hides_the_alerts(qtbot: QtBot, feed: Feed, desk: Desk) -> None:
    window = desk[0]
    _loaded(qtbot, window)
    assert window.alerts_panel.alerts != []
    with qtbot.waitSignal(window.session_locked, timeout=20_000):
        window.lock_flow.lock()
    assert window.alerts_panel.listener_state == "stopped"
    assert window.alerts_panel.alerts == []
    assert window.alerts_panel.alert_list.count() == 0
    assert not window.alert_banner.isVisible()
    with qtbot.assertNotEmitted(window.alerts_panel.alert_arrived, wait=500):
        feed.post(PLATE)  # a hit while locked is not shown
