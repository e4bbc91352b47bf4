"""Partner sharing: a partner agency's user gets reads only after a supervisor's approval.

A user of a partner agency (users.partner_agency) requests slices and remote
searches like anyone, for an open case they are assigned to (hub.slices), and
each starts "awaiting_approval": it serves no read and no image. A supervisor of
the hub's own agency approves it (its lifetime starts then) or declines it (it
never serves anything), with a note; an approval is withdrawn by revoking the
slice.

Who decides: a supervisor, for the requests on cases of their unit (a case is a
unit's when a home-agency user of that unit is assigned to it), or an
administrator for every case (hub.review.reviewer_unit). Nobody decides their own
request, and no partner agency's user decides any.

Every request (`slice.request` / `search.request` with the partner agency),
approval (`partner.approve`), decline (`partner.decline`), revocation
(`slice.revoke`), feed page (`partner.slice_access`) and image (`image.fetch`) is
a hub audit event; the transparency report names the partner agencies that
actually accessed data (hub.transparency).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.policy import SLICE_LIFETIME
from app.core.schemas import PartnerDecisionCreate, PartnerRequestPublic
from hub.audit import record_hub_event
from hub.db.tables import case_assignments, cases, slices, users
from hub.errors import HubError
from hub.review import reviewer_unit
from hub.slices import (
    APPROVED,
    AWAITING_APPROVAL,
    DECLINED,
    Caller,
    partner_agency_of,
    revoke_slice,
    slice_public,
)

APPROVE_ACTION = "partner.approve"
DECLINE_ACTION = "partner.decline"
APPROVALS = (AWAITING_APPROVAL, APPROVED, DECLINED)

NOT_IN_QUEUE = "No such partner request on the cases of your unit."
OWN_REQUEST = (
    "You cannot decide your own request; a supervisor of the case's unit "
    "or an administrator must decide it."
)
PARTNERS_CANNOT_DECIDE = (
    "Only the hub agency's supervisors and administrators decide partner requests; "
    "a partner agency's user cannot."
)

_requester = users.alias("requester")
_assignee = users.alias("assignee")


def _select() -> sa.Select[Any]:
    return sa.select(
        slices, _requester.c.username, _requester.c.display_name, _requester.c.user_id
    ).join(_requester, _requester.c.user_id == slices.c.user_id)


def _unit_condition(unit: str) -> sa.ColumnElement[bool]:
    """The slice's case has a home-agency user of `unit` assigned to it."""
    return sa.exists().where(
        case_assignments.c.case_number == slices.c.case_number,
        case_assignments.c.user_id == _assignee.c.user_id,
        _assignee.c.unit == unit,
        _assignee.c.partner_agency.is_(None),
    )


def decider_unit(connection: Connection, caller: Caller) -> str | None:
    """The caller's unit (None: every unit); 403 for anyone who may not decide."""
    every_unit, unit = reviewer_unit(connection, caller)
    if partner_agency_of(connection, caller.user_id) is not None:
        raise HubError(403, PARTNERS_CANNOT_DECIDE)
    return None if every_unit else unit


def request_public(row: Any, now: datetime) -> PartnerRequestPublic:
    asked = slice_public(row, now, to_decider=True).model_dump(exclude={"created_at"})
    return PartnerRequestPublic(
        **asked,
        approval=row.approval,
        partner_agency=row.partner_agency,
        username=row.username,
        display_name=row.display_name,
        requested_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.decision_note,
    )


def list_requests(
    connection: Connection,
    caller: Caller,
    *,
    now: datetime,
    status: str = "pending",
    limit: int = 100,
) -> list[PartnerRequestPublic]:
    """The partner requests on the caller's unit's cases, oldest first.

    status: pending (awaiting approval and not revoked, the default), all, or one
    approval (awaiting_approval, approved, declined).
    """
    unit = decider_unit(connection, caller)
    query = _select().where(slices.c.approval.is_not(None))
    if unit is not None:
        query = query.where(_unit_condition(unit))
    if status == "pending":
        query = query.where(slices.c.approval == AWAITING_APPROVAL, slices.c.revoked_at.is_(None))
    elif status != "all":
        if status not in APPROVALS:
            raise HubError(
                422,
                f"'{status}' is not a partner request status; use pending, all, or one of: "
                f"{', '.join(APPROVALS)}.",
            )
        query = query.where(slices.c.approval == status)
    query = query.order_by(slices.c.created_at, slices.c.slice_id).limit(limit)
    return [request_public(row, now) for row in connection.execute(query).all()]


