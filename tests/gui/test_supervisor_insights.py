"""The supervisor desk's insights, audit trail browser and charts against a real hub:
an isolated session and a repeatedly tracked plate, seeded on purpose, appear in the
insights, open their audit events in the browser and file a review item; the browser
exports a selection (CSV, and an excerpt that verifies on its own); a device chain
tampered at the hub shows "broken"; a detective is refused each panel; each chart is
saved as PNG."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QTabWidget, QWidget
from pytestqt.qtbot import QtBot

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.audit_trail import verify_excerpt
from app.core.canonical import utc_iso
from app.core.schemas import AuditBatch, AuditEventIn, DeviceCreate
from app.demo import totp_now
from app.ui.models.insights_models import chains_model, events_model, operators_model
from app.ui.widgets.audit_browser_panel import AUDIT_TAB, AuditBrowserPanel
from app.ui.widgets.charts_panel import CHARTS, CHARTS_TAB, ChartsPanel
from app.ui.widgets.desk_tabs import DeskTabs
from app.ui.widgets.insights_panel import INSIGHTS_TAB, InsightsPanel
from app.ui.workers import TaskRunner
from app.workstation import Workstation
from tests.support.live_hub import SeededHub

pytestmark = pytest.mark.e2e

UNIT = "robbery-unit"
TRACKED = "7K2QQ9"
WAIT = 20_000


def _sign_in(hub: SeededHub, role: str, profile: Path) -> Workstation:
    user = hub.user(role)
    ws = Workstation.open(profile_dir=profile, hub_url=hub.url)
    ws.login(username=user["username"], password=user["password"],
             totp=totp_now(user["totp_secret"]))  # fmt: skip
    return ws


def _seed_month(detective: Workstation, case: str) -> tuple[str, list[str], list[str]]:
    """From a second device of the detective: four mornings with TRACKED among other
    plates, and a 03:00 burst five days ago; (device, TRACKED's event ids, the burst's)."""
    client = detective.core.client
    device = client.register_device(DeviceCreate(name="Night desk")).device_id
    username = detective.core.require().username
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    times: list[tuple[datetime, str]] = []
    for days_ago in (9, 7, 3, 2):
        for step in range(8):
            plate = TRACKED if step == 2 else f"QX{days_ago}{step}A"
            times.append((today - timedelta(days=days_ago, hours=-9, minutes=-20 * step), plate))
    night = today - timedelta(days=5) + timedelta(hours=3)
    times += [(night + timedelta(minutes=4 * i), f"NGT{i}") for i in range(3)]
    events, prev, tracked, burst = [], GENESIS_HASH, [], []
    for seq, (at, plate) in enumerate(times, start=1):
        event = seal_event(
            {"event_id": uuid.uuid4().hex, "device_id": device, "username": username,
             "session_id": "night", "seq": seq, "occurred_at": utc_iso(at), "action": "search",
             "object_refs": {"case_number": case},
             "params": {"case_number": case, "purpose": "robbery", "pattern": plate,
                        "result_count": 1}, "outcome": "ok", "prev_hash": prev}
        )  # fmt: skip
        prev = event["hash"]
        events.append(AuditEventIn.model_validate(event))
        (tracked if plate == TRACKED else burst if plate.startswith("NGT") else []).append(
            event["event_id"]
        )
    ack = client.post_audit(AuditBatch(device_id=device, events=events))
    assert ack.acked_seq == len(events)
    return device, tracked, burst


def _tamper(hub: SeededHub, device: str) -> None:
    """A database administrator rewrites event 2 of the device, past the trigger."""
    rewrite = 'UPDATE audit_events SET params = \'{"pattern":"NOTHING"}\' WHERE device_id = '
    if hub.db is None:
        with sqlite3.connect(hub.data / "hub.sqlite3") as db:
            db.execute("DROP TRIGGER audit_events_no_update")
            db.execute(rewrite + "? AND seq = 2", (device,))
        return
    with psycopg.connect(hub.db, autocommit=True) as db:
        db.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        db.execute(rewrite + "%s AND seq = 2", (device,))
        db.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")


@pytest.fixture
def supervisor(seeded_hub: SeededHub, tmp_path: Path) -> Iterator[Workstation]:
    for role in ("detective", "supervisor"):
        username = seeded_hub.user(role)["username"]
        done = seeded_hub.hub_cli("user", "set-unit", "--username", username, "--unit", UNIT)
        assert done.returncode == 0, done.stderr
    ws = _sign_in(seeded_hub, "supervisor", tmp_path / "supervisor")
    yield ws
    ws.close()


def test_the_desk_models(qtmodeltester: object) -> None:
    for model in (operators_model(), events_model(), chains_model()):
        qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_insights_open_their_events_file_for_review_and_export(
    qtbot: QtBot,
    seeded_hub: SeededHub,
    supervisor: Workstation,
    runner: TaskRunner,
    tmp_path: Path,
) -> None:
    detective = _sign_in(seeded_hub, "detective", tmp_path / "detective")
    username = detective.core.require().username
    device, tracked, burst = _seed_month(detective, seeded_hub.case_for(username))
    detective.close()

    panel = InsightsPanel(workstation=supervisor, runner=runner)
    browser = AuditBrowserPanel(workstation=supervisor, runner=runner)
    panel.events_requested.connect(browser.show_events)
    for widget in (panel, browser):
        qtbot.addWidget(widget)
    with qtbot.waitSignal(panel.loaded, timeout=WAIT):
        panel.refresh()
    assert panel.select_user(username)
    shown = [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]
    assert "Repeatedly tracked plates (1)" in shown
    assert "Isolated sessions (1)" in shown
    assert panel.select_insight("repeat_target")
    assert TRACKED in panel.current_insight.summary  # type: ignore[union-attr]
    assert "on 4 days" in panel.current_insight.summary  # type: ignore[union-attr]
    with qtbot.waitSignal(browser.searched, timeout=WAIT) as found:
        panel.open_button.click()
    assert sorted(e.event_id for e in browser.events.records) == sorted(tracked)

    assert panel.select_insight("isolated_session")
    with qtbot.waitSignal(browser.searched, timeout=WAIT) as found:
        panel.open_button.click()
    assert found.args == [3]
    assert sorted(e.event_id for e in browser.events.records) == sorted(burst)
    assert "3 searches" in browser.status_label.text()

    with qtbot.waitSignal(panel.filed, timeout=WAIT) as filed:
        panel.file_button.click()
    item = supervisor.oversight.item(filed.args[0])
    assert item.username == username
    assert item.rules[0].rule == "insight.isolated_session"

    excerpt, csv_file = tmp_path / "excerpt.json", tmp_path / "events.csv"
    with qtbot.waitSignal(browser.exported, timeout=WAIT):
        browser.export_to(excerpt, kind="excerpt")
    with qtbot.waitSignal(browser.exported, timeout=WAIT):
        browser.export_to(csv_file, kind="csv")
    document = json.loads(excerpt.read_text(encoding="utf-8"))
    assert document["count"] == 3
    assert verify_excerpt(document) == []
    document["entries"][0]["event"]["params"]["pattern"] = "ELSE"
    assert verify_excerpt(document) != []
    assert len(csv_file.read_text(encoding="utf-8").splitlines()) == 4

    # A filtered search, then the chains: intact, until the hub's copy is rewritten.
    browser.user_edit.setText(username)
    browser.device_edit.setText(device)
    browser.action_edit.setText("search")
    with qtbot.waitSignal(browser.searched, timeout=WAIT) as found:
        browser.search_button.click()
    assert found.args == [35]
    with qtbot.waitSignal(browser.chains_loaded, timeout=WAIT):
        browser.check_chains()
    assert browser.chain_status(device) == "intact"
    _tamper(seeded_hub, device)
    with qtbot.waitSignal(browser.chains_loaded, timeout=WAIT):
        browser.chains_button.click()
    assert browser.chain_status(device) == "broken"
    assert "broken" in browser.chains_label.text()
    assert browser.chains.data(browser.chains.index(0, 0)) == "broken"


def test_charts_draw_and_save_each_as_png(
    qtbot: QtBot, supervisor: Workstation, runner: TaskRunner, tmp_path: Path
) -> None:
    panel = ChartsPanel(workstation=supervisor, runner=runner)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    with qtbot.waitSignal(panel.loaded, timeout=WAIT):
        panel.refresh()
    assert panel.data is not None
    assert len(panel.data.searches_per_day) == 31
    for key in CHARTS:
        path = panel.save_png(key, tmp_path / f"{key}.png")
        image = QImage(str(path))
        assert not image.isNull()
        assert image.width() >= 320
        # A reader sees what each axis counts.
        titles = [axis.titleText() for axis in panel.views[key].chart().axes()]
        assert len(titles) == 2, (key, titles)
        assert all(titles), (key, titles)


def test_a_detective_is_refused_each_panel(
    qtbot: QtBot, seeded_hub: SeededHub, runner: TaskRunner, tmp_path: Path
) -> None:
    detective = _sign_in(seeded_hub, "detective", tmp_path / "detective")
    insights = InsightsPanel(workstation=detective, runner=runner)
    browser = AuditBrowserPanel(workstation=detective, runner=runner)
    charts = ChartsPanel(workstation=detective, runner=runner)
    for widget in (insights, browser, charts):
        qtbot.addWidget(widget)
    for start, signal in ((insights.refresh, insights.failed), (browser.search, browser.failed),
                          (browser.check_chains, browser.failed), (charts.refresh, charts.failed)):  # fmt: skip
        with qtbot.waitSignal(signal, timeout=WAIT) as refused:
            start()
        assert "supervisors" in refused.args[0].lower()
    assert insights.model.rowCount() == 0
    assert browser.events.rowCount() == 0
    detective.close()


def test_the_desk_tabs_show_for_a_supervisor_and_load_when_opened(
    qtbot: QtBot, supervisor: Workstation, runner: TaskRunner
) -> None:
    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QWidget(), "Results")
    desk = DeskTabs(tabs, workstation=supervisor, runner=runner)
    assert not tabs.isTabVisible(tabs.indexOf(desk.insights))
    desk.apply_role("supervisor")
    shown = [tabs.tabText(i) for i in range(tabs.count()) if tabs.isTabVisible(i)]
    assert shown == ["Results", INSIGHTS_TAB, AUDIT_TAB, CHARTS_TAB]
    with qtbot.waitSignal(desk.insights.loaded, timeout=WAIT):
        tabs.setCurrentWidget(desk.insights)
    with qtbot.waitSignal(desk.audit.searched, timeout=WAIT):
        desk.insights.events_requested.emit(["no-such-event"], "nothing")
    assert tabs.currentWidget() is desk.audit
    assert desk.audit.events.rowCount() == 0
    assert desk.insights.model.rowCount() > 0
    desk.conceal()  # the lock
    assert desk.insights.model.rowCount() == 0
    assert desk.insights.tree.topLevelItemCount() == 0
    desk.apply_role("detective")
    assert not tabs.isTabVisible(tabs.indexOf(desk.audit))
