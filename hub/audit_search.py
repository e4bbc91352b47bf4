"""The audit trail browser at the hub: search the log, and each device's chain status.

Who: supervisors (their unit's users' events and devices) and administrators (every
event, the hub's own chain too); anyone else is refused, and the route audits the
attempt (hub.review.record_refusal). Each search is itself audited (`audit.search`).

Search: by user, device, case, action, event ids (an insight's events) and time (the event's own time, [from, to)),
newest first, a page at a time; the cursor is the last event's (time, row id).
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.audit_trail import (
    PAGE_LIMIT,
    AuditEventPublic,
    AuditSearchPage,
    ChainStatus,
    DeviceChainPublic,
    chain_summary,
)
from app.core.canonical import utc_iso
from hub.audit import HUB_DEVICE_ID, check_device_chain, record_hub_event
from hub.db.tables import audit_events, devices, users
from hub.errors import HubError
from hub.review import reviewer_unit
from hub.slices import Caller

SEARCH_ACTION = "audit.search"
BAD_CURSOR = "The page cursor is not one this hub gave; start the search again."


def _event(row: sa.Row[tuple[object, ...]]) -> AuditEventPublic:
    m = row._mapping
    return AuditEventPublic(
        event_id=str(m["event_id"]), device_id=str(m["device_id"]), username=str(m["username"]),
        session_id=str(m["session_id"]), seq=int(m["seq"]), occurred_at=str(m["occurred_at"]),
        action=str(m["action"]), object_refs=json.loads(str(m["object_refs"])),
        params=json.loads(str(m["params"])), outcome=str(m["outcome"]),
        prev_hash=str(m["prev_hash"]), hash=str(m["hash"]), received_at=m["received_at"],
        late=bool(m["late"]),
    )  # fmt: skip


def _cursor(text: str) -> tuple[str, int]:
    at, _, row_id = text.rpartition("|")
    if not at or not row_id.isdigit():
        raise HubError(422, BAD_CURSOR)
    return at, int(row_id)


def search_events(
    connection: Connection,
    caller: Caller,
    *,
    username: str | None = None,
    device_id: str | None = None,
    case_number: str | None = None,
    action: str | None = None,
    event_ids: list[str] | None = None,
    time_from: datetime | None = None,
    time_to: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> AuditSearchPage:
    """A page of the events the caller may see that match every filter, newest first."""
    every_unit, unit = reviewer_unit(connection, caller)
    limit = max(1, min(limit, PAGE_LIMIT))
    query = sa.select(audit_events)
    if not every_unit:
        query = query.where(
            audit_events.c.username.in_(sa.select(users.c.username).where(users.c.unit == unit))
        )
    if username:
        query = query.where(audit_events.c.username == username)
    if device_id:
        query = query.where(audit_events.c.device_id == device_id)
    if action:
        query = query.where(audit_events.c.action == action)
    if event_ids:
        query = query.where(audit_events.c.event_id.in_(event_ids[:PAGE_LIMIT]))
    if case_number:
        needle = json.dumps({"case_number": case_number}, separators=(",", ":"))[1:-1]
        query = query.where(
            sa.or_(
                audit_events.c.object_refs.contains(needle, autoescape=True),
                audit_events.c.params.contains(needle, autoescape=True),
            )
        )
    if time_from is not None:
        query = query.where(audit_events.c.occurred_at >= utc_iso(time_from))
    if time_to is not None:
        query = query.where(audit_events.c.occurred_at < utc_iso(time_to))
    if cursor:
        at, row_id = _cursor(cursor)
        query = query.where(
            sa.or_(
                audit_events.c.occurred_at < at,
                sa.and_(audit_events.c.occurred_at == at, audit_events.c.row_id < row_id),
            )
        )
    query = query.order_by(audit_events.c.occurred_at.desc(), audit_events.c.row_id.desc())
    rows = connection.execute(query.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{rows[-1].occurred_at}|{rows[-1].row_id}" if more and rows else None
    return AuditSearchPage(events=[_event(row) for row in rows], next_cursor=next_cursor)


def record_search(
    connection: Connection, caller: Caller, filters: dict[str, str | None], *, now: datetime
) -> None:
    record_hub_event(
        connection,
        action=SEARCH_ACTION,
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        params={k: v for k, v in filters.items() if v is not None},
    )


def _status(gaps: list[str], breaks: list[str], events: int) -> ChainStatus:
    if breaks:
        return "broken"
    if gaps:
        return "gap"
    return "intact" if events else "empty"


def device_chains(connection: Connection, caller: Caller) -> list[DeviceChainPublic]:
    """Each device the caller oversees (the hub's own chain for an administrator):
    its chain's status in plain words; broken first, then gaps, then by owner."""
    every_unit, unit = reviewer_unit(connection, caller)
    query = sa.select(devices.c.device_id, devices.c.name, users.c.username).join(
        users, users.c.user_id == devices.c.user_id
    )
    if not every_unit:
        query = query.where(users.c.unit == unit)
    listed = [(str(r.device_id), str(r.name), str(r.username)) for r in connection.execute(query)]
    if every_unit:
        listed.insert(0, (HUB_DEVICE_ID, "The hub's own events", ""))
    chains = []
    for device_id, name, owner in listed:
        check = check_device_chain(connection, device_id)
        status = _status(check.gaps, check.breaks, check.events)
        problems = check.breaks + check.gaps
        chains.append(
            DeviceChainPublic(
                device_id=device_id,
                username=owner,
                name=name,
                events=check.events,
                last_seq=check.last_seq,
                status=status,
                summary=chain_summary(
                    status,
                    events=check.events,
                    last_seq=check.last_seq,
                    first_problem=problems[0] if problems else None,
                ),
                problems=problems,
            )
        )
    order = {"broken": 0, "gap": 1, "intact": 2, "empty": 3}
    chains.sort(key=lambda c: (order[c.status], c.username, c.device_id))
    return chains
