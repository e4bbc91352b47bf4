"""Alerts: listing after a cursor, acknowledgement rules, the server-sent-event stream."""

from __future__ import annotations

import json
import queue
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from sse_starlette.sse import AppStatus

from app.core.policy import ACCESS_TOKEN_LIFETIME
from app.core.records import AlertRecord
from app.sync.alerts import CONNECTED, OFFLINE, STOPPED, AlertListener
from hub.db.tables import audit_events
from hub.main import create_app
from tests.hub.hub_support import OTHER_CASE, HubFixture
from tests.hub.test_hub_hotlists import add_entry, ingest, my_alerts

ALERTS = "/api/v1/alerts"
ALL_STEPS = {"visual_confirmed": True, "state_match": True, "entry_confirmed": True}


def _ack(hub: HubFixture, alert_id: int, username: str, **body: Any) -> httpx.Response:
    reply: httpx.Response = hub.client.post(
        f"{ALERTS}/{alert_id}/acknowledge", json=body, headers=hub.headers(username)
    )
    return reply


def test_list_after_a_cursor(hub: HubFixture) -> None:
    add_entry(hub, plate="7K2LMV")
    token = hub.feed_token()
    first = ingest(hub, token, "7K2LMV")
    second = ingest(hub, token, "7KZLMV")
    headers = hub.headers("detective")
    page = hub.client.get(ALERTS, params={"limit": 1}, headers=headers).json()
    assert [alert["read_id"] for alert in page["alerts"]] == [first]
    rest = hub.client.get(ALERTS, params={"after": page["cursor"]}, headers=headers).json()
    assert [alert["read_id"] for alert in rest["alerts"]] == [second]
    done = hub.client.get(ALERTS, params={"after": rest["cursor"]}, headers=headers).json()
    assert done == {"alerts": [], "cursor": rest["cursor"]}
    assert hub.client.get(ALERTS, params={"limit": 0}, headers=headers).status_code == 422
    assert hub.client.get(ALERTS).status_code == 401


def test_acknowledgement_rules(hub: HubFixture) -> None:
    add_entry(hub, plate="7K2LMV", state="CO")
    token = hub.feed_token()
    ingest(hub, token, "7K2LMV")
    ingest(hub, token, "7K2LMV", state="WY")
    first, second = (alert["alert_id"] for alert in my_alerts(hub, "detective"))

    refused = _ack(
        hub, first, "detective", visual_confirmed=True, state_match=False,
        entry_confirmed=False, outcome="action_taken",
    )  # fmt: skip
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail.startswith("An outcome of action_taken needs every verification step first")
    assert "state matches" in detail
    assert "re-confirmed" in detail
    assert "visual" not in detail
    assert my_alerts(hub, "detective")[0]["acknowledged_at"] is None

    bad_outcome = _ack(hub, first, "detective", **ALL_STEPS, outcome="arrested")
    assert bad_outcome.status_code == 422
    assert "outcome" in bad_outcome.json()["detail"]
    outsider = _ack(hub, first, "technician", **ALL_STEPS, outcome="action_taken")
    assert outsider.status_code == 404
    assert "not assigned" in outsider.json()["detail"]

    done = _ack(hub, first, "detective", **ALL_STEPS, outcome="action_taken", note="Stopped")
    assert done.status_code == 200, done.text
    acknowledged = done.json()
    assert acknowledged["acknowledged_by"] == "detective"
    assert acknowledged["outcome"] == "action_taken"
    assert (acknowledged["visual_confirmed"], acknowledged["state_match"]) == (True, True)
    again = _ack(hub, first, "detective2", **ALL_STEPS, outcome="correct_read")
    assert again.status_code == 409
    assert "already acknowledged by detective" in again.json()["detail"]

    wrong_state = _ack(
        hub, second, "detective2", visual_confirmed=True, state_match=False,
        entry_confirmed=False, outcome="wrong_state",
    )  # fmt: skip
    assert wrong_state.status_code == 200, wrong_state.text
    seen = {a["alert_id"]: a["outcome"] for a in my_alerts(hub, "detective")}
    assert seen == {first: "action_taken", second: "wrong_state"}

    with hub.database.read() as connection:
        events = connection.execute(
            sa.select(audit_events.c.username, audit_events.c.params, audit_events.c.object_refs)
            .where(audit_events.c.action == "alert.acknowledge")
            .order_by(audit_events.c.row_id)
        ).all()
    assert [event.username for event in events] == ["detective", "detective2"]
    assert json.loads(events[0].params)["outcome"] == "action_taken"
    assert json.loads(events[0].object_refs)["alert_id"] == first


