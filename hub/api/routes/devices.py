"""A workstation registers itself once per profile; its audit chain is per device."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path

from app.core.schemas import DeviceCreate, DevicePublic, DeviceStatusPublic
from hub import accounts, admin
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.db.tables import devices
from hub.errors import HubError
from hub.sessions import invalidate_sessions

router = APIRouter(tags=["devices"])


@router.post("/devices", response_model=DevicePublic, responses=error_responses())
def register_device(
    body: DeviceCreate, caller: CurrentUser, context: ContextDep, now: NowDep
) -> DevicePublic:
    """Register the caller's workstation; an unbound session is bound to it."""
    with context.database.write() as connection:
        device = accounts.register_device(
            connection,
            user_id=caller.user_id,
            username=caller.username,
            session_id=caller.session_id,
            name=body.name,
            public_key=body.public_key,
            now=now,
        )
    invalidate_sessions()
    return device


@router.get(
    "/devices/{device_id}",
    response_model=DeviceStatusPublic,
    responses=error_responses(404),
)
def device_status(
    caller: CurrentUser,
    context: ContextDep,
    device_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> DeviceStatusPublic:
    """The device's status (active or revoked), to its owner only (404 for others)."""
    with context.database.read() as connection:
        row = connection.execute(sa.select(devices).where(devices.c.device_id == device_id)).first()
    if row is None or int(row.user_id) != caller.user_id:
        raise HubError(404, "No such device among yours; register this workstation first.")
    return admin.device_status(row)
