"""POST /audit/events: a workstation mirrors its audit journal to the hub."""

from __future__ import annotations

from functools import partial

import sqlalchemy as sa
from fastapi import APIRouter

from app.core.errors import ErrorKind
from app.core.schemas import AuditAck, AuditBatch
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.api.routes import audit_log
from hub.audit import BatchRefusal, ingest_batch
from hub.db.tables import devices
from hub.errors import HubError
from hub.flag_policy import current_policy
from hub.flags import flag_mirrored
from hub.sessions import DEVICE_REVOKED, device_revoked

router = APIRouter(tags=["audit"])
router.include_router(audit_log.router)  # checkpoint and proofs (hub.merkle_log)


@router.post("/audit/events", response_model=AuditAck, responses=error_responses(403, 422))
def post_events(
    body: AuditBatch, caller: CurrentUser, context: ContextDep, now: NowDep
) -> AuditAck:
    """Store the batch; 422 (nothing stored, the refusal audited) when one event is not
    the device owner's or carries a wrongly typed parameter (hub.audit)."""
    if any(event.device_id != body.device_id for event in body.events):
        raise HubError(422, "Every event of a batch must come from the batch's device.")
    with context.database.write() as connection:
        owner = connection.execute(
            sa.select(devices.c.user_id).where(devices.c.device_id == body.device_id)
        ).scalar_one_or_none()
        if owner is None or int(owner) != caller.user_id:
            raise HubError(403, "This device is not registered to you; register it first.")
        if device_revoked(connection, body.device_id):
            raise HubError(403, DEVICE_REVOKED, ErrorKind.DEVICE_REVOKED)
        policy = current_policy(context.settings.data_dir)
        outcome = ingest_batch(
            connection,
            body.device_id,
            body.events,
            owner=caller.username,
            now=now,
            on_stored=partial(flag_mirrored, policy=policy, now=now),
        )
    if isinstance(outcome, BatchRefusal):  # committed: the refusal is audited
        raise HubError(422, outcome.message)
    return outcome
