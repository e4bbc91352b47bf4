"""Packet receipts (posted by the exporting workstation, looked up by packet id),
the device keys that sign packets, and a case's custody events at the hub.

Looking up a receipt or a device key needs no sign-in: a court, a prosecutor or
the defense verifies a packet with its packet id alone, and a public key is public.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from app.core.schemas import (
    CustodyEventPublic,
    DeviceKeyPublic,
    PacketReceiptCreate,
    PacketReceiptPublic,
)
from hub import receipts
from hub.api.deps import DEVICE_HEADER, ContextDep, CurrentUser, NowDep, error_responses

router = APIRouter(tags=["packets"])

PacketId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The packet id (32 hex)")]


@router.post(
    "/packets/receipts",
    response_model=PacketReceiptPublic,
    status_code=201,
    responses=error_responses(403, 409, 422),
)
def post_receipt(
    body: PacketReceiptCreate,
    caller: CurrentUser,
    context: ContextDep,
    now: NowDep,
    response: Response,
    device_id: Annotated[str | None, Header(alias=DEVICE_HEADER, max_length=64)] = None,
) -> PacketReceiptPublic:
    """Record an exported packet (201); the same receipt again answers 200."""
    with context.database.write() as connection:
        receipt, created = receipts.record_receipt(
            connection,
            caller,
            body,
            device_id=device_id,
            now=now,
            case_number_pattern=context.settings.case_number_pattern,
        )
    if not created:
        response.status_code = 200
    return receipt


@router.get(
    "/packets/{packet_id}/receipt",
    response_model=PacketReceiptPublic,
    responses=error_responses(404, 422),
)
def get_receipt(packet_id: PacketId, context: ContextDep) -> PacketReceiptPublic:
    with context.database.read() as connection:
        return receipts.get_receipt(connection, packet_id)


@router.get(
    "/devices/{device_id}/public-key",
    response_model=DeviceKeyPublic,
    responses=error_responses(404),
)
def device_public_key(
    device_id: Annotated[str, Path(min_length=1, max_length=64)], context: ContextDep
) -> DeviceKeyPublic:
    with context.database.read() as connection:
        return receipts.device_key(connection, device_id)


@router.get(
    "/packets/custody",
    response_model=list[CustodyEventPublic],
    responses=error_responses(403, 404, 422),
)
def custody(
    case_number: Annotated[str, Query(min_length=1, max_length=32)],
    caller: CurrentUser,
    context: ContextDep,
) -> list[CustodyEventPublic]:
    with context.database.read() as connection:
        return receipts.custody_events(
            connection,
            caller,
            case_number=case_number,
            case_number_pattern=context.settings.case_number_pattern,
        )
