"""Packet receipts: the hub's record of every evidence packet a workstation exported.

A workstation posts one receipt per packet (packet id, SHA-256 of the signed
tagmanifest-sha256.txt, read count, export time); the hub adds the exporting user
and device and audits it (`packet.receipt`). Anyone holding a packet may look up
its receipt by packet id (a random 128-bit id printed in the packet), with the
public key the hub holds for the exporting device, to verify the packet online.

The hub's own custody events for a case (holds placed, confirmed, released, and
receipts) are listed for the packet's chain of custody. Posting a receipt and
listing the custody events take what a case's holds take (hub.holds.require_case):
the case on record, and the caller assigned to it or supervising its unit.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.schemas import (
    CustodyEventPublic,
    DeviceKeyPublic,
    PacketReceiptCreate,
    PacketReceiptPublic,
    Role,
)
from hub import holds
from hub.audit import HUB_DEVICE_ID, record_hub_event
from hub.db.tables import audit_events, devices, packet_receipts
from hub.errors import HubError, forbidden, not_found
from hub.slices import Caller

EXPORTERS = frozenset({Role.DETECTIVE, Role.EVIDENCE_TECHNICIAN, Role.SUPERVISOR})
CUSTODY_ACTIONS = ("hold.propose", "hold.place", "hold.confirm", "hold.release", "packet.receipt")
DEVICE_FIRST = (
    "A receipt names the exporting workstation: send its device id in the "
    "X-Platedesk-Device header (sign in from the workstation that exported the packet)."
)


def _receipt_public(row: Any, public_key: str | None) -> PacketReceiptPublic:
    return PacketReceiptPublic(
        packet_id=row.packet_id,
        case_number=row.case_number,
        manifest_sha256=row.manifest_sha256,
        reads=int(row.reads),
        username=row.username,
        device_id=row.device_id,
        device_public_key=public_key,
        exported_at=row.exported_at,
        received_at=row.received_at,
    )


def _device_key(connection: Connection, device_id: str) -> str | None:
    row = connection.execute(
        sa.select(devices.c.public_key).where(devices.c.device_id == device_id)
    ).first()
    return None if row is None else row.public_key


def record_receipt(
    connection: Connection,
    caller: Caller,
    request: PacketReceiptCreate,
    *,
    device_id: str | None,
    now: datetime,
    case_number_pattern: str,
) -> tuple[PacketReceiptPublic, bool]:
    """Store the receipt (and audit it); (receipt, created). Posting the same receipt
    again returns the stored one; a different one for the same packet id is refused."""
    if caller.role not in EXPORTERS:
        raise forbidden("Only detectives, evidence technicians and supervisors export packets.")
    if not device_id:
        raise HubError(422, DEVICE_FIRST)
    # The case is on record (404) and the caller handles it (403), as for its holds.
    number = holds.require_case(
        connection, caller, request.case_number, pattern=case_number_pattern
    )
    device = connection.execute(
        sa.select(devices.c.user_id, devices.c.public_key).where(devices.c.device_id == device_id)
    ).first()
    if device is None or int(device.user_id) != caller.user_id:
        raise forbidden(
            "This device is not registered to you; sign in from the workstation that "
            "exported the packet."
        )
    existing = connection.execute(
        sa.select(packet_receipts).where(packet_receipts.c.packet_id == request.packet_id)
    ).first()
    if existing is not None:
        same = (
            existing.manifest_sha256 == request.manifest_sha256
            and existing.device_id == device_id
            and existing.case_number == number
        )
        if not same:
            raise HubError(
                409,
                f"The hub already holds a different receipt for packet {request.packet_id}; "
                "a packet id is used once. Export the packet again.",
            )
        return _receipt_public(existing, device.public_key), False
    values = {
        "packet_id": request.packet_id,
        "case_number": number,
        "manifest_sha256": request.manifest_sha256,
        "reads": request.reads,
        "user_id": caller.user_id,
        "username": caller.username,
        "device_id": device_id,
        "exported_at": request.exported_at,
        "received_at": now,
    }
    connection.execute(packet_receipts.insert().values(**values))
    record_hub_event(
        connection,
        action="packet.receipt",
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"case_number": number, "packet_id": request.packet_id},
        params={
            "manifest_sha256": request.manifest_sha256,
            "reads": request.reads,
            "device_id": device_id,
        },
    )
    row = connection.execute(
        sa.select(packet_receipts).where(packet_receipts.c.packet_id == request.packet_id)
    ).one()
    return _receipt_public(row, device.public_key), True


def get_receipt(connection: Connection, packet_id: str) -> PacketReceiptPublic:
    row = connection.execute(
        sa.select(packet_receipts).where(packet_receipts.c.packet_id == packet_id)
    ).first()
    if row is None:
        raise not_found(
            f"The hub holds no receipt for packet {packet_id}: it was not exported from a "
            "workstation of this hub, or its receipt has not been delivered yet."
        )
    return _receipt_public(row, _device_key(connection, row.device_id))


def device_key(connection: Connection, device_id: str) -> DeviceKeyPublic:
    """A device's packet-signing public key (public by nature) and whether it is revoked."""
    row = connection.execute(
        sa.select(devices.c.device_id, devices.c.public_key, devices.c.revoked_at).where(
            devices.c.device_id == device_id
        )
    ).first()
    if row is None:
        raise not_found(f"No device {device_id} is registered at this hub.")
    return DeviceKeyPublic(
        device_id=row.device_id,
        public_key=row.public_key,
        status="revoked" if row.revoked_at is not None else "active",
    )


def custody_events(
    connection: Connection, caller: Caller, *, case_number: str, case_number_pattern: str
) -> list[CustodyEventPublic]:
    """The hub's own events on a case's evidence, oldest first, to whoever may see its holds."""
    number = holds.require_case(connection, caller, case_number, pattern=case_number_pattern)
    needle = json.dumps({"case_number": number}, separators=(",", ":"))[1:-1]
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = connection.execute(
        sa.select(audit_events)
        .where(
            audit_events.c.device_id == HUB_DEVICE_ID,
            audit_events.c.action.in_(CUSTODY_ACTIONS),
            audit_events.c.object_refs.like(f"%{escaped}%", escape="\\"),
        )
        .order_by(audit_events.c.seq)
    ).all()
    found: list[CustodyEventPublic] = []
    for row in rows:
        refs = json.loads(row.object_refs)
        if refs.get("case_number") != number:
            continue
        found.append(
            CustodyEventPublic(
                event_id=row.event_id,
                device_id=row.device_id,
                username=row.username,
                session_id=row.session_id,
                seq=int(row.seq),
                occurred_at=row.occurred_at,
                action=row.action,
                object_refs=refs,
                params=json.loads(row.params),
                outcome=row.outcome,
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        )
    return found