def _events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of an SSE body."""
    found = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.split("\n") if ": " in line and line[0] != ":"
        )
        if "event" in fields:
            found.append((fields["event"], fields.get("data", "")))
    return found


def test_stream_ends_by_itself_and_replays_after_a_cursor(hub: HubFixture) -> None:
    add_entry(hub, plate="7K2LMV")
    read_id = ingest(hub, hub.feed_token(), "7K2LMV")
    reply = hub.client.get(
        f"{ALERTS}/stream", params={"after": 0, "max_seconds": 1}, headers=hub.headers()
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = _events(reply.text)
    assert events[0] == ("ready", json.dumps({"cursor": 0}))
    assert [(kind, json.loads(data)["read_id"]) for kind, data in events[1:]] == [
        ("alert", read_id)
    ]
    # Without a cursor only new alerts come; Last-Event-ID wins over `after`.
    fresh = hub.client.get(f"{ALERTS}/stream", params={"max_seconds": 1}, headers=hub.headers())
    assert [kind for kind, _ in _events(fresh.text)] == ["ready"]
    resumed = hub.client.get(
        f"{ALERTS}/stream",
        params={"after": 0, "max_seconds": 1},
        headers={**hub.headers(), "Last-Event-ID": "999"},
    )
    assert _events(resumed.text) == [("ready", json.dumps({"cursor": 999}))]
    # Someone not assigned to the case gets nothing.
    other = hub.client.get(
        f"{ALERTS}/stream", params={"after": 0, "max_seconds": 1}, headers=hub.headers("technician")
    )
    assert [kind for kind, _ in _events(other.text)] == ["ready"]
    assert hub.client.get(f"{ALERTS}/stream").status_code == 401


@contextmanager
def live_server(hub: HubFixture, port: int = 0) -> Iterator[tuple[str, uvicorn.Server]]:
    """The fixture's app served by uvicorn on loopback (a free port by default), in a thread."""
    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    config = uvicorn.Config(
        hub.client.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = 200
        while not server.started and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}", server
    finally:
        try:
            server.handle_exit(signal.SIGTERM, None)  # as `serve` on SIGTERM: streams end too
            thread.join(timeout=15)
        finally:
            AppStatus.should_exit = False  # process-wide: later servers stream again
        assert not thread.is_alive(), "the server did not shut down"


def test_stream_delivers_a_hit_made_after_connecting(hub: HubFixture) -> None:
    add_entry(hub, plate="7K2LMV")
    add_entry(hub, plate="7K2LMV", case_number=OTHER_CASE)
    token = hub.feed_token()
    headers = hub.headers("detective")
    with live_server(hub) as (url, server), httpx.Client(base_url=url, timeout=10) as http:
        with http.stream(
            "GET", f"{ALERTS}/stream", params={"ping": 1}, headers=headers
        ) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            assert next(lines) == "event: ready"
            read_id = ingest(hub, token, "7K2-LMV")  # after the stream is open
            received: list[dict[str, Any]] = []
            for line in lines:
                if line.startswith("data: ") and '"alert_id"' in line:
                    received.append(json.loads(line.removeprefix("data: ")))
                    break
            assert [(a["read_id"], a["case_number"]) for a in received] == [
                (read_id, "2026-004211")
            ]
        # A stream still open when the server stops ends cleanly: shutdown does not hang.
        with http.stream("GET", f"{ALERTS}/stream", headers=headers) as response:
            lines = response.iter_lines()
            assert next(lines) == "event: ready"
            server.handle_exit(signal.SIGTERM, None)  # what SIGTERM does to `serve`
            rest = list(lines)  # ends: the server closes the stream
        assert all('"alert_id"' not in line for line in rest)


