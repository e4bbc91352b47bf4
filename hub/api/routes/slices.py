"""Request a slice (validated and audited) and list the caller's slices."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from app.core.schemas import SliceCreate, SlicePublic
from hub import slices
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.flag_policy import current_policy

router = APIRouter(tags=["slices"])


@router.post(
    "/slices",
    response_model=SlicePublic,
    status_code=201,
    responses=error_responses(403, 404, 409, 422),
)
def create_slice(
    body: SliceCreate, caller: CurrentUser, context: ContextDep, now: NowDep
) -> SlicePublic:
    settings = context.settings
    rules = slices.SliceRules(
        retention=timedelta(days=settings.retention_days),
        case_number_pattern=settings.case_number_pattern,
        read_limit=settings.slice_read_limit,
        flag_policy=current_policy(settings.data_dir),
    )
    with context.database.write() as connection:
        outcome = slices.create_slice(connection, caller, body, rules, now=now)
    if outcome.error is not None:
        raise outcome.error
    assert outcome.slice is not None
    return outcome.slice


@router.get("/slices", response_model=list[SlicePublic], responses=error_responses())
def list_slices(caller: CurrentUser, context: ContextDep, now: NowDep) -> list[SlicePublic]:
    with context.database.read() as connection:
        return slices.list_slices(connection, user_id=caller.user_id, now=now)
