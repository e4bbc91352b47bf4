"""POST /ingest/reads: a camera feed posts one read with its two JPEGs."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.core.schemas import IngestPublic, ReadIngestCreate
from hub.api.deps import CameraFeed, ContextDep, NowDep, error_responses
from hub.ingest import CREATED, check_read, existing_outcome, insert_read, stored_row

router = APIRouter(tags=["ingest"])


@router.post(
    "/ingest/reads",
    response_model=IngestPublic,
    status_code=201,
    responses={
        200: {"model": IngestPublic, "description": "The same read was stored before."},
        **error_responses(403, 409, 413, 422),
    },
)
def ingest_read(
    body: ReadIngestCreate, feed: CameraFeed, context: ContextDep, now: NowDep
) -> JSONResponse:
    row = stored_row(context.images, check_read(body))
    try:
        with context.database.write() as connection:
            outcome = insert_read(connection, row, allowed_camera=feed.camera_id, now=now)
    except sa.exc.IntegrityError:
        # A concurrent request stored this read id first: answer as for a resend.
        with context.database.read() as connection:
            again = existing_outcome(connection, row)
        if again is None:
            raise
        outcome = again
    status = 201 if outcome.status == CREATED else 200
    return JSONResponse(outcome.model_dump(mode="json"), status_code=status)
