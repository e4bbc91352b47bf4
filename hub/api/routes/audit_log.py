"""The audit log's Merkle tree: signed checkpoint, inclusion and consistency proofs."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from app.core.schemas import (
    AuditCheckpointPublic,
    AuditConsistencyProofPublic,
    AuditInclusionProofPublic,
)
from hub.api.deps import MAX_ROW_ID, ContextDep, CurrentUser, NowDep, error_responses
from hub.merkle_log import AuditLog

router = APIRouter(tags=["audit"])
_create_lock = threading.Lock()


def get_audit_log(request: Request, context: ContextDep) -> AuditLog:
    """The app's audit tree and checkpoint key, made on first use."""
    state = request.app.state
    log: AuditLog | None = getattr(state, "audit_log", None)
    if log is None:
        with _create_lock:
            log = getattr(state, "audit_log", None)
            if log is None:
                log = AuditLog.open(context.settings.data_dir)
                state.audit_log = log
    return log


AuditLogDep = Annotated[AuditLog, Depends(get_audit_log)]


@router.get(
    "/audit/checkpoint", response_model=AuditCheckpointPublic, responses=error_responses(503)
)
def checkpoint(
    _caller: CurrentUser, context: ContextDep, log: AuditLogDep, now: NowDep
) -> AuditCheckpointPublic:
    with context.database.read() as connection:
        return log.checkpoint(connection, now=now)


@router.get(
    "/audit/proof/inclusion",
    response_model=AuditInclusionProofPublic,
    responses=error_responses(404, 422),
)
def inclusion(
    _caller: CurrentUser,
    context: ContextDep,
    log: AuditLogDep,
    event_id: Annotated[str, Query(min_length=1, max_length=64)],
    tree_size: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> AuditInclusionProofPublic:
    with context.database.read() as connection:
        return log.inclusion(connection, event_id=event_id, tree_size=tree_size)


@router.get(
    "/audit/proof/consistency",
    response_model=AuditConsistencyProofPublic,
    responses=error_responses(422),
)
def consistency(
    _caller: CurrentUser,
    context: ContextDep,
    log: AuditLogDep,
    first: Annotated[int, Query(ge=0, le=MAX_ROW_ID)],
    second: Annotated[int, Query(ge=0, le=MAX_ROW_ID)],
) -> AuditConsistencyProofPublic:
    with context.database.read() as connection:
        return log.consistency(connection, first=first, second=second)
