"""/review: supervisors review flagged searches; users answer justification requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.core.schemas import (
    JustificationAnswerCreate,
    JustificationRequestPublic,
    RecentSearchPublic,
    ReviewBulkApproveCreate,
    ReviewDecisionCreate,
    ReviewItemPublic,
    ReviewReadsPublic,
)
from hub import review, review_context, transparency_report
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.audit import record_hub_event
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
    after: Annotated[
        str | None, Query(max_length=32, description="the last item of the page before")
    ] = None,
) -> list[ReviewItemPublic]:
    """The flagged searches of the caller's unit (every unit for an admin), but their own:
    most severe first, then newest; a page of `limit`, the next one `after` its last."""
    with context.database.read() as connection:
        return review.list_items(
            connection, caller, status=status, limit=limit, username=user, case_number=case,
            rule=rule, since=since, until=until, after=after,
        )  # fmt: skip


@router.post(
    "/items/approve-sample",
    response_model=list[ReviewItemPublic],
    responses=error_responses(403, 404, 409, 422),
)
def approve_sample(
    body: ReviewBulkApproveCreate, caller: Reviewer, context: ContextDep, now: NowDep
) -> list[ReviewItemPublic]:
    """Approve low-severity random-sample items together, all or none; each audited."""
    with context.database.write() as connection:
        return review.approve_sample(connection, caller, body, now=now)


@router.get(
    "/items/{item_id}", response_model=ReviewItemPublic, responses=error_responses(403, 404)
)
def get_item(caller: Reviewer, context: ContextDep, item_id: ItemId) -> ReviewItemPublic:
    with context.database.read() as connection:
        return review.get_item(connection, caller, item_id)


@router.get(
    "/items/{item_id}/searches",
    response_model=list[RecentSearchPublic],
    responses=error_responses(403, 404),
)
def searches_around(
    caller: Reviewer,
    context: ContextDep,
    item_id: ItemId,
    hours: Annotated[int, Query(ge=1, le=24 * 30, description="before and after")] = 24,
) -> list[RecentSearchPublic]:
    """The flagged user's searches from `hours` before to `hours` after this one."""
    with context.database.read() as connection:
        return review_context.searches_around(connection, caller, item_id, hours=hours)


@router.get(
    "/items/{item_id}/reads",
    response_model=ReviewReadsPublic,
    responses=error_responses(403, 404),
)
def item_reads(
    caller: Reviewer, context: ContextDep, now: NowDep, item_id: ItemId
) -> ReviewReadsPublic:
    """The reads the flagged search returned, with no case assignment needed; audited
    (`review.reads`), and their images may be fetched for an hour."""
    with context.database.write() as connection:
        return review_context.item_reads(connection, caller, item_id, now=now)


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
    "/transparency-report",
    response_class=Response,
    responses={**error_responses(403, 422), 200: {"content": {"application/pdf": {}}}},
)
def monthly_report(
    caller: Reviewer,
    context: ContextDep,
    now: NowDep,
    month: Annotated[str, Query(min_length=7, max_length=7, description="YYYY-MM (UTC)")],
) -> Response:
    """The council's monthly transparency report as PDF: the public page's figures over
    the month, with its refused requests and partner accesses; audited."""
    try:
        with context.database.write() as connection:
            report = transparency_report.build_monthly(
                connection, month=month, now=now, retention_days=context.settings.retention_days
            )
            record_hub_event(
                connection,
                action=transparency_report.REPORT_ACTION,
                now=now,
                username=caller.username,
                session_id=caller.session_id,
                object_refs={"month": month},
                params={"refusals": len(report.refusals)},
            )
    except transparency_report.MonthError as exc:
        raise HubError(422, str(exc)) from None
    pdf = transparency_report.render_pdf(report)
    filename = f"transparency-{month}.pdf"
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


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
