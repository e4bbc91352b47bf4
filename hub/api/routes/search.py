"""POST /search: a remote plate search that becomes a slice."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from app.core.schemas import SearchCreate, SearchPublic
from hub import slices
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.flag_policy import current_policy
from hub.search import run_search

router = APIRouter(tags=["search"])


def slice_rules(context: ContextDep) -> slices.SliceRules:
    settings = context.settings
    return slices.SliceRules(
        retention=timedelta(days=settings.retention_days),
        case_number_pattern=settings.case_number_pattern,
        read_limit=settings.slice_read_limit,
        flag_policy=current_policy(settings.data_dir),
    )


@router.post(
    "/search",
    response_model=SearchPublic,
    status_code=201,
    responses=error_responses(403, 404, 409, 422),
)
def search(
    body: SearchCreate, caller: CurrentUser, context: ContextDep, now: NowDep
) -> SearchPublic:
    with context.database.write() as connection:
        result, error = run_search(connection, caller, body, slice_rules(context), now=now)
    if error is not None:
        raise error
    assert result is not None
    return result
