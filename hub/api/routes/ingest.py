"""POST /ingest/reads: a camera feed posts one read with its two JPEGs.

POST /ingest/reads:batch: up to 500 reads at once, one outcome per read, the good
new ones recorded in one transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from app.core.schemas import IngestBatchPublic, IngestPublic, ReadIngestCreate
from hub.api.deps import CameraFeed, ContextDep, NowDep, error_responses
from hub.errors import HubError
from hub.ingest import (
    CREATED,
    MAX_BATCH_READS,
    check_read,
    existing_outcome,
    hashed_row,
    image_files,
    ingest_batch,
    insert_read,
)

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
    checked = check_read(body)
    row = hashed_row(checked)
    try:
        # The images are written while the read goes in; both are stored before the commit.
        with (
            context.database.write() as connection,
            context.images.storing(image_files(row, checked)),
        ):
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


_BATCH_SCHEMA = {
    "type": "array",
    "maxItems": MAX_BATCH_READS,
    "items": {"$ref": "#/components/schemas/ReadIngestCreate"},
}


@router.post(
    "/ingest/reads:batch",
    response_model=IngestBatchPublic,
    responses=error_responses(403, 409, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}},
        }
    },
)
def ingest_reads_batch(
    items: Annotated[list[Any], Body()],
    feed: CameraFeed,
    context: ContextDep,
    now: NowDep,
) -> JSONResponse:
    if len(items) > MAX_BATCH_READS:
        raise HubError(
            413,
            f"A batch holds at most {MAX_BATCH_READS} reads; this one has {len(items)}. "
            "Send them in smaller batches.",
        )
    outcome = ingest_batch(
        context.database, context.images, items, allowed_camera=feed.camera_id, now=now
    )
    return JSONResponse(outcome.model_dump(mode="json"))
