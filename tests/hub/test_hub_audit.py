"""Audit ingest from workstations, the hub's own chain, verification, append-only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.cache.connection import open_encrypted
from app.cache.journal import Actor, JournalRepository
from app.cache.migrations import migrate
from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.canonical import utc_iso
from app.sync.client import HubClient
from app.sync.uploader import JournalUploader
from hub.audit import verify_all
from hub.db.tables import audit_events, review_items, search_log
from tests.hub.hub_support import HubFixture


def _chain(
    device_id: str,
    count: int,
    now: Any,
    start: int = 1,
    prev: str = GENESIS_HASH,
    *,
    usernames: dict[int, str] | None = None,
    action: str = "search.run",
    params: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Well-chained events of the detective (or usernames[seq])."""
    events = []
    for seq in range(start, start + count):
        username = (usernames or {}).get(seq, "detective")
        event = seal_event(
            {
                "event_id": uuid.uuid4().hex, "device_id": device_id, "username": username,
                "session_id": "s1", "seq": seq, "occurred_at": utc_iso(now),
                "action": action, "object_refs": {"case_number": "2026-004211"},
                "params": params or {"pattern": "7K2*", "count": seq}, "outcome": "ok",
                "prev_hash": prev,
            }
        )  # fmt: skip
        prev = event["hash"]
        events.append(event)
    return events


def _device(hub: HubFixture, headers: dict[str, str]) -> str:
    reply = hub.client.post("/api/v1/devices", json={"name": "Precinct 2 desk"}, headers=headers)
    assert reply.status_code == 200, reply.text
    device_id: str = reply.json()["device_id"]
    return device_id


def test_ingest_is_idempotent(hub: HubFixture) -> None:
    headers = hub.headers()
    device_id = _device(hub, headers)
    events = _chain(device_id, 3, hub.clock.now)
    batch = {"device_id": device_id, "events": events}
    first = hub.client.post("/api/v1/audit/events", json=batch, headers=headers).json()
    assert first == {"acked_seq": 3, "accepted": 3, "duplicates": 0, "problems": []}
    again = hub.client.post("/api/v1/audit/events", json=batch, headers=headers).json()
    assert again == {"acked_seq": 3, "accepted": 0, "duplicates": 3, "problems": []}
    with hub.database.read() as connection:
        report = verify_all(connection)
    assert report.chains_ok, report.problems
    assert report.devices == 2  # the hub itself and the workstation


def test_gap_then_fill(hub: HubFixture) -> None:
    headers = hub.headers()
    device_id = _device(hub, headers)
    events = _chain(device_id, 4, hub.clock.now)
    late = {"device_id": device_id, "events": events[2:]}
    ack = hub.client.post("/api/v1/audit/events", json=late, headers=headers).json()
    assert ack["acked_seq"] == 0
    assert ack["problems"]
    early = {"device_id": device_id, "events": events[:2]}
    ack = hub.client.post("/api/v1/audit/events", json=early, headers=headers).json()
    assert ack["acked_seq"] == 4
    with hub.database.read() as connection:
        report = verify_all(connection)
    assert report.chains_ok, report.problems


def test_tampered_event_is_a_problem(hub: HubFixture) -> None:
    headers = hub.headers()
    device_id = _device(hub, headers)
    events = _chain(device_id, 3, hub.clock.now)
    events[1]["params"] = {"pattern": "*", "count": 999}
    batch = {"device_id": device_id, "events": events}
    ack = hub.client.post("/api/v1/audit/events", json=batch, headers=headers).json()
    assert ack["acked_seq"] == 1
    assert any("do not match its hash" in problem for problem in ack["problems"])
    with hub.database.read() as connection:
        stored = connection.execute(
            sa.select(sa.func.count()).where(audit_events.c.device_id == device_id)
        ).scalar_one()
        report = verify_all(connection)
    assert stored == 3  # kept, never silently dropped
    assert not report.chains_ok
    args = ["audit-verify", "--data", str(hub.settings.data_dir)]
    if hub.settings.database_url:
        args += ["--db", hub.settings.database_url]
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    verdict = json.loads(result.stdout)
    assert verdict["chains_ok"] is False
    assert verdict["devices"] == 2
    assert any("hash" in problem for problem in verdict["problems"])


def test_device_must_be_yours(hub: HubFixture) -> None:
    device_id = _device(hub, hub.headers())
    batch = {"device_id": device_id, "events": _chain(device_id, 1, hub.clock.now)}
    reply = hub.client.post("/api/v1/audit/events", json=batch, headers=hub.headers("detective2"))
    assert reply.status_code == 403


