"""Packet receipts: posted by the exporting device, looked up by packet id, audited;
device public keys; a case's custody events at the hub."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.core.audit_chain import event_hash
from hub.db.tables import audit_events
from tests.hub.hub_support import CASE, OTHER_CASE, HubFixture, assign


def _device(hub: HubFixture, username: str) -> tuple[dict[str, str], str, str]:
    """Sign in, register a device with a fresh key: (headers with device, device id, key)."""
    headers = hub.headers(username)
    raw = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
    )
    key = base64.b64encode(raw).decode("ascii")
    reply = hub.client.post(
        "/api/v1/devices", json={"name": "desk", "public_key": key}, headers=headers
    )
    assert reply.status_code == 200, reply.text
    device_id = reply.json()["device_id"]
    return {**headers, "X-Platedesk-Device": device_id}, device_id, key


def _receipt(case: str = CASE, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "packet_id": uuid.uuid4().hex,
        "case_number": case,
        "manifest_sha256": hashlib.sha256(b"tagmanifest").hexdigest(),
        "reads": 3,
        "exported_at": "2026-11-23T19:00:00.000Z",
    }
    body.update(changes)
    return body


def test_receipt_posted_looked_up_and_audited(hub: HubFixture) -> None:
    assign(hub, "technician", CASE)
    headers, device_id, key = _device(hub, "technician")
    body = _receipt()
    reply = hub.client.post("/api/v1/packets/receipts", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    stored = reply.json()
    assert stored["username"] == "technician"
    assert stored["device_id"] == device_id
    assert stored["device_public_key"] == key
    assert stored["manifest_sha256"] == body["manifest_sha256"]

    # The same receipt again is accepted once more (a retried delivery), not duplicated.
    again = hub.client.post("/api/v1/packets/receipts", json=body, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == stored
    other = dict(body, manifest_sha256=hashlib.sha256(b"other").hexdigest())
    clash = hub.client.post("/api/v1/packets/receipts", json=other, headers=headers)
    assert clash.status_code == 409
    assert "different receipt" in clash.json()["detail"]

    # Anyone with the packet id looks it up, without signing in.
    looked_up = hub.client.get(f"/api/v1/packets/{body['packet_id']}/receipt")
    assert looked_up.status_code == 200, looked_up.text
    assert looked_up.json() == stored
    missing = hub.client.get(f"/api/v1/packets/{uuid.uuid4().hex}/receipt")
    assert missing.status_code == 404
    assert "no receipt" in missing.json()["detail"]
    assert hub.client.get("/api/v1/packets/not-a-packet/receipt").status_code == 422

    key_reply = hub.client.get(f"/api/v1/devices/{device_id}/public-key")
    assert key_reply.status_code == 200
    assert key_reply.json() == {"device_id": device_id, "public_key": key, "status": "active"}
    assert hub.client.get("/api/v1/devices/nope/public-key").status_code == 404

    with hub.database.read() as connection:
        events = connection.execute(
            sa.select(
                audit_events.c.action, audit_events.c.username, audit_events.c.object_refs
            ).where(audit_events.c.action == "packet.receipt")
        ).all()
    assert len(events) == 1
    assert events[0].username == "technician"
    assert body["packet_id"] in events[0].object_refs


def test_receipt_refusals(hub: HubFixture) -> None:
    assign(hub, "technician", CASE)
    tech_headers, _, _ = _device(hub, "technician")
    _, detective_device, _ = _device(hub, "detective")
    admin_headers, _, _ = _device(hub, "admin")

    no_device = hub.client.post(
        "/api/v1/packets/receipts", json=_receipt(), headers=hub.headers("technician")
    )
    assert no_device.status_code == 422
    assert "X-Platedesk-Device" in no_device.json()["detail"]
    someone_elses = hub.client.post(
        "/api/v1/packets/receipts",
        json=_receipt(),
        headers={**hub.headers("technician"), "X-Platedesk-Device": detective_device},
    )
    assert someone_elses.status_code == 403
    assert "not registered to you" in someone_elses.json()["detail"]
    admin = hub.client.post("/api/v1/packets/receipts", json=_receipt(), headers=admin_headers)
    assert admin.status_code == 403
    bad_case = hub.client.post(
        "/api/v1/packets/receipts", json=_receipt(case="not a case"), headers=tech_headers
    )
    assert bad_case.status_code == 422
    bad_hash = hub.client.post(
        "/api/v1/packets/receipts", json=_receipt(manifest_sha256="xyz"), headers=tech_headers
    )
    assert bad_hash.status_code == 422
    assert hub.client.post("/api/v1/packets/receipts", json=_receipt()).status_code == 401


def test_a_receipt_needs_a_case_on_record_that_the_exporter_handles(hub: HubFixture) -> None:
    headers, _, _ = _device(hub, "technician")  # assigned to OTHER_CASE only

    def post(case: str) -> Any:
        return hub.client.post("/api/v1/packets/receipts", json=_receipt(case), headers=headers)

    unassigned = post(CASE)
    assert unassigned.status_code == 403, unassigned.text
    assert f"not assigned to case {CASE}" in unassigned.json()["detail"]
    unknown = post("2026-123456")
    assert unknown.status_code == 404, unknown.text
    assert "No case 2026-123456" in unknown.json()["detail"]
    # Fullwidth digits match `\\d`, not the agency's format.
    fullwidth = post(OTHER_CASE.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"}))
    assert fullwidth.status_code == 422, fullwidth.text
    assert "not a case number" in fullwidth.json()["detail"]
    assert post(OTHER_CASE).status_code == 201
    with hub.database.read() as connection:
        stored = connection.execute(
            sa.select(sa.func.count())
            .select_from(audit_events)
            .where(audit_events.c.action == "packet.receipt")
        ).scalar_one()
    assert stored == 1


def test_custody_events_of_a_case(hub: HubFixture) -> None:
    assign(hub, "technician", CASE)
    headers, _, _ = _device(hub, "technician")
    read_ids = [row["read_id"] for row in hub.reads[:2]]
    placed = hub.client.post(
        "/api/v1/holds",
        json={"case_number": CASE, "read_ids": read_ids, "note": "evidence"},
        headers=headers,
    )
    assert placed.status_code == 201, placed.text
    other = hub.client.post(
        "/api/v1/holds",
        json={"case_number": OTHER_CASE, "read_ids": read_ids[:1], "note": ""},
        headers=headers,
    )
    assert other.status_code == 201, other.text
    receipt = _receipt()
    assert (
        hub.client.post("/api/v1/packets/receipts", json=receipt, headers=headers).status_code
        == 201
    )

    reply = hub.client.get("/api/v1/packets/custody", params={"case_number": CASE}, headers=headers)
    assert reply.status_code == 200, reply.text
    events = reply.json()
    assert [event["action"] for event in events] == ["hold.place", "packet.receipt"]
    assert events[0]["params"]["read_ids"] == read_ids
    assert events[1]["object_refs"]["packet_id"] == receipt["packet_id"]
    assert all(event["object_refs"]["case_number"] == CASE for event in events)
    assert all(event_hash(event) == event["hash"] for event in events)

    # Custody follows the holds' rules: a detective not assigned to the case is refused.
    refused = hub.client.get(
        "/api/v1/packets/custody",
        params={"case_number": OTHER_CASE},
        headers=hub.headers("detective"),
    )
    assert refused.status_code == 403
    assert (
        hub.client.get("/api/v1/packets/custody", params={"case_number": CASE}).status_code == 401
    )
