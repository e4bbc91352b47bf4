"""Two hub nodes: two `platedesk-hub serve` processes on one PostgreSQL database (and
one image store), behind a real nginx (docs/deploy/nginx-nodes.conf's directives on
loopback). An alert produced through node A reaches a workstation's alert stream on
node B (hub.notify: LISTEN/NOTIFY); a slice synced through nginx while a node is
killed ends with the cache an uninterrupted sync gives (the module's last test: the
node stays dead)."""

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

import httpx
import pytest

from app.core.records import AlertRecord, SyncProgress
from app.demo import HubProcess, running_hub, seed_hub, totp_now
from app.sync.alerts import CONNECTED
from app.workstation import Workstation
from tests.e2e.test_alerts_e2e import _post_read
from tests.support.live_hub import JUSTIFICATION, PG_ADMIN, SEED_ARGS, SeededHub
from tests.support.nginx import free_port, nginx_binary, running_nginx

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

WAIT = 20.0  # generous bound for a loaded CI machine; the figure is printed, not asserted


NGINX_CONF = """
upstream hub_nodes {
    server 127.0.0.1:PORT_A max_fails=1 fail_timeout=10s;
    server 127.0.0.1:PORT_B max_fails=1 fail_timeout=10s;
}
server {
    listen 127.0.0.1:LISTEN_PORT;
    client_max_body_size 17m;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    location /api/v1/alerts/stream {
        proxy_pass http://hub_nodes;
        proxy_buffering off;
        proxy_read_timeout 1h;
    }
    location / {
        proxy_pass http://hub_nodes;
        proxy_next_upstream error timeout http_502 http_503 http_504;
        proxy_next_upstream_tries 3;
        proxy_read_timeout 120s;
    }
}
"""


@dataclass
class TwoNodes:
    a: SeededHub
    b: HubProcess
    balanced: str  # nginx's address, in front of both


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
            conf = NGINX_CONF.replace("PORT_A", node_a.url.rsplit(":", 1)[1])
            conf = conf.replace("PORT_B", node_b.url.rsplit(":", 1)[1])
            if nginx_binary() is None:
                pytest.skip("nginx is not installed (Debian package nginx)")
            conf = conf.replace("LISTEN_PORT", str(free_port()))
            with running_nginx(conf, tmp_path_factory.mktemp("nginx")) as balanced:
                yield TwoNodes(SeededHub(node_a.url, data, url, seeded, node_a), node_b, balanced)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _access_token(url: str, user: dict[str, Any]) -> str:
    """The user signed in at `url` (password and a fresh code): an access token."""
    login = httpx.post(
        f"{url}/api/v1/auth/login",
        json={
            "username": user["username"],
            "password": user["password"],
            "totp": totp_now(user["totp_secret"]),
        },
        timeout=30,
    )
    assert login.status_code == 200, login.text
    token: str = login.json()["access_token"]
    return token


def _hotlist(hub: SeededHub, case: str, plate: str) -> str:
    """A hotlist entry for the case, imported by the demo administrator through the
    API; the token of a new camera feed."""
    admin = _access_token(hub.url, hub.user("admin"))
    expires = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    imported = httpx.post(
        f"{hub.url}/api/v1/hotlists/import",
        content=(
            "plate,state,reason,source,case_number,expires_at\n"
            f"{plate},WY,Sedan seen at the Dell Range robbery,NCIC stolen vehicle,{case},{expires}\n"
        ).encode(),
        headers={
            "Authorization": f"Bearer {admin}",
            "Content-Type": "text/csv",
        },
        timeout=30,
    )
    assert imported.status_code == 201, imported.text
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
    token = _hotlist(node_a, case, "NODE123")
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


def test_an_account_locked_through_node_a_ends_its_stream_on_node_b(two_nodes: TwoNodes) -> None:
    """Node B keeps sessions in its cache while it hears of changes (hub.notify): a lock
    made through node A still ends the user's alert stream on B at once (the stream
    reads nothing for WAIT seconds otherwise)."""
    node_a, node_b = two_nodes.a, two_nodes.b
    user = node_a.user("supervisor")
    admin = _access_token(node_a.url, node_a.user("admin"))
    token = _access_token(node_b.url, user)
    headers = {"Authorization": f"Bearer {token}"}
    events: list[str] = []
    with httpx.stream(
        "GET",
        f"{node_b.url}/api/v1/alerts/stream",
        headers=headers,
        params={"ping": "60"},
        timeout=httpx.Timeout(WAIT, connect=5),
    ) as stream:
        lines = stream.iter_lines()
        for line in lines:
            if line.startswith("event:"):
                events.append(line[6:].strip())
            if events == ["ready"] and line.startswith("data:"):
                break
        locked = httpx.post(
            f"{node_a.url}/api/v1/admin/users/{user['username']}/lock",
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        )
        assert locked.status_code == 200, locked.text
        for line in lines:  # a ReadTimeout here: node B did not hear of the lock
            if line.startswith("event:"):
                events.append(line[6:].strip())
                break
    assert events == ["ready", "closed"]
    assert httpx.get(f"{node_b.url}/api/v1/me", headers=headers, timeout=30).status_code in (
        401,
        423,
    )