def test_hub_events_chain_and_hold_no_secrets(hub: HubFixture) -> None:
    hub.login()
    hub.client.post(
        "/api/v1/auth/login",
        json={"username": "detective", "password": "wrong-password-x", "totp": "123456"},
    )
    with hub.database.read() as connection:
        rows = connection.execute(
            sa.select(audit_events).where(audit_events.c.device_id == "hub")
        ).all()
        report = verify_all(connection)
    assert report.chains_ok
    assert [row.outcome for row in rows if row.action == "auth.login"] == ["ok", "refused"]
    text = " ".join(f"{row.params} {row.object_refs}" for row in rows)
    assert "wrong-password-x" not in text
    assert "correct-horse" not in text


def test_audit_events_are_append_only(hub: HubFixture) -> None:
    hub.login()
    with pytest.raises(sa.exc.DatabaseError), hub.database.write() as connection:
        connection.execute(audit_events.update().values(outcome="edited"))
    with pytest.raises(sa.exc.DatabaseError), hub.database.write() as connection:
        connection.execute(audit_events.delete())


def _refusals(hub: HubFixture) -> list[dict[str, Any]]:
    with hub.database.read() as connection:
        rows = connection.execute(
            sa.select(audit_events)
            .where(audit_events.c.device_id == "hub", audit_events.c.action == "audit.refused")
            .order_by(audit_events.c.seq)
        ).all()
    return [
        {"username": row.username, **json.loads(row.object_refs), **json.loads(row.params)}
        for row in rows
    ]


def _filed(hub: HubFixture, table: sa.Table) -> list[str]:
    with hub.database.read() as connection:
        return [str(name) for name in connection.execute(sa.select(table.c.username)).scalars()]


@pytest.mark.parametrize(
    ("poster", "posing_as"), [("supervisor", "detective"), ("detective", "nobody-known")]
)
def test_events_are_filed_under_the_device_owner(
    hub: HubFixture, poster: str, posing_as: str
) -> None:
    """Issue 20, finding 3: a supervisor filed a search as a detective (and approved it);
    a detective posting as an unknown name got a review item outside every queue."""
    headers = hub.headers(poster)
    device_id = _device(hub, headers)
    params = {"case_number": "2026-004211", "purpose": "robbery", "plate_pattern": "*",
              "result_count": 900}  # fmt: skip
    events = _chain(
        device_id, 3, hub.clock.now, usernames={1: poster, 2: posing_as, 3: poster},
        action="search", params=params,
    )  # fmt: skip
    before_items = _filed(hub, review_items)
    batch = {"device_id": device_id, "events": events}
    reply = hub.client.post("/api/v1/audit/events", json=batch, headers=headers)
    assert reply.status_code == 422, reply.text
    assert "Audit event 2 (search) names another user" in reply.json()["detail"]
    again = hub.client.post("/api/v1/audit/events", json=batch, headers=headers)
    assert again.status_code == 422  # the uploader's retry: refused again, recorded once
    with hub.database.read() as connection:
        stored = connection.execute(
            sa.select(sa.func.count()).where(audit_events.c.device_id == device_id)
        ).scalar_one()
    assert stored == 0  # the whole batch: event 3 links to event 2
    assert posing_as not in _filed(hub, search_log)
    assert _filed(hub, review_items) == before_items
    refusal = _refusals(hub)
    assert refusal == [
        {
            "username": poster, "device_id": device_id, "event_id": events[1]["event_id"],
            "seq": 2, "reason": "username", "event_action": "search",
            "event_username": posing_as,
        }
    ]  # fmt: skip
    # The owner's own event goes in and is filed under the owner.
    ack = hub.client.post(
        "/api/v1/audit/events", json={"device_id": device_id, "events": events[:1]}, headers=headers
    )
    assert ack.status_code == 200, ack.text
    assert ack.json()["acked_seq"] == 1
    assert _filed(hub, search_log).count(poster) == 1
    with hub.database.read() as connection:
        assert verify_all(connection).chains_ok


def test_the_uploader_keeps_a_refused_batch(hub: HubFixture, tmp_path: Path) -> None:
    """A refused batch neither breaks the workstation's upload nor leaves its outbox."""
    headers = hub.headers()
    device_id = _device(hub, headers)
    cache = open_encrypted(tmp_path / "cache.db", os.urandom(32))
    migrate(cache)
    journal = JournalRepository(cache)
    journal.append(Actor(device_id, "detective", "s1"), "session.sign_in")
    journal.append(
        Actor(device_id, "supervisor", "s1"), "search.outcome", params={"outcome": "lead"}
    )
    client = HubClient("http://localhost", transport=hub.client._transport)
    client.access_token = headers["Authorization"].removeprefix("Bearer ")
    uploader = JournalUploader(client=client, journal=journal, device_id=device_id)
    assert uploader.upload() == 0
    assert uploader.refusal is not None
    assert "Audit event 2" in uploader.refusal
    assert journal.status().pending == 2
    cache.close()
