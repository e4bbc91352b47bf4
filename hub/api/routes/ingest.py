"""POST /ingest/reads: a camera feed posts one read with its two JPEGs.

POST /ingest/reads:batch: up to 500 reads at once, one outcome per read, the good
new ones recorded in one transaction.

POST /ingest/reads:batch-binary: the same, the JPEGs sent raw after a JSON header
(the camera's fast path: no base64 to encode, decode or carry).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from app.core.schemas import (
    READ_BATCH_MEDIA_TYPE,
    IngestBatchPublic,
    IngestPublic,
    ReadIngestCreate,
)
from hub.api.deps import CameraFeed, ContextDep, NowDep, error_responses
from hub.api.nul import holds_nul, nul_message
from hub.errors import HubError
from hub.image_leases import leasing, release
from hub.ingest import (
    CREATED,
    MAX_BATCH_READS,
    CaptureLimits,
    check_batch_size,
    check_read,
    existing_outcome,
    hashed_row,
    image_files,
    ingest_batch,
    insert_read,
    parse_read_batch,
)

router = APIRouter(tags=["ingest"])


def capture_limits(context: ContextDep, now: datetime) -> CaptureLimits:
    """The capture times the hub takes now: within retention, not ahead beyond the skew."""
    settings = context.settings
    return CaptureLimits(
        now=now,
        retention=timedelta(days=settings.retention_days),
        skew=timedelta(seconds=settings.capture_clock_skew_seconds),
    )


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
    checked = check_read(body, capture_limits(context, now))
    row = hashed_row(checked)
    files = image_files(row, checked)
    try:
        # The images are leased (no purge removes them: hub.image_leases), then written
        # while the read goes in; both are stored before the commit, which drops the lease.
        with leasing(context.database, files, now=now) as lease:
            with context.database.write() as connection, context.images.storing(files):
                outcome = insert_read(connection, row, allowed_camera=feed.camera_id, now=now)
                release(connection, lease)
            lease.released = True
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
    check_batch_size(len(items))
    outcome = ingest_batch(
        context.database,
        context.images,
        items,
        allowed_camera=feed.camera_id,
        now=now,
        limits=capture_limits(context, now),
    )
    return JSONResponse(outcome.model_dump(mode="json"))


BINARY_BATCH_MEDIA_TYPES = (READ_BATCH_MEDIA_TYPE, "application/octet-stream")
_BINARY_BATCH_DESCRIPTION = f"""\
Up to {MAX_BATCH_READS} reads with their JPEGs sent raw, not in base64: what
POST /ingest/reads:batch does, for a quarter fewer bytes and no base64 to encode or
decode. Content-Type: `{READ_BATCH_MEDIA_TYPE}` (or `application/octet-stream`).
The body, in this order:

1. the header's length in bytes: 4 bytes, an unsigned big-endian integer;
2. the header: UTF-8 JSON, an array of reads, each as in POST /ingest/reads but
   with `image_size` and `crop_size`, the byte counts of its two JPEGs, in place of
   `image_jpeg` and `crop_jpeg`;
3. the JPEGs, raw: the first read's scene (`image_size` bytes) then its plate crop
   (`crop_size` bytes), then the second read's, and so on; the body ends with the
   last read's crop.

The reply is the one of POST /ingest/reads:batch: an outcome per read in the order
sent (a read whose JPEG is truncated or damaged is refused, the reason naming it,
as `image_jpeg` or `crop_jpeg`). The whole body is refused (422) when it cannot be
split: a header that is not a JSON array, a read without valid byte counts, byte
counts that do not add up to the body's length.
"""


@router.post(
    "/ingest/reads:batch-binary",
    response_model=IngestBatchPublic,
    responses=error_responses(403, 409, 413, 415, 422),
    description=_BINARY_BATCH_DESCRIPTION,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in BINARY_BATCH_MEDIA_TYPES
            },
        }
    },
)
def ingest_reads_batch_binary(
    request: Request,
    body: Annotated[bytes, Body(media_type=READ_BATCH_MEDIA_TYPE)],
    feed: CameraFeed,
    context: ContextDep,
    now: NowDep,
) -> JSONResponse:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in BINARY_BATCH_MEDIA_TYPES:
        raise HubError(
            415,
            f"A binary read batch is sent as {READ_BATCH_MEDIA_TYPE}; "
            "JSON reads go to /ingest/reads:batch.",
        )
    items, jpegs = parse_read_batch(body)
    if holds_nul(items):  # the header's text, as NulRefusalMiddleware checks a JSON body
        raise HubError(422, nul_message("the read batch's header"))
    outcome = ingest_batch(
        context.database,
        context.images,
        items,
        allowed_camera=feed.camera_id,
        now=now,
        jpegs=jpegs,
        limits=capture_limits(context, now),
    )
    return JSONResponse(outcome.model_dump(mode="json"))