def test_an_alert_stream_cut_by_a_dying_node_reconnects_through_nginx_and_misses_nothing(
    two_nodes: TwoNodes, tmp_path: Path
) -> None:
    """nginx sends the stream to node B (node A is its backup); B is killed; the
    workstation reconnects through nginx to A with Last-Event-ID and gets the alert
    made while it was away, and no alert twice."""
    node_a, node_b = two_nodes.a, two_nodes.b
    user = node_a.user("detective")
    case = node_a.case_for(user["username"])
    token = _hotlist(node_a, case, "NODE456")
    conf = NGINX_CONF.replace("PORT_A", node_b.url.rsplit(":", 1)[1])
    conf = conf.replace(
        "server 127.0.0.1:PORT_B max_fails=1 fail_timeout=10s;",
        f"server 127.0.0.1:{node_a.url.rsplit(':', 1)[1]} backup;",
    )
    conf = conf.replace("LISTEN_PORT", str(free_port()))
    with running_nginx(conf, tmp_path / "nginx") as balanced:
        workstation = Workstation.open(profile_dir=tmp_path / "profile", hub_url=balanced)
        workstation.login(
            username=user["username"],
            password=user["password"],
            totp=totp_now(user["totp_secret"]),
        )
        workstation.catalog.refresh()
        camera_id = workstation.catalog.cameras()[0].camera_id
        received: queue.Queue[AlertRecord] = queue.Queue()
        connections = threading.Semaphore(0)
        listener = workstation.alerts.listener(
            on_alert=received.put,
            on_state=lambda state: connections.release() if state == CONNECTED else None,
        )
        listener.start()
        try:
            assert connections.acquire(timeout=WAIT), "the listener did not connect"
            first = _post_read(node_a, token, camera_id, "NODE456")
            assert received.get(timeout=WAIT).read_id == first
            node_b.process.kill()  # the stream's node
            node_b.process.wait(timeout=10)
            second = _post_read(node_a, token, camera_id, "NODE456")  # while it is away
            assert connections.acquire(timeout=WAIT), "the listener did not reconnect"
            assert received.get(timeout=WAIT).read_id == second
            assert received.empty()  # the first alert did not come again
        finally:
            listener.stop()
            workstation.close()


def _slice_rows(workstation: Workstation, slice_id: str) -> list[tuple[Any, ...]]:
    """The slice's reads as the cache holds them, every column, by read id."""
    rows = workstation.db().execute(
        "SELECT r.* FROM reads r JOIN slice_reads s USING (read_id)"
        " WHERE s.slice_id = ? ORDER BY r.read_id",
        (slice_id,),
    )
    return [tuple(row) for row in rows]


def test_a_node_killed_mid_sync_changes_nothing_in_the_cache(
    two_nodes: TwoNodes, tmp_path: Path
) -> None:
    """Through nginx: one slice synced with both nodes up, then the same request synced
    again while node B is killed after a few pages; both end with the same reads."""
    port = int(two_nodes.b.url.rsplit(":", 1)[1])
    if two_nodes.b.process.poll() is None:
        two_nodes.b.stop()  # the previous test kills it; run alone, it is stopped here
    with running_hub(two_nodes.a.data, db=two_nodes.a.db, port=port) as node_b:
        _sync_while_killing(two_nodes, node_b, tmp_path)


def _sync_while_killing(two_nodes: TwoNodes, node_b: HubProcess, tmp_path: Path) -> None:
    user = two_nodes.a.user("detective")
    case = two_nodes.a.case_for(user["username"])
    profile = tmp_path / "profile"
    workstation = Workstation.open(profile_dir=profile, hub_url=two_nodes.balanced)
    workstation.login(
        username=user["username"], password=user["password"], totp=totp_now(user["totp_secret"])
    )
    settings_file = profile / "profile.json"
    settings = json.loads(settings_file.read_text())
    settings["feed_page_size"] = 40  # many pages, so the kill lands mid-sync
    settings_file.write_text(json.dumps(settings))
    workstation.close()
    workstation = Workstation.open(profile_dir=profile)
    try:
        now = datetime.now(UTC)
        request = {
            "case_number": case,
            "purpose": "robbery",
            "justification": JUSTIFICATION,
            "time_from": now - timedelta(days=5),
            "time_to": now,
        }
        whole = workstation.slices.request(**request).slice_id
        interrupted = workstation.slices.request(**request).slice_id
        workstation.sync(slice_id=whole)
        pages: list[SyncProgress] = []

        def kill_node_b(progress: SyncProgress) -> None:
            pages.append(progress)
            if len(pages) == 3:
                node_b.process.kill()

        result = workstation.sync(slice_id=interrupted, progress=kill_node_b)

        assert node_b.process.wait(timeout=10) != 0  # killed mid-sync
        assert len(pages) > 3  # the sync went on after the kill
        assert not result.cancelled
        expected = _slice_rows(workstation, whole)
        assert len(expected) > 40 * 3
        assert _slice_rows(workstation, interrupted) == expected
    finally:
        workstation.close()
