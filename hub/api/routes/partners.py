"""/partner-requests: supervisors approve or decline partner agency users' slices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from app.core.schemas import PartnerDecisionCreate, PartnerRequestPublic
from hub import partners
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.slices import Caller

router = APIRouter(prefix="/partner-requests", tags=["partners"])


def get_decider(caller: CurrentUser, context: ContextDep) -> Caller:
    """A home-agency supervisor with a unit, or an administrator (before the body is read)."""
    with context.database.read() as connection:
        partners.decider_unit(connection, caller)
    return caller


Decider = Annotated[Caller, Depends(get_decider)]

SliceId = Annotated[str, Path(min_length=1, max_length=32)]


@router.get("", response_model=list[PartnerRequestPublic], responses=error_responses(403, 422))
def list_requests(
    caller: Decider,
    context: ContextDep,
    now: NowDep,
    status: Annotated[
        str,
        Query(
            max_length=32,
            description="pending (default: awaiting approval, not revoked), all, "
            "awaiting_approval, approved or declined",
        ),
    ] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PartnerRequestPublic]:
    """The partner requests on the cases of the caller's unit (every case for an admin)."""
    with context.database.read() as connection:
        return partners.list_requests(connection, caller, now=now, status=status, limit=limit)


@router.post(
    "/{slice_id}/decision",
    response_model=PartnerRequestPublic,
    responses=error_responses(403, 404, 409, 422),
)
def decide(
    body: PartnerDecisionCreate,
    caller: Decider,
    context: ContextDep,
    now: NowDep,
    slice_id: SliceId,
) -> PartnerRequestPublic:
    """approve (the slice serves from now on, for its lifetime) or decline, with a note."""
    with context.database.write() as connection:
        return partners.decide(
            connection,
            caller,
            slice_id,
            body,
            now=now,
            read_limit=context.settings.slice_read_limit,
        )


@router.post(
    "/{slice_id}/revoke",
    response_model=PartnerRequestPublic,
    responses=error_responses(403, 404, 409),
)
def revoke(
    caller: Decider, context: ContextDep, now: NowDep, slice_id: SliceId
) -> PartnerRequestPublic:
    """Withdraw the access: the slice is revoked and serves nothing more."""
    with context.database.write() as connection:
        return partners.revoke(connection, caller, slice_id, now=now)
