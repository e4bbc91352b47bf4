"""/review: supervisors review flagged searches; users answer justification requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.core.schemas import (
    JustificationAnswerCreate,
    JustificationRequestPublic,
    ReviewDecisionCreate,
    ReviewItemPublic,
)
from hub import review
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.errors import HubError
from hub.slices import Caller

router = APIRouter(prefix="/review", tags=["review"])


def get_reviewer(caller: CurrentUser, context: ContextDep, now: NowDep, request: Request) -> Caller:
    """A supervisor with a unit, or an administrator (checked before the body is read);
    anyone else is refused, and the attempt is audited (`review.refused`)."""
    try:
        with context.database.read() as connection:
            review.reviewer_unit(connection, caller)
    except HubError as refusal:
        with context.database.write() as connection:
            review.record_refusal(
                connection, caller, refusal, method=request.method, path=request.url.path, now=now
            )
        raise
    return caller


Reviewer = Annotated[Caller, Depends(get_reviewer)]

ItemId = Annotated[str, Path(min_length=1, max_length=32)]


@router.get("/items", response_model=list[ReviewItemPublic], responses=error_responses(403, 422))
def list_items(
    caller: Reviewer,
    context: ContextDep,
    status: Annotated[
        str,
        Query(
            max_length=32,
            description="pending (default: open, justification_requested, answered), "
            "all, or one status",
        ),
    ] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    user: Annotated[str | None, Query(max_length=64, description="one user's")] = None,
    case: Annotated[str | None, Query(max_length=32, description="one case's")] = None,
    rule: Annotated[
        str | None, Query(max_length=32, description="those where this rule fired")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="searches at or after (ISO 8601, UTC)")
    ] = None,
    until: Annotated[datetime | None, Query(description="searches before (ISO 8601, UTC)")] = None,
) -> list[ReviewItemPublic]:
    """The flagged searches of the caller's unit (every unit for an admin), but their own."""
    with context.database.read() as connection:
        return review.list_items(
            connection, caller, status=status, limit=limit, username=user, case_number=case,
            rule=rule, since=since, until=until,
        )  # fmt: skip


@router.get(
    "/items/{item_id}", response_model=ReviewItemPublic, responses=error_responses(403, 404)
)
def get_item(caller: Reviewer, context: ContextDep, item_id: ItemId) -> ReviewItemPublic:
    with context.database.read() as connection:
        return review.get_item(connection, caller, item_id)


@router.post(
    "/items/{item_id}/decision",
    response_model=ReviewItemPublic,
    responses=error_responses(403, 404, 409, 422),
)
def decide(
    body: ReviewDecisionCreate,
    caller: Reviewer,
    context: ContextDep,
    now: NowDep,
    item_id: ItemId,
) -> ReviewItemPublic:
    """approve, request_justification (note: the question) or refer (note: why, to whom)."""
    with context.database.write() as connection:
        return review.decide(connection, caller, item_id, body, now=now)


@router.get(
    "/requests", response_model=list[JustificationRequestPublic], responses=error_responses()
)
def my_requests(caller: CurrentUser, context: ContextDep) -> list[JustificationRequestPublic]:
    """The justification requests waiting for the caller's answer."""
    with context.database.read() as connection:
        return review.pending_requests(connection, caller)


@router.post(
    "/requests/{item_id}/answer",
    status_code=204,
    response_class=Response,
    responses=error_responses(404, 409, 422),
)
def answer(
    body: JustificationAnswerCreate,
    caller: CurrentUser,
    context: ContextDep,
    now: NowDep,
    item_id: ItemId,
) -> Response:
    """Answer a supervisor's request; the answer is attached and the item goes back to review."""
    with context.database.write() as connection:
        review.answer(connection, caller, item_id, body, now=now)
    return Response(status_code=204)