def test_listener_reconnects_after_the_hub_restarts_and_misses_nothing(hub: HubFixture) -> None:
    add_entry(hub, plate="7K2LMV")
    token = hub.feed_token()
    access = hub.login("detective")["access_token"]
    received: queue.Queue[AlertRecord] = queue.Queue()
    states: list[str] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listener = AlertListener(
        base_url=f"http://127.0.0.1:{port}",
        access_token=lambda: access,
        on_alert=received.put,
        on_state=states.append,
        first_backoff=0.1,
        max_backoff=0.4,
    )
    try:
        with live_server(hub, port=port):
            listener.start()
            deadline = 400
            while listener.state != CONNECTED and deadline:
                threading.Event().wait(0.05)
                deadline -= 1
            first = ingest(hub, token, "7K2LMV")  # connected: without a cursor, new ones only
            assert received.get(timeout=20).read_id == first
        # the hub went down...
        missed = ingest(hub, token, "7KZLMV")  # ...an alert is made meanwhile...
        with live_server(hub, port=port):  # ...and the hub comes back
            alert = received.get(timeout=20)
            assert (alert.read_id, alert.match) == (missed, "fuzzy")
            assert listener.connections >= 2
    finally:
        listener.stop()
    assert not listener.running
    assert OFFLINE in states or states.count(CONNECTED) >= 2
    assert states[-1] == STOPPED


def test_the_image_of_a_hit_is_visible_to_the_alerts_recipients_only(hub: HubFixture) -> None:
    # No slice holds these reads: the alert alone lets its recipients verify the hit.
    token = hub.feed_token()
    ingest(hub, token, "ZZZ9001")
    add_entry(hub, plate="7K2LMV")
    ingest(hub, token, "7K2LMV")
    [alert] = my_alerts(hub, "detective")
    scene, crop = alert["image_sha256"], alert["crop_sha256"]
    for sha in (scene, crop):
        seen = hub.client.get(f"/api/v1/images/{sha}", headers=hub.headers("detective"))
        assert seen.status_code == 200, seen.text
        assert seen.headers["X-Content-SHA256"] == sha
        other = hub.client.get(f"/api/v1/images/{sha}", headers=hub.headers("technician"))
        assert other.status_code == 404  # not assigned to the entry's case, not its unit
    with hub.database.read() as connection:
        rows = connection.execute(
            sa.select(audit_events.c.object_refs).where(audit_events.c.action == "image.fetch")
        ).scalars()
        fetched = [json.loads(refs)["image_sha256"] for refs in rows]
    assert fetched == [scene, crop]


def _end_session(hub: HubFixture, how: str, refresh: str, device_id: str) -> str:
    """Sign out, revoke the device or lock the account: the reason the stream gives."""
    if how == "signed_out":
        reply = hub.client.post("/api/v1/auth/logout", json={"refresh_token": refresh})
        assert reply.status_code == 204
        return "Your session has ended; sign in again."
    if how == "device_revoked":
        reply = hub.client.post(
            f"/api/v1/admin/devices/{device_id}/revoke", headers=hub.headers("admin")
        )
        assert reply.status_code == 200
        return "This device has been revoked by the agency; its cache must be wiped."
    reply = hub.client.post("/api/v1/admin/users/detective/lock", headers=hub.headers("admin"))
    assert reply.status_code == 200
    return "This account is locked; ask an administrator to release it."