def _decidable(connection: Connection, caller: Caller, slice_id: str) -> Any:
    """The request row, locked, if the caller may decide it (404 outside their unit)."""
    unit = decider_unit(connection, caller)
    query = _select().where(slices.c.slice_id == slice_id, slices.c.approval.is_not(None))
    if unit is not None:
        query = query.where(_unit_condition(unit))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=slices)
    row = connection.execute(query).first()
    if row is None:
        raise HubError(404, NOT_IN_QUEUE)
    if row.username == caller.username:
        raise HubError(403, OWN_REQUEST)
    return row


def _still_entitled(connection: Connection, row: Any, *, read_limit: int | None) -> None:
    """409 unless the case is still open, the requester still assigned to it, and the
    slice within the read limit (checked here, not at the request: hub.slices)."""
    if read_limit is not None and row.estimated_reads > read_limit:
        raise HubError(
            409,
            f"This request would hold about {int(row.estimated_reads):,} reads, over the "
            f"limit of {read_limit:,}; decline it (the partner may ask for a narrower one).",
        )
    case_status = connection.execute(
        sa.select(cases.c.status).where(cases.c.case_number == row.case_number)
    ).scalar_one()
    if case_status != "open":
        raise HubError(
            409,
            f"Case {row.case_number} is {case_status}; only an open case's request is approved.",
        )
    assigned = connection.execute(
        sa.select(case_assignments.c.user_id).where(
            case_assignments.c.case_number == row.case_number,
            case_assignments.c.user_id == row.user_id,
        )
    ).first()
    if assigned is None:
        raise HubError(
            409, f"{row.username} is no longer assigned to case {row.case_number}; decline it."
        )


def _fetch(connection: Connection, slice_id: str, now: datetime) -> PartnerRequestPublic:
    row = connection.execute(_select().where(slices.c.slice_id == slice_id)).one()
    return request_public(row, now)


def decide(
    connection: Connection,
    caller: Caller,
    slice_id: str,
    body: PartnerDecisionCreate,
    *,
    now: datetime,
    read_limit: int | None = None,
) -> PartnerRequestPublic:
    """Approve (the slice's lifetime starts now) or decline a pending request; audited."""
    row = _decidable(connection, caller, slice_id)
    note = body.note.strip()
    if row.revoked_at is not None:
        raise HubError(409, "This request's slice was revoked; it cannot be decided any more.")
    if row.approval != AWAITING_APPROVAL:
        raise HubError(409, f"This request was {row.approval} already; it is closed.")
    if not note:
        raise HubError(422, "Say in 'note' why you approve or decline this request.")
    values: dict[str, Any] = {"decided_by": caller.username, "decided_at": now,
                              "decision_note": note}  # fmt: skip
    if body.decision == "approve":
        _still_entitled(connection, row, read_limit=read_limit)
        values.update(approval=APPROVED, expires_at=now + SLICE_LIFETIME)
    else:
        values.update(approval=DECLINED)
    connection.execute(slices.update().where(slices.c.slice_id == slice_id).values(**values))
    record_hub_event(
        connection,
        action=APPROVE_ACTION if body.decision == "approve" else DECLINE_ACTION,
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={
            "slice_id": slice_id,
            "case_number": row.case_number,
            "username": row.username,
        },
        params={"partner_agency": row.partner_agency, "note": note},
    )
    return _fetch(connection, slice_id, now)


def revoke(
    connection: Connection, caller: Caller, slice_id: str, *, now: datetime
) -> PartnerRequestPublic:
    """Withdraw access: revoke the partner slice (pending or approved); audited."""
    row = _decidable(connection, caller, slice_id)
    if row.revoked_at is not None:
        raise HubError(409, "This request's slice was revoked already.")
    revoke_slice(
        connection, slice_id=slice_id, now=now, by=caller.username, session_id=caller.session_id
    )
    return _fetch(connection, slice_id, now)
