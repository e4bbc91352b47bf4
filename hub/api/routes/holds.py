"""The case's evidence: holds (propose or place, confirm, refuse, release, list per
case) and the evidence grant (a custodian fetches confirmed-evidence reads and images
without a slice)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.core.evidence import FRAMED, frame_images
from app.core.schemas import (
    EvidenceImagesRequest,
    EvidenceReadsPublic,
    EvidenceReadsRequest,
    HoldCreate,
    HoldDecision,
    HoldPublic,
    HoldRelease,
    Role,
)
from hub import evidence_grant, holds
from hub.api.deps import ContextDep, CurrentUser, NowDep, error_responses
from hub.errors import HubError, forbidden
from hub.images import SHA256_RE
from hub.slices import Caller

router = APIRouter(tags=["holds"])


def get_custodian(caller: CurrentUser) -> Caller:
    if caller.role not in holds.CUSTODIANS:
        raise forbidden(holds.CUSTODY_ONLY)
    return caller


def get_supervisor(caller: CurrentUser) -> Caller:
    if caller.role is not Role.SUPERVISOR:
        raise forbidden(holds.SUPERVISOR_ONLY)
    return caller


def get_grantee(caller: CurrentUser) -> Caller:
    if caller.role not in holds.CUSTODIANS:
        raise forbidden(evidence_grant.GRANT_ONLY)
    return caller


Custodian = Annotated[Caller, Depends(get_custodian)]
Supervisor = Annotated[Caller, Depends(get_supervisor)]
Grantee = Annotated[Caller, Depends(get_grantee)]


@router.post(
    "/holds",
    response_model=list[HoldPublic],
    status_code=201,
    responses=error_responses(403, 404, 409, 422),
)
def place_holds(
    body: HoldCreate, caller: CurrentUser, context: ContextDep, now: NowDep
) -> list[HoldPublic]:
    """A detective proposes; an evidence technician or supervisor places them confirmed."""
    with context.database.write() as connection:
        return holds.place_holds(
            connection,
            caller,
            body,
            now=now,
            case_number_pattern=context.settings.case_number_pattern,
        )


@router.get("/holds", response_model=list[HoldPublic], responses=error_responses(403, 404, 422))
def list_holds(
    case_number: Annotated[str, Query(min_length=1, max_length=32)],
    caller: CurrentUser,
    context: ContextDep,
) -> list[HoldPublic]:
    """The case's evidence record, from every workstation, oldest first."""
    with context.database.read() as connection:
        return holds.list_holds(
            connection,
            caller,
            case_number=case_number,
            case_number_pattern=context.settings.case_number_pattern,
        )


@router.post(
    "/holds/{hold_id}/confirm", response_model=HoldPublic, responses=error_responses(403, 404, 409)
)
def confirm_hold(
    hold_id: str,
    caller: Custodian,
    context: ContextDep,
    now: NowDep,
    body: HoldDecision | None = None,
) -> HoldPublic:
    note = body.note if body is not None else ""
    with context.database.write() as connection:
        return holds.confirm_hold(connection, caller, hold_id=hold_id, now=now, note=note)


@router.post(
    "/holds/{hold_id}/refuse", response_model=HoldPublic, responses=error_responses(403, 404, 409)
)
def refuse_hold(
    hold_id: str,
    caller: Custodian,
    context: ContextDep,
    now: NowDep,
    body: HoldDecision | None = None,
) -> HoldPublic:
    note = body.note if body is not None else ""
    with context.database.write() as connection:
        return holds.refuse_hold(connection, caller, hold_id=hold_id, now=now, note=note)


@router.post(
    "/holds/{hold_id}/release",
    response_model=HoldPublic,
    responses=error_responses(403, 404, 409, 422),
)
def release_hold(
    hold_id: str, body: HoldRelease, caller: Supervisor, context: ContextDep, now: NowDep
) -> HoldPublic:
    """A supervisor releases a hold, with the reason."""
    with context.database.write() as connection:
        return holds.release_hold(connection, caller, hold_id=hold_id, now=now, reason=body.reason)


@router.post(
    "/evidence/reads",
    response_model=EvidenceReadsPublic,
    responses=error_responses(403, 404, 422),
)
def evidence_reads(
    case_number: Annotated[str, Query(min_length=1, max_length=32)],
    body: EvidenceReadsRequest,
    caller: Grantee,
    context: ContextDep,
    now: NowDep,
) -> EvidenceReadsPublic:
    """The evidence grant: the case's confirmed-evidence reads, without a slice."""
    with context.database.write() as connection:
        return evidence_grant.grant_reads(
            connection,
            caller,
            case_number=case_number,
            read_ids=body.read_ids,
            now=now,
            case_number_pattern=context.settings.case_number_pattern,
        )


@router.post(
    "/evidence/images",
    response_class=Response,
    responses={**error_responses(403, 404, 422), 200: {"content": {FRAMED: {}}}},
)
def evidence_images(
    case_number: Annotated[str, Query(min_length=1, max_length=32)],
    body: EvidenceImagesRequest,
    caller: Grantee,
    context: ContextDep,
    now: NowDep,
) -> Response:
    """The evidence grant: images of the case's confirmed-evidence reads, several in one
    answer (app.core.evidence.frame_images: each its SHA-256, length and bytes)."""
    bad = [sha for sha in body.sha256s if not SHA256_RE.fullmatch(sha)]
    if bad:
        raise HubError(422, "An image is named by its SHA-256: 64 lower-case hex characters.")
    with context.database.write() as connection:
        granted = evidence_grant.grant_images(
            connection,
            caller,
            case_number=case_number,
            sha256s=body.sha256s,
            now=now,
            case_number_pattern=context.settings.case_number_pattern,
        )
    images = []
    for sha in granted:
        try:
            images.append((sha, context.images.read(sha)))
        except FileNotFoundError:
            raise HubError(404, f"The image {sha} is no longer in the hub's store.") from None
    return Response(content=frame_images(images), media_type=FRAMED)
