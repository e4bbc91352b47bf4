"""GET /slices/{slice_id}/changes: the slice's change feed, page by page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.core.policy import FEED_PAGE_DEFAULT, FEED_PAGE_MAX
from app.core.schemas import FeedPage
from hub import feed
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.slices import record_partner_access

router = APIRouter(tags=["slices"])


@router.get(
    "/slices/{slice_id}/changes",
    response_model=FeedPage,
    responses=error_responses(400, 404, 410),
)
def changes(
    slice_id: str,
    caller: CurrentUser,
    context: ContextDep,
    now: NowDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=FEED_PAGE_MAX)] = FEED_PAGE_DEFAULT,
) -> Response:
    # The page goes out as built: its checksum covers exactly these JSON values.
    with context.database.read() as connection:
        page = feed.feed_page(
            connection,
            context.cursors,
            slice_id=slice_id,
            user_id=caller.user_id,
            cursor=cursor,
            limit=limit,
            now=now,
        )
    if page.partner_agency is not None:
        # A partner agency's access is on record before anything is sent.
        with context.database.write() as connection:
            record_partner_access(
                connection, slice_id=slice_id, username=caller.username, now=now,
                partner_agency=page.partner_agency,
            )  # fmt: skip
    return Response(page.body, media_type="application/json")
