"""A workstation registers itself once per profile; its audit chain is per device."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.schemas import DeviceCreate, DevicePublic
from hub import accounts
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses

router = APIRouter(tags=["devices"])


@router.post("/devices", response_model=DevicePublic, responses=error_responses())
def register_device(
    body: DeviceCreate, caller: CurrentUser, context: ContextDep, now: NowDep
) -> DevicePublic:
    with context.database.write() as connection:
        return accounts.register_device(
            connection,
            user_id=caller.user_id,
            username=caller.username,
            session_id=caller.session_id,
            name=body.name,
            public_key=body.public_key,
            now=now,
        )
