"""Two hub nodes: two `platedesk-hub serve` processes on one PostgreSQL database (and
one image store), as behind a load balancer. An alert produced through node A
reaches a workstation's alert stream on node B (hub.notify: LISTEN/NOTIFY)."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.core.records import AlertRecord
from app.demo import HubProcess, running_hub, seed_hub, totp_now
from app.sync.alerts import CONNECTED
from app.workstation import Workstation
from tests.e2e.test_alerts_e2e import _post_read
from tests.support.live_hub import PG_ADMIN, SEED_ARGS, SeededHub

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

WAIT = 20.0  # generous bound for a loaded CI machine; the figure is printed, not asserted


@dataclass
class TwoNodes:
    a: SeededHub
    b: HubProcess


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    psycopg = pytest.importorskip("psycopg")
    name = f"platedesk_nodes_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    data = tmp_path_factory.mktemp("hub")
    try:
        seeded = seed_hub(data, db=url, extra=SEED_ARGS)
        with running_hub(data, db=url) as node_a, running_hub(data, db=url) as node_b:
            yield TwoNodes(SeededHub(node_a.url, data, url, seeded, node_a), node_b)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _hotlist(hub: SeededHub, tmp_path: Path, case: str) -> str:
    """A hotlist entry for the case; the token of a new camera feed."""
    expires = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    csv_path = tmp_path / "hotlist.csv"
    csv_path.write_text(
        "plate,state,reason,source,case_number,expires_at\n"
        f"NODE123,WY,Sedan seen at the Dell Range robbery,NCIC stolen vehicle,{case},{expires}\n",
        encoding="utf-8",
    )
    done = hub.hub_cli("hotlist", "import", str(csv_path))
    assert done.returncode == 0, done.stderr
    feed = hub.hub_cli("feed", "add", "--name", "nodes e2e")
    assert feed.returncode == 0, feed.stderr
    token: str = json.loads(feed.stdout)["token"]
    return token


def test_an_alert_made_through_node_a_reaches_a_stream_on_node_b(
    two_nodes: TwoNodes, tmp_path: Path
) -> None:
    node_a, node_b = two_nodes.a, two_nodes.b
    user = node_a.user("detective")
    case = node_a.case_for(user["username"])
    token = _hotlist(node_a, tmp_path, case)
    workstation = Workstation.open(profile_dir=tmp_path / "profile", hub_url=node_b.url)
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
    listener.start()
    try:
        assert connected.wait(WAIT), f"the listener did not connect (state {listener.state})"
        posted_at = time.monotonic()
        read_id = _post_read(node_a, token, camera_id, "NODE123")  # through node A
        arrived_at, alert = received.get(timeout=WAIT)  # on node B's stream
        figures: dict[str, Any] = {"alert_latency_ms": round((arrived_at - posted_at) * 1000, 1)}
        print(json.dumps(figures))
        assert (alert.read_id, alert.case_number, alert.entry_plate) == (read_id, case, "NODE123")
        assert received.empty()
    finally:
        listener.stop()
        workstation.close()
