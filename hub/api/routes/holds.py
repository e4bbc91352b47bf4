"""Evidence holds: propose or place, confirm, release, list per case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.core.schemas import HoldCreate, HoldPublic
from hub import holds
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.errors import forbidden
from hub.slices import Caller

router = APIRouter(tags=["holds"])


def get_custodian(caller: CurrentUser) -> Caller:
    if caller.role not in holds.CUSTODIANS:
        raise forbidden(holds.CUSTODY_ONLY)
    return caller


Custodian = Annotated[Caller, Depends(get_custodian)]


@router.post(
    "/holds",
    response_model=list[HoldPublic],
    status_code=201,
    responses=error_responses(403, 404, 409, 422),
)
def place_holds(
    body: HoldCreate, caller: CurrentUser, context: ContextDep, now: NowDep
) -> list[HoldPublic]:
    """A detective proposes; an evidence technician or supervisor places them confirmed."""
    with context.database.write() as connection:
        return holds.place_holds(
            connection,
            caller,
            body,
            now=now,
            case_number_pattern=context.settings.case_number_pattern,
        )


@router.get("/holds", response_model=list[HoldPublic], responses=error_responses(403, 404, 422))
def list_holds(
    case_number: Annotated[str, Query(min_length=1, max_length=32)],
    caller: CurrentUser,
    context: ContextDep,
) -> list[HoldPublic]:
    with context.database.read() as connection:
        return holds.list_holds(
            connection,
            caller,
            case_number=case_number,
            case_number_pattern=context.settings.case_number_pattern,
        )


@router.post(
    "/holds/{hold_id}/confirm", response_model=HoldPublic, responses=error_responses(403, 404, 409)
)
def confirm_hold(hold_id: str, caller: Custodian, context: ContextDep, now: NowDep) -> HoldPublic:
    with context.database.write() as connection:
        return holds.confirm_hold(connection, caller, hold_id=hold_id, now=now)


@router.post(
    "/holds/{hold_id}/release", response_model=HoldPublic, responses=error_responses(403, 404, 409)
)
def release_hold(hold_id: str, caller: Custodian, context: ContextDep, now: NowDep) -> HoldPublic:
    with context.database.write() as connection:
        return holds.release_hold(connection, caller, hold_id=hold_id, now=now)
