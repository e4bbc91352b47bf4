"""GET /images/{sha256}: an image of a read in one of the caller's active slices, or of
the read behind a hotlist alert addressed to the caller (to verify the hit); POST
/images:batch: up to 256 of them in one reply (app.core.image_batch's frames)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.core.image_batch import MEDIA_TYPE, ImageBatchQuery, frame
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.audit import record_hub_event
from hub.errors import HubError
from hub.image_access import alert_image_visible_to, image_visible_to, visible_images
from hub.images import JPEG, SHA256_RE
from hub.review_context import review_image_grant

router = APIRouter(tags=["images"])

NOT_HERE = "No such image in your active slices or alerts; sync the slice that holds it."


@router.get(
    "/images/{sha256}",
    response_class=Response,
    responses={**error_responses(404, 422), 200: {"content": {JPEG: {}}}},
)
def get_image(sha256: str, caller: CurrentUser, context: ContextDep, now: NowDep) -> Response:
    if not SHA256_RE.fullmatch(sha256):
        raise HubError(422, "An image is named by its SHA-256: 64 lower-case hex characters.")
    with context.database.write() as connection:
        refs: dict[str, str] = {"image_sha256": sha256}
        if not (
            image_visible_to(connection, sha256=sha256, user_id=caller.user_id, now=now)
            or alert_image_visible_to(connection, sha256=sha256, caller=caller)
        ):
            # A reviewer who opened a flagged search's reads (hub.review_context).
            item_id = review_image_grant(connection, sha256=sha256, caller=caller, now=now)
            if item_id is None:
                raise HubError(404, NOT_HERE)
            refs["review_item_id"] = item_id
        record_hub_event(
            connection,
            action="image.fetch",
            now=now,
            username=caller.username,
            session_id=caller.session_id,
            object_refs=refs,
        )
    try:
        data = context.images.read(sha256)
    except FileNotFoundError:
        raise HubError(404, NOT_HERE) from None
    return Response(content=data, media_type=JPEG, headers={"X-Content-SHA256": sha256})


@router.post(
    "/images:batch",
    response_class=Response,
    responses={**error_responses(422, 503), 200: {"content": {MEDIA_TYPE: {}}}},
)
def get_images(
    body: ImageBatchQuery, caller: CurrentUser, context: ContextDep, now: NowDep
) -> Response:
    """The images asked for, in the order asked (each once), as frames: each image the
    caller may fetch (GET /images/{sha256}'s rule) with its bytes, any other as absent.
    One audit event (`image.fetch`) names the images given."""
    wanted = list(dict.fromkeys(body.sha256))
    with context.database.write() as connection:
        visible = visible_images(connection, shas=wanted, caller=caller, now=now)
        given = [sha for sha in wanted if sha in visible]
        if given:
            record_hub_event(
                connection,
                action="image.fetch",
                now=now,
                username=caller.username,
                session_id=caller.session_id,
                object_refs={"image_sha256": given},
                params={"images": len(given), "batch": True},
            )

    # Read before the reply starts, so a store that is down answers 503, not a cut reply.
    stored = dict(context.images.read_many(given)) if given else {}
    body_bytes = b"".join(frame(sha, stored.get(sha)) for sha in wanted)
    return Response(body_bytes, media_type=MEDIA_TYPE, headers={"X-Image-Count": str(len(wanted))})