@contextmanager
def _idle_stream_on_other_node(hub: HubFixture, headers: dict[str, str]) -> Iterator[Iterator[str]]:
    """An alert stream opened on another node, ready and idle (pings a minute apart): on
    PostgreSQL asleep, so that only a notification or its computed expiry wakes it.
    Yields its remaining lines."""
    with (
        other_node(hub) as (url, asleep),
        httpx.Client(base_url=url, timeout=httpx.Timeout(WAIT, connect=5)) as http,
        http.stream(
            "GET", f"{ALERTS}/stream", params={"ping": 60, "max_seconds": 3600}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(_stream_events(lines)) == "ready"
        asleep(1)
        yield lines


@pytest.mark.parametrize("how", ["signed_out", "device_revoked", "locked"])
def test_stream_closes_when_the_session_may_no_longer_receive(hub: HubFixture, how: str) -> None:
    signed_in = hub.login("detective")
    headers = {"Authorization": f"Bearer {signed_in['access_token']}"}
    device = hub.client.post("/api/v1/devices", json={"name": "ws-1"}, headers=headers).json()
    headers["X-Platedesk-Device"] = device["device_id"]
    with (
        live_server(hub) as (url, _server),
        httpx.Client(base_url=url, timeout=10) as http,
        http.stream("GET", f"{ALERTS}/stream", params={"ping": 1}, headers=headers) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines) == "event: ready"
        reason = _end_session(hub, how, signed_in["refresh_token"], device["device_id"])
        rest = "\n".join(lines)  # the hub ends the stream within seconds
    assert _events(rest)[-1] == ("closed", json.dumps({"reason": reason}))


WAIT = 20.0  # generous on a loaded machine; far below PUSHED_CHECK_SECONDS


@contextmanager
def other_node(hub: HubFixture) -> Iterator[tuple[str, Callable[[int], None]]]:
    """A second hub app on the fixture's database and clock, served by uvicorn on
    loopback with its lifespan (so on PostgreSQL its own change listener, as another
    `serve` process has): changes made through hub.client reach it only through the
    database, LISTEN/NOTIFY on PostgreSQL. Yields its URL and a callable that waits
    until N streams sleep in its listener (PostgreSQL; at once on SQLite)."""
    app = create_app(hub.settings, database=hub.database, clock=hub.clock)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        context = app.state.hub
        for _ in range(400):
            ready = server.started and (
                not hub.database.is_postgresql
                or (context.listener is not None and context.listener.listening)
            )
            if ready:
                break
            threading.Event().wait(0.05)
        assert server.started, "uvicorn did not start"
        if hub.database.is_postgresql:
            assert context.listener is not None
            assert context.listener.listening

        def asleep(streams: int) -> None:
            listener = context.listener
            if listener is None:
                return  # SQLite: the streams poll
            for _ in range(400):
                if listener.waiting >= streams:
                    return
                threading.Event().wait(0.05)
            raise AssertionError(f"{listener.waiting} streams asleep, not {streams}")

        yield f"http://127.0.0.1:{port}", asleep
    finally:
        try:
            server.handle_exit(signal.SIGTERM, None)
            thread.join(timeout=15)
        finally:
            AppStatus.should_exit = False  # process-wide: later servers stream again
        assert not thread.is_alive(), "the server did not shut down"


def _stream_events(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith("event:"):
            yield line.removeprefix("event:").strip()


@pytest.mark.parametrize("how", ["signed_out", "device_revoked", "locked"])
def test_a_session_ended_through_another_node_ends_its_idle_stream_at_once(
    hub: HubFixture, how: str
) -> None:
    """The stream is on the other node, idle (pings a minute apart): on PostgreSQL it
    sleeps until a notification (PUSHED_CHECK_SECONDS otherwise), so only the NOTIFY of
    the change made through hub.client ends it within WAIT; on SQLite it polls."""
    signed_in = hub.login("detective")
    headers = {"Authorization": f"Bearer {signed_in['access_token']}"}
    device = hub.client.post("/api/v1/devices", json={"name": "ws-1"}, headers=headers).json()
    headers["X-Platedesk-Device"] = device["device_id"]
    with _idle_stream_on_other_node(hub, headers) as lines:
        reason = _end_session(hub, how, signed_in["refresh_token"], device["device_id"])
        rest = "\n".join(lines)  # a ReadTimeout here: the other node did not hear of it
    assert _events(rest)[-1] == ("closed", json.dumps({"reason": reason}))


@pytest.mark.parametrize("expires", ["training", "access_token"])
def test_an_idle_stream_ends_when_its_session_expires(hub: HubFixture, expires: str) -> None:
    """Nothing changes anywhere: the stream ends by time, when its user's training or
    its access token expires, not at the next safety check (PUSHED_CHECK_SECONDS away on
    PostgreSQL): it computed when to look. The hub's clock jumps past the expiry once
    the stream is open; the stream wakes at the expiry it computed, 2 s on."""
    today = hub.clock.now.date()
    if expires == "training":
        reply = hub.client.put(
            "/api/v1/admin/users/detective/training",
            json={"training_valid_until": today.isoformat()},
            headers=hub.headers("admin"),
        )
        assert reply.status_code == 200, reply.text
        hub.clock.now = datetime(today.year, today.month, today.day, 23, 59, 58, tzinfo=UTC)
        headers = hub.headers("detective")
    else:
        headers = hub.headers("detective")
        hub.clock.advance(ACCESS_TOKEN_LIFETIME - timedelta(seconds=2))
    with _idle_stream_on_other_node(hub, headers) as lines:
        hub.clock.advance(timedelta(seconds=3))  # past the expiry
        rest = "\n".join(lines)  # a ReadTimeout here: the stream did not wake at its expiry
    events = _events(rest)
    if expires == "training":
        reason = f"Your ALPR training expired on {today.isoformat()}; renew it before searching."
        assert events == [("closed", json.dumps({"reason": reason}))]
    else:
        assert events == []  # ends quietly: the client renews its token and reconnects
