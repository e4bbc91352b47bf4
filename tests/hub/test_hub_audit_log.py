"""The audit log's Merkle tree end to end: checkpoints, proofs, and the workstation's checks."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.canonical import utc_iso
from app.core.merkle import (
    audit_leaf_hash,
    checkpoint_text,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from app.core.schemas import AuditInclusionProofPublic
from app.sync.checkpoints import CheckpointVerifier, IntegrityProblem
from app.sync.client import HubClient
from hub.db.tables import audit_events
from hub.merkle_log import SIGNING_KEY_FILE_NAME, AuditTree
from tests.hub.hub_support import HubFixture

API = "/api/v1/audit"


def _upload(hub: HubFixture, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    reply = hub.client.post("/api/v1/devices", json={"name": "Desk 4"}, headers=headers)
    device_id = reply.json()["device_id"]
    events, prev = [], GENESIS_HASH
    for seq in range(1, count + 1):
        event = seal_event(
            {
                "event_id": uuid.uuid4().hex, "device_id": device_id, "username": "detective",
                "session_id": "s1", "seq": seq, "occurred_at": utc_iso(hub.clock.now),
                "action": "search.run", "object_refs": {}, "params": {"n": seq},
                "outcome": "ok", "prev_hash": prev,
            }
        )  # fmt: skip
        prev = event["hash"]
        events.append(event)
    batch = {"device_id": device_id, "events": events}
    ack = hub.client.post(f"{API}/events", json=batch, headers=headers).json()
    assert ack["acked_seq"] == count, ack
    return events


def _stored_leaves(hub: HubFixture) -> list[bytes]:
    with hub.database.read() as connection:
        hashes = connection.execute(
            sa.select(audit_events.c.hash).order_by(audit_events.c.row_id)
        ).scalars()
        return [audit_leaf_hash(value) for value in hashes]


def _client(hub: HubFixture, headers: dict[str, str]) -> HubClient:
    client = HubClient("http://localhost", transport=hub.client._transport)
    client.access_token = headers["Authorization"].removeprefix("Bearer ")
    return client


def test_checkpoint_is_signed_over_the_whole_log(hub: HubFixture) -> None:
    headers = hub.headers()
    _upload(hub, headers, 5)
    body = hub.client.get(f"{API}/checkpoint", headers=headers).json()
    leaves = _stored_leaves(hub)
    assert body["tree_size"] == len(leaves)
    assert body["root_hash"] == root_of(leaves).hex()
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))
    text = checkpoint_text(
        tree_size=body["tree_size"], root_hash=body["root_hash"], signed_at=body["signed_at"]
    )
    key.verify(base64.b64decode(body["signature"]), text)  # raises when it does not verify
    key_file = hub.settings.data_dir / SIGNING_KEY_FILE_NAME
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = hub.client.get(f"{API}/checkpoint", headers=hub.headers("supervisor")).json()
    assert again["public_key"] == body["public_key"]  # one key per hub
    assert again["tree_size"] > body["tree_size"]  # the supervisor's sign-in is an event too


def test_inclusion_and_consistency_proofs(hub: HubFixture) -> None:
    headers = hub.headers()
    events = _upload(hub, headers, 6)
    first = hub.client.get(f"{API}/checkpoint", headers=headers).json()
    more = _upload(hub, headers, 3)
    second = hub.client.get(f"{API}/checkpoint", headers=headers).json()
    old_size, new_size = first["tree_size"], second["tree_size"]
    for event in [*events, *more]:
        reply = hub.client.get(
            f"{API}/proof/inclusion",
            params={"event_id": event["event_id"], "tree_size": new_size},
            headers=headers,
        )
        assert reply.status_code == 200, reply.text
        body = AuditInclusionProofPublic.model_validate(reply.json())
        proof = [bytes.fromhex(item) for item in body.proof]
        root = bytes.fromhex(second["root_hash"])
        assert verify_inclusion(
            audit_leaf_hash(event["hash"]), body.leaf_index, new_size, proof, root
        )
    reply = hub.client.get(
        f"{API}/proof/consistency", params={"first": old_size, "second": new_size}, headers=headers
    )
    proof = [bytes.fromhex(item) for item in reply.json()["proof"]]
    assert verify_consistency(
        old_size,
        new_size,
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        proof,
    )
    # An event after the asked tree, an unknown event, a tree not grown yet.
    late = hub.client.get(
        f"{API}/proof/inclusion",
        params={"event_id": more[0]["event_id"], "tree_size": old_size},
        headers=headers,
    )
    assert late.status_code == 422
    unknown = hub.client.get(f"{API}/proof/inclusion", params={"event_id": "nope"}, headers=headers)
    assert unknown.status_code == 404
    ahead = hub.client.get(
        f"{API}/proof/consistency", params={"first": 1, "second": 10**6}, headers=headers
    )
    assert ahead.status_code == 422
    backwards = hub.client.get(
        f"{API}/proof/consistency", params={"first": 5, "second": 2}, headers=headers
    )
    assert backwards.status_code == 422


def test_workstation_verifier_accepts_an_honest_log(hub: HubFixture) -> None:
    headers = hub.headers()
    events = _upload(hub, headers, 4)
    verifier = CheckpointVerifier(_client(hub, headers))
    first = verifier.verify(events={e["event_id"]: e["hash"] for e in events}, last_checkpoint=None)
    assert first.events_verified == 4
    more = _upload(hub, headers, 2)
    second = verifier.verify(
        events={e["event_id"]: e["hash"] for e in more},
        last_checkpoint=(first.tree_size, first.root_hash),
        pinned_public_key=first.public_key,
    )
    assert second.tree_size > first.tree_size


def test_verifier_catches_an_altered_event(hub: HubFixture) -> None:
    headers = hub.headers()
    events = _upload(hub, headers, 3)
    verifier = CheckpointVerifier(_client(hub, headers))
    doctored = {events[1]["event_id"]: "f" * 64}  # not the hash this workstation recorded
    with pytest.raises(IntegrityProblem, match="does not prove it holds event"):
        verifier.verify(events=doctored, last_checkpoint=None)


def test_verifier_catches_a_swapped_key_and_a_forked_history(hub: HubFixture) -> None:
    headers = hub.headers()
    _upload(hub, headers, 3)
    verifier = CheckpointVerifier(_client(hub, headers))
    good = verifier.verify(events={}, last_checkpoint=None)
    with pytest.raises(IntegrityProblem, match="different key"):
        verifier.verify(events={}, last_checkpoint=None, pinned_public_key="AAAA")
    forged_root = "ab" * 32
    with pytest.raises(IntegrityProblem, match="history was rewritten"):
        verifier.verify(events={}, last_checkpoint=(good.tree_size, forged_root))
    with pytest.raises(IntegrityProblem, match="shrank"):
        verifier.verify(events={}, last_checkpoint=(10**6, forged_root))


def test_a_tampered_row_is_caught_after_a_restart(hub: HubFixture) -> None:
    headers = hub.headers()
    events = _upload(hub, headers, 4)
    verifier = CheckpointVerifier(_client(hub, headers))
    before = verifier.verify(
        events={e["event_id"]: e["hash"] for e in events}, last_checkpoint=None
    )
    # Someone with database access rewrites an event, bypassing the append-only trigger.
    with hub.database.write() as connection:
        if hub.database.is_postgresql:
            connection.exec_driver_sql(
                "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
            )
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        connection.execute(
            audit_events.update()
            .where(audit_events.c.event_id == events[1]["event_id"])
            .values(hash="0" * 64)
        )
    hub.client.app.state.audit_log.tree = AuditTree()  # type: ignore[attr-defined]  # a restart
    with pytest.raises(IntegrityProblem, match="history was rewritten"):
        verifier.verify(events={}, last_checkpoint=(before.tree_size, before.root_hash))
    with pytest.raises(IntegrityProblem, match="does not prove it holds event"):
        verifier.verify(events={events[1]["event_id"]: events[1]["hash"]}, last_checkpoint=None)


def test_audit_verify_reports_the_tree(hub: HubFixture) -> None:
    headers = hub.headers()
    _upload(hub, headers, 2)
    body = hub.client.get(f"{API}/checkpoint", headers=headers).json()
    args = ["audit-verify", "--data", str(hub.settings.data_dir)]
    if hub.settings.database_url:
        args += ["--db", hub.settings.database_url]
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ},
    )  # fmt: skip
    verdict = json.loads(result.stdout)
    assert verdict["chains_ok"] is True, verdict
    assert verdict["tree_size"] == body["tree_size"]
    assert verdict["root_hash"] == body["root_hash"]
