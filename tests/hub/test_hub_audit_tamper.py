"""audit-verify against a rewritten log (issue 20, finding 2).

Each test plays a database administrator who bypasses the append-only trigger,
and expects `audit-verify` (hub.audit.verify_hub, the same check in process) to
catch the rewrite: by the acknowledged heads, the registered devices, or the
signed checkpoints the hub published (DATA/audit-checkpoints.jsonl).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.canonical import canonical_json, utc_iso
from hub.audit import VerifyReport, verify_hub
from hub.db.tables import audit_events, chain_heads
from hub.merkle_log import CHECKPOINTS_FILE_NAME
from tests.hub.hub_support import HubFixture

API = "/api/v1/audit"


def _verify(hub: HubFixture) -> VerifyReport:
    with hub.database.read() as connection:
        return verify_hub(connection, data_dir=hub.settings.data_dir)


def _upload(hub: HubFixture, headers: dict[str, str], count: int) -> str:
    """A workstation of the detective delivers `count` events; its device id."""
    reply = hub.client.post("/api/v1/devices", json={"name": "Desk 7"}, headers=headers)
    device_id: str = reply.json()["device_id"]
    events, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        event = seal_event(
            {
                "event_id": uuid.uuid4().hex, "device_id": device_id, "username": "detective",
                "session_id": "s1", "seq": seq, "occurred_at": utc_iso(hub.clock.now),
                "action": "case.open", "object_refs": {}, "params": {"n": seq},
                "outcome": "ok", "prev_hash": prev,
            }
        )  # fmt: skip
        prev = event["hash"]
        events.append(event)
    batch = {"device_id": device_id, "events": events}
    ack = hub.client.post(f"{API}/events", json=batch, headers=headers).json()
    assert ack["acked_seq"] == count, ack
    return device_id


def _publish(hub: HubFixture, headers: dict[str, str]) -> dict[str, Any]:
    """What a workstation does after each delivery: fetch the signed checkpoint."""
    reply = hub.client.get(f"{API}/checkpoint", headers=headers)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


@contextmanager
def _tampering(hub: HubFixture) -> Iterator[Connection]:
    """A write transaction with the append-only trigger out of the way."""
    with hub.database.write() as connection:
        if hub.database.is_postgresql:
            connection.exec_driver_sql(
                "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
            )
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        yield connection


def _event(row: Any) -> dict[str, Any]:
    return {
        "event_id": row.event_id, "device_id": row.device_id, "username": row.username,
        "session_id": row.session_id, "seq": int(row.seq), "occurred_at": row.occurred_at,
        "action": row.action, "object_refs": json.loads(row.object_refs),
        "params": json.loads(row.params), "outcome": row.outcome, "prev_hash": row.prev_hash,
    }  # fmt: skip


def _rechain_hub(hub: HubFixture, edit: Callable[[dict[str, Any]], bool]) -> None:
    """Edit the first hub event `edit` changes (it returns True) and re-chain every later
    one, moving the hub's head: each chain still verifies from its genesis."""
    with _tampering(hub) as connection:
        rows = connection.execute(
            sa.select(audit_events)
            .where(audit_events.c.device_id == "hub")
            .order_by(audit_events.c.seq)
        ).all()
        prev, edited = GENESIS_HASH, False
        for row in rows:
            event = _event(row)
            edited = edited or edit(event)
            if edited:
                sealed = seal_event({**event, "prev_hash": prev})
                connection.execute(
                    audit_events.update()
                    .where(audit_events.c.event_id == event["event_id"])
                    .values(
                        username=sealed["username"],
                        object_refs=canonical_json(sealed["object_refs"]).decode(),
                        params=canonical_json(sealed["params"]).decode(),
                        outcome=sealed["outcome"],
                        prev_hash=sealed["prev_hash"],
                        hash=sealed["hash"],
                    )
                )
                prev = sealed["hash"]
            else:
                prev = row.hash
        assert edited
        connection.execute(
            chain_heads.update()
            .where(chain_heads.c.device_id == "hub")
            .values(last_seq=len(rows), last_hash=prev)
        )


def _problems(report: VerifyReport) -> str:
    assert not report.chains_ok
    return " | ".join(report.problems)


def test_an_honest_log_passes_with_its_checkpoints(hub: HubFixture) -> None:
    headers = hub.headers()
    first = _publish(hub, headers)
    assert _publish(hub, headers) == first  # the log did not grow: the same checkpoint again
    _upload(hub, headers, 3)
    _publish(hub, headers)
    lines = (hub.settings.data_dir / CHECKPOINTS_FILE_NAME).read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == first
    report = _verify(hub)
    assert report.chains_ok, report.problems
    assert report.checkpoints.checked == 2
    assert report.registered_devices == 1
    assert report.idle_devices == []


def test_a_checkpoint_the_hub_cannot_keep_is_not_handed_out(hub: HubFixture) -> None:
    (hub.settings.data_dir / CHECKPOINTS_FILE_NAME).mkdir()  # any write fails
    reply = hub.client.get(f"{API}/checkpoint", headers=hub.headers())
    assert reply.status_code == 503
    assert "cannot keep its audit checkpoint" in reply.json()["detail"]


