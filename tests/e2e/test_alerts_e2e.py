"""Hotlist alerts end to end: a read posted to a real hub process reaches a real
workstation's AlertListener, and the detective's acknowledgement is journaled."""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.core.errors import PolicyRefusal
from app.core.records import AlertRecord
from app.demo import totp_now
from app.sync.alerts import CONNECTED
from app.workstation import Workstation
from tests.hub.hub_support import real_jpeg
from tests.support.live_hub import SeededHub, cli_json

pytestmark = pytest.mark.e2e

WAIT = 20.0  # generous bound for a loaded CI machine; the figure is printed, not asserted


def _post_read(hub: SeededHub, token: str, camera_id: str, plate: str) -> str:
    read_id = uuid.uuid4().hex
    body = {
        "read_id": read_id,
        "plate": plate,
        "state": "WY",
        "confidence": 0.93,
        "captured_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
        "camera_id": camera_id,
        "direction": "NB",
        "attributes": {
            "make": "Ford", "model": "F-150", "color": "red", "body_type": "pickup",
            "features": [],
        },
        "image_jpeg": base64.b64encode(real_jpeg(7)).decode(),
        "crop_jpeg": base64.b64encode(real_jpeg(8, (20, 40))).decode(),
    }  # fmt: skip
    reply = httpx.post(
        f"{hub.url}/api/v1/ingest/reads",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert reply.status_code == 201, reply.text
    return read_id


def test_a_hit_reaches_the_workstation_and_its_acknowledgement_is_journaled(
    seeded_hub: SeededHub, tmp_path: Path
) -> None:
    user = seeded_hub.user("detective")
    case = seeded_hub.case_for(user["username"])
    expires = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    csv_path = tmp_path / "hotlist.csv"
    csv_path.write_text(
        "plate,state,reason,source,case_number,expires_at\n"
        f"HOT1234,WY,Pickup stolen from Pershing Blvd,NCIC stolen vehicle,{case},{expires}\n",
        encoding="utf-8",
    )
    done = seeded_hub.hub_cli(
        "hotlist", "import", str(csv_path), "--as", seeded_hub.user("admin")["username"]
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] == 1
    feed = seeded_hub.hub_cli("feed", "add", "--name", "alerts e2e")
    assert feed.returncode == 0, feed.stderr
    token = json.loads(feed.stdout)["token"]

    profile = tmp_path / "profile"
    workstation = Workstation.open(profile_dir=profile, hub_url=seeded_hub.url)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    workstation.catalog.refresh()
    camera_id = workstation.catalog.cameras()[0].camera_id
    received: queue.Queue[tuple[float, AlertRecord]] = queue.Queue()
    connected = threading.Event()
    listener = workstation.alerts.listener(
        on_alert=lambda alert: received.put((time.monotonic(), alert)),
        on_state=lambda state: connected.set() if state == CONNECTED else None,
    )
    before = max((a.alert_id for a in workstation.alerts.list()), default=0)
    listener.start()
    try:
        assert connected.wait(WAIT), f"the listener did not connect (state {listener.state})"
        posted_at = time.monotonic()
        read_id = _post_read(seeded_hub, token, camera_id, "H0T-1234")  # O read as 0
        arrived_at, alert = received.get(timeout=WAIT)
        print(json.dumps({"alert_latency_ms": round((arrived_at - posted_at) * 1000, 1)}))
        assert (alert.read_id, alert.case_number, alert.match) == (read_id, case, "fuzzy")
        assert (alert.entry_plate, alert.read_plate) == ("HOT1234", "H0T1234")
        assert alert.image_sha256 is not None
        assert received.empty()
    finally:
        listener.stop()
    assert not listener.running

    with pytest.raises(PolicyRefusal, match="needs every verification step"):
        workstation.alerts.acknowledge(
            alert_id=alert.alert_id, outcome="action_taken",
            visual_confirmed=True, state_match=True, entry_confirmed=False,
        )  # fmt: skip
    acknowledged = workstation.alerts.acknowledge(
        alert_id=alert.alert_id, outcome="action_taken", visual_confirmed=True,
        state_match=True, entry_confirmed=True, note="Vehicle stopped on Dell Range",
    )  # fmt: skip
    assert (acknowledged.acknowledged_by, acknowledged.outcome) == (
        user["username"],
        "action_taken",
    )
    events = [
        (event["action"], event["outcome"], event["object_refs"].get("alert_id"))
        for event in workstation.journal().events()
        if event["action"] == "alert.acknowledge"
    ]
    assert events == [
        ("alert.acknowledge", "refused", alert.alert_id),
        ("alert.acknowledge", "ok", alert.alert_id),
    ]
    assert workstation.audit.upload() > 0
    workstation.close()

    listed = cli_json("--profile", str(profile), "alerts", "list", "--after", str(before))
    assert [(a["alert_id"], a["outcome"]) for a in listed["alerts"]] == [
        (alert.alert_id, "action_taken")
    ]
    # The demo seed put the stolen pickup of another case on the hotlist: its
    # sightings alerted the detective too (assigned to every demo case).
    seeded = cli_json("--profile", str(profile), "alerts", "list")["alerts"]
    assert {a["entry_plate"] for a in seeded} == {"17K2RTB", "HOT1234"}
