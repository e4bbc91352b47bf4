"""Alerts: hotlist hits delivered to the users they concern, and their acknowledgement.

An alert goes only to the users assigned to its entry's case: an alert carries a
read, its place and its images, and the case is what entitles anyone to them. The
entry's unit is a label (the unit working it); it sends alerts to nobody else, nor
does the entry's author get them unless assigned. Recipients are worked out when
alerts are read, so a new assignment sees the case's alerts, and an unassignment
stops them.

A recipient acknowledges an alert once, recording the policy's verification steps
(visual confirmation, state match, entry re-confirmed) and the outcome; an outcome
of action_taken is refused unless every step is recorded
(app.core.schemas.acknowledgement_problem). Audited as `alert.acknowledge`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import ErrorKind
from app.core.schemas import (
    AlertAcknowledgeCreate,
    AlertPage,
    AlertPublic,
    acknowledgement_problem,
)
from hub.audit import record_hub_event
from hub.db.tables import alerts, case_assignments, hotlist_entries, reads
from hub.errors import HubError, not_found
from hub.slices import Caller, partner_agency_of

MAX_PAGE = 500

_COLUMNS = (
    alerts,
    hotlist_entries.c.plate.label("entry_plate"),
    hotlist_entries.c.state.label("entry_state"),
    hotlist_entries.c.reason,
    hotlist_entries.c.source,
    reads.c.plate.label("read_plate"),
    reads.c.state.label("read_state"),
    reads.c.captured_at,
    reads.c.camera_id,
    reads.c.image_sha256,
    reads.c.crop_sha256,
)


def _joined() -> Any:
    return alerts.join(hotlist_entries, hotlist_entries.c.entry_id == alerts.c.entry_id).outerjoin(
        reads, reads.c.read_id == alerts.c.read_id
    )


def recipient_condition(connection: Connection, caller: Caller) -> Any:
    """Alerts of the caller's assigned cases (and of no other: not by unit).

    A partner agency's user gets none: a partner sees reads only through a slice a
    supervisor approved (hub.partners), and an alert carries a read and its images.
    """
    if partner_agency_of(connection, caller.user_id) is not None:
        return sa.false()
    assigned = sa.select(case_assignments.c.case_number).where(
        case_assignments.c.user_id == caller.user_id
    )
    return alerts.c.case_number.in_(assigned)


def alert_public(row: Any) -> AlertPublic:
    return AlertPublic(
        alert_id=int(row.alert_id),
        entry_id=row.entry_id,
        case_number=row.case_number,
        unit=row.unit,
        match=row.match,
        created_at=row.created_at,
        entry_plate=row.entry_plate,
        entry_state=row.entry_state,
        reason=row.reason,
        source=row.source,
        read_id=row.read_id,
        read_plate=row.read_plate,
        read_state=row.read_state,
        captured_at=row.captured_at,
        camera_id=row.camera_id,
        image_sha256=row.image_sha256,
        crop_sha256=row.crop_sha256,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        visual_confirmed=row.visual_confirmed,
        state_match=row.state_match,
        entry_confirmed=row.entry_confirmed,
        outcome=row.outcome,
        note=row.note,
    )


def latest_alert_id(connection: Connection) -> int:
    """The newest alert's id (0 when there is none): a cursor for "only new alerts"."""
    return int(connection.execute(sa.select(sa.func.max(alerts.c.alert_id))).scalar() or 0)


def list_alerts(
    connection: Connection, caller: Caller, *, after: int = 0, limit: int = 100
) -> AlertPage:
    """The caller's alerts with an id above `after`, oldest first."""
    if limit < 1 or limit > MAX_PAGE:
        raise HubError(422, f"limit must be between 1 and {MAX_PAGE}.")
    rows = connection.execute(
        sa.select(*_COLUMNS)
        .select_from(_joined())
        .where(alerts.c.alert_id > after, recipient_condition(connection, caller))
        .order_by(alerts.c.alert_id)
        .limit(limit)
    ).all()
    page = [alert_public(row) for row in rows]
    return AlertPage(alerts=page, cursor=page[-1].alert_id if page else after)


def _alert_for(connection: Connection, caller: Caller, alert_id: int, *, lock: bool) -> Any:
    query = (
        sa.select(*_COLUMNS)
        .select_from(_joined())
        .where(alerts.c.alert_id == alert_id, recipient_condition(connection, caller))
    )
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update(of=alerts)
    row = connection.execute(query).first()
    if row is None:
        raise not_found(
            "No such alert for you: it does not exist, or it concerns a case or unit "
            "you are not assigned to."
        )
    return row


def acknowledge(
    connection: Connection,
    caller: Caller,
    *,
    alert_id: int,
    request: AlertAcknowledgeCreate,
    now: datetime,
) -> AlertPublic:
    """Record a recipient's verification steps and the hit's outcome (once per alert)."""
    row = _alert_for(connection, caller, alert_id, lock=True)
    if row.acknowledged_at is not None:
        raise HubError(
            409,
            f"This alert was already acknowledged by {row.acknowledged_by} "
            f"(outcome {row.outcome}).",
        )
    problem = acknowledgement_problem(request)
    if problem is not None:
        raise HubError(422, problem, ErrorKind.POLICY_REFUSED)
    note = request.note.strip()
    connection.execute(
        alerts.update()
        .where(alerts.c.alert_id == alert_id)
        .values(
            acknowledged_by=caller.username,
            acknowledged_at=now,
            visual_confirmed=request.visual_confirmed,
            state_match=request.state_match,
            entry_confirmed=request.entry_confirmed,
            outcome=request.outcome.value,
            note=note,
        )
    )
    record_hub_event(
        connection,
        action="alert.acknowledge",
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={
            "alert_id": alert_id,
            "entry_id": row.entry_id,
            "read_id": row.read_id,
            "case_number": row.case_number,
        },
        params={
            "visual_confirmed": request.visual_confirmed,
            "state_match": request.state_match,
            "entry_confirmed": request.entry_confirmed,
            "outcome": request.outcome.value,
            "note": note,
        },
    )
    return alert_public(_alert_for(connection, caller, alert_id, lock=False))