def test_an_edited_event_with_the_later_hub_events_rechained(hub: HubFixture) -> None:
    headers = hub.headers()
    assert hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=headers).is_success
    _publish(hub, hub.headers("supervisor"))  # after a later hub event

    def soften(event: dict[str, Any]) -> bool:
        if event["action"] != "slice.request":
            return False
        event["params"] = {**event["params"], "justification": "Routine patrol check."}
        return True

    _rechain_hub(hub, soften)
    assert "history was rewritten" in _problems(_verify(hub))


def test_who_signed_in_rewritten(hub: HubFixture) -> None:
    hub.headers("supervisor")
    _publish(hub, hub.headers("detective"))

    def blame_another(event: dict[str, Any]) -> bool:
        if event["action"] != "auth.login" or event["username"] != "supervisor":
            return False
        event["username"] = "detective2"
        event["object_refs"] = {**event["object_refs"], "username": "detective2"}
        return True

    _rechain_hub(hub, blame_another)
    assert "history was rewritten" in _problems(_verify(hub))


def test_the_newest_events_deleted_with_the_heads_moved_back(hub: HubFixture) -> None:
    _upload(hub, hub.headers(), 25)
    published = _publish(hub, hub.headers("supervisor"))
    with _tampering(hub) as connection:
        newest = connection.execute(
            sa.select(audit_events.c.row_id, audit_events.c.device_id)
            .order_by(audit_events.c.row_id.desc())
            .limit(20)
        ).all()
        connection.execute(
            audit_events.delete().where(audit_events.c.row_id.in_([row_id for row_id, _ in newest]))
        )
        for device_id in {device for _, device in newest}:
            last = connection.execute(
                sa.select(audit_events.c.seq, audit_events.c.hash)
                .where(audit_events.c.device_id == device_id)
                .order_by(audit_events.c.seq.desc())
                .limit(1)
            ).first()
            seq, hash_ = (int(last.seq), str(last.hash)) if last else (0, GENESIS_HASH)
            connection.execute(
                chain_heads.update()
                .where(chain_heads.c.device_id == device_id)
                .values(last_seq=seq, last_hash=hash_)
            )
    problems = _problems(_verify(hub))
    size = published["tree_size"]
    assert f"covers {size} events but the log holds {size - 20}" in problems


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("kept", "event 4, which the hub acknowledged, is not in the log"),
        ("dropped", "no acknowledged head"),
        ("reset", "events were removed"),  # only the checkpoint shows it
    ],
)
def test_every_event_of_one_workstation_deleted(hub: HubFixture, head: str, expected: str) -> None:
    headers = hub.headers()
    device_id = _upload(hub, headers, 4)
    if head == "reset":
        _publish(hub, headers)
    with _tampering(hub) as connection:
        connection.execute(audit_events.delete().where(audit_events.c.device_id == device_id))
        where = chain_heads.c.device_id == device_id
        if head == "dropped":
            connection.execute(chain_heads.delete().where(where))
        elif head == "reset":
            connection.execute(
                chain_heads.update().where(where).values(last_seq=0, last_hash=GENESIS_HASH)
            )
    problems = _problems(_verify(hub))
    assert expected in problems
    if head != "reset":
        assert device_id in problems


def test_a_head_moved_back_over_stored_events(hub: HubFixture) -> None:
    device_id = _upload(hub, hub.headers(), 5)
    with hub.database.write() as connection:
        third = connection.execute(
            sa.select(audit_events.c.hash).where(
                audit_events.c.device_id == device_id, audit_events.c.seq == 3
            )
        ).scalar_one()
        connection.execute(
            chain_heads.update()
            .where(chain_heads.c.device_id == device_id)
            .values(last_seq=3, last_hash=third)
        )
    assert "events 4 to 5 link to its acknowledged head" in _problems(_verify(hub))


def _cli(hub: HubFixture, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [*args, "--data", str(hub.settings.data_dir)]
    if hub.settings.database_url:
        argv += ["--db", hub.settings.database_url]
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *argv],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ},
    )  # fmt: skip


def test_checkpoints_kept_outside_the_hub(hub: HubFixture, tmp_path: Path) -> None:
    """An agency keeps the signed checkpoints elsewhere; a rewrite that also removed the
    hub's own checkpoint file is still caught against them."""
    _publish(hub, hub.headers("supervisor"))
    signed = _cli(hub, "audit-checkpoint")
    assert signed.returncode == 0, signed.stderr
    kept = tmp_path / "county-clerk.jsonl"
    kept.write_text(signed.stdout)
    every = _cli(hub, "audit-checkpoint", "--all")
    assert every.stdout.splitlines()[-1] == signed.stdout.strip()
    assert len(every.stdout.splitlines()) == 2

    def refuse_the_first_sign_in(event: dict[str, Any]) -> bool:
        if event["action"] != "auth.login":
            return False
        event["outcome"] = "refused"
        return True

    _rechain_hub(hub, refuse_the_first_sign_in)
    (hub.settings.data_dir / CHECKPOINTS_FILE_NAME).unlink()
    alone = _cli(hub, "audit-verify")
    assert alone.returncode == 0, alone.stdout  # what the hub alone can no longer show
    caught = _cli(hub, "audit-verify", "--checkpoints", str(kept))
    assert caught.returncode == 1, caught.stdout
    verdict = json.loads(caught.stdout)
    assert verdict["chains_ok"] is False
    assert verdict["checkpoints"]["checked"] == 1
    assert any("history was rewritten" in problem for problem in verdict["problems"])
