"""Evidence holds: reads preserved for a case, exempt from the retention purge.

Who may do what, always on a case the caller handles (handles_case): assigned to
it, or, for a supervisor, the supervisor of its unit (a unit one of the hub's own
users assigned to the case belongs to):
- a detective assigned to the case proposes holds, and only on reads inside one
  of their own active slices for that case (the reads they were allowed to see);
- an evidence technician or a supervisor places holds confirmed directly, and
  confirms or refuses the case's proposed holds (with a note);
- a supervisor releases a hold (proposed or confirmed) with a reason;
- administrators do not handle evidence.
A hold carries the case's record of the read: who marked it and when, the note, the
marker's review marks (a corrected misread), the legal basis (a code of
app.core.evidence.LEGAL_BASES and text) and an optional review date. Holds are placed
and confirmed only on an open case. A refused hold also sets released_at (the
purge, hub.retention and hub.partitions, spares exactly the rows whose released_at
is NULL: proposed and confirmed holds); its status reads "refused".
Listing a case's holds and its custody events (hub.receipts) takes the same.

One row per read and case. Every action is one audit event of the hub's chain
(`hold.propose`, `hold.place`, `hold.confirm`, `hold.refuse`, `hold.release`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import KnownError
from app.core.evidence import validate_legal_basis
from app.core.purposes import validate_case_number
from app.core.schemas import EvidenceMark, HoldCreate, HoldPublic, Role
from hub.audit import record_hub_event
from hub.db.tables import case_assignments, cases, holds, reads, slices, users
from hub.errors import HubError, forbidden, not_found
from hub.slices import Caller, attributes_match, slice_attributes, slice_cameras, slice_pattern

CUSTODIANS = frozenset({Role.EVIDENCE_TECHNICIAN, Role.SUPERVISOR})
CUSTODY_ONLY = "Only an evidence technician or a supervisor may do this."
SUPERVISOR_ONLY = "Only a supervisor releases a hold; ask the supervisor of the case's unit."
HANDLERS_ONLY = "Only detectives, evidence technicians and supervisors handle holds."
READ_ID_RE = re.compile(r"[0-9a-f]{32}")  # use with fullmatch: "$" lets a trailing newline through
NOT_YOUR_HOLD = (
    "This hold belongs to a case you do not handle: only the people assigned to the "
    "case (and the supervisor of its unit) act on its holds; ask its supervisor to assign you."
)


def not_on_case(number: str) -> HubError:
    return forbidden(
        f"You are not assigned to case {number}; ask your supervisor to assign you "
        "(a supervisor: of the unit that works the case)."
    )


def hold_status(row: Any) -> str:
    if getattr(row, "refused_at", None) is not None:
        return "refused"
    if row.released_at is not None:
        return "released"
    if row.confirmed_at is not None:
        return "confirmed"
    return "proposed"


def hold_public(row: Any, *, read_present: bool = True) -> HoldPublic:
    refused = getattr(row, "refused_at", None) is not None
    marks = getattr(row, "marks", "[]") or "[]"
    return HoldPublic(
        hold_id=row.hold_id,
        case_number=row.case_number,
        read_id=row.read_id,
        status=hold_status(row),
        note=row.note,
        proposed_by=row.proposed_by,
        proposed_at=row.proposed_at,
        confirmed_by=row.confirmed_by,
        confirmed_at=row.confirmed_at,
        released_by=None if refused else row.released_by,
        released_at=None if refused else row.released_at,
        legal_basis=getattr(row, "legal_basis", "active_investigation"),
        legal_basis_text=getattr(row, "legal_basis_text", ""),
        review_date=getattr(row, "review_date", None),
        marks=[EvidenceMark.model_validate(item) for item in json.loads(marks)],
        decision_note=getattr(row, "decision_note", ""),
        refused_by=getattr(row, "refused_by", None),
        refused_at=getattr(row, "refused_at", None),
        release_reason=getattr(row, "release_reason", ""),
        read_present=read_present,
    )


def require_open(connection: Connection, case_number: str, *, doing: str) -> None:
    """409 unless the case is open: evidence is held and confirmed on open cases only."""
    status = connection.execute(
        sa.select(cases.c.status).where(cases.c.case_number == case_number)
    ).scalar_one()
    if status != "open":
        raise HubError(
            409,
            f"Case {case_number} is {status}; {doing} only on an open case. Ask the "
            "case's supervisor to reopen it, or release what it holds.",
        )


def _case(connection: Connection, case_number: str, pattern: str) -> str:
    try:
        number = validate_case_number(case_number, pattern)
    except KnownError as exc:
        raise HubError(422, str(exc)) from None
    found = connection.execute(sa.select(cases.c.case_number).where(cases.c.case_number == number))
    if found.first() is None:
        raise not_found(f"No case {number} is on record at this hub; check the case number.")
    return number


def _assigned(connection: Connection, case_number: str, user_id: int) -> bool:
    row = connection.execute(
        sa.select(case_assignments.c.user_id).where(
            case_assignments.c.case_number == case_number,
            case_assignments.c.user_id == user_id,
        )
    ).first()
    return row is not None


_assignee = users.alias("assignee")


def _supervises_case(connection: Connection, case_number: str, user_id: int) -> bool:
    """Whether the user is a home-agency supervisor whose unit works the case: a
    home-agency user of that unit is assigned to it (as hub.partners decides)."""
    me = connection.execute(
        sa.select(users.c.unit, users.c.partner_agency).where(users.c.user_id == user_id)
    ).first()
    if me is None or not me.unit or me.partner_agency:
        return False
    row = connection.execute(
        sa.select(case_assignments.c.user_id)
        .join(_assignee, _assignee.c.user_id == case_assignments.c.user_id)
        .where(
            case_assignments.c.case_number == case_number,
            _assignee.c.unit == me.unit,
            _assignee.c.partner_agency.is_(None),
        )
        .limit(1)
    ).first()
    return row is not None


def handles_case(connection: Connection, caller: Caller, case_number: str) -> bool:
    """Whether the caller may act on the case's evidence: assigned to the case, or a
    supervisor of the case's unit. Administrators never handle evidence."""
    if caller.role is not Role.DETECTIVE and caller.role not in CUSTODIANS:
        return False
    if _assigned(connection, case_number, caller.user_id):
        return True
    return caller.role is Role.SUPERVISOR and _supervises_case(
        connection, case_number, caller.user_id
    )


def require_case(connection: Connection, caller: Caller, case_number: str, *, pattern: str) -> str:
    """The case number once the case is on record (404) and handled by the caller (403)."""
    if caller.role is not Role.DETECTIVE and caller.role not in CUSTODIANS:
        raise forbidden(HANDLERS_ONLY)
    number = _case(connection, case_number, pattern)
    if not handles_case(connection, caller, number):
        raise not_on_case(number)
    return number


def _outside_slices(
    connection: Connection, caller: Caller, case_number: str, rows: Sequence[Any], now: datetime
) -> list[str]:
    """The read ids not covered by any of the caller's active slices for the case."""
    active = connection.execute(
        sa.select(slices).where(
            slices.c.user_id == caller.user_id,
            slices.c.case_number == case_number,
            slices.c.revoked_at.is_(None),
            slices.c.expires_at > now,
        )
    ).all()
    rules = [(row, slice_cameras(row), slice_pattern(row), slice_attributes(row)) for row in active]

    def covered(read: Any) -> bool:
        for slice_row, camera_ids, pattern, wanted in rules:
            if not slice_row.time_from <= read.captured_at < slice_row.time_to:
                continue
            if camera_ids is not None and read.camera_id not in camera_ids:
                continue
            if pattern is not None and not pattern.matches(read.plate):
                continue
            if attributes_match(wanted, read):
                return True
        return False

    return [read.read_id for read in rows if not covered(read)]


def place_holds(
    connection: Connection,
    caller: Caller,
    request: HoldCreate,
    *,
    now: datetime,
    case_number_pattern: str,
) -> list[HoldPublic]:
    """Propose (detective) or place confirmed (technician, supervisor) holds on reads."""
    number = require_case(connection, caller, request.case_number, pattern=case_number_pattern)
    try:
        basis = validate_legal_basis(request.legal_basis)
    except KnownError as exc:
        raise HubError(422, str(exc)) from None
    require_open(connection, number, doing="reads are held as evidence")
    wanted = list(dict.fromkeys(request.read_ids))
    malformed = [read_id for read_id in wanted if not READ_ID_RE.fullmatch(read_id)]
    if malformed:
        raise HubError(422, f"Not a read id (32 lower-case hex characters): {malformed[0]}.")
    rows = connection.execute(
        sa.select(
            reads.c.read_id,
            reads.c.plate,
            reads.c.captured_at,
            reads.c.camera_id,
            reads.c.make,
            reads.c.model,
            reads.c.color,
            reads.c.body_type,
            reads.c.features,
        ).where(reads.c.read_id.in_(wanted))
    ).all()
    missing = sorted(set(wanted) - {row.read_id for row in rows})
    if missing:
        raise not_found(
            f"Read {missing[0]} is no longer at this hub (purged past retention before its "
            f"hold arrived, or never ingested){_and_more(missing)}; it cannot be held. Remove "
            "its evidence mark, or ask the hub's administrator whether a backup holds it."
        )
    if caller.role is Role.DETECTIVE:
        outside = _outside_slices(connection, caller, number, rows, now)
        if outside:
            raise forbidden(
                f"{len(outside)} read(s) are outside your slices for case {number}, first "
                f"{outside[0]}; you may only hold reads you requested for this case."
            )
    already = connection.execute(
        sa.select(holds.c.hold_id, holds.c.read_id).where(
            holds.c.case_number == number,
            holds.c.read_id.in_(wanted),
            holds.c.released_at.is_(None),
        )
    ).first()
    if already is not None:
        raise HubError(
            409,
            f"Read {already.read_id} is already held for case {number} "
            f"(hold {already.hold_id}); confirm or release that hold instead.",
        )
    confirmed = caller.role in CUSTODIANS
    values = [
        {
            "hold_id": uuid.uuid4().hex,
            "case_number": number,
            "read_id": read_id,
            "note": request.note,
            "proposed_by": caller.username,
            "proposed_at": now,
            "confirmed_by": caller.username if confirmed else None,
            "confirmed_at": now if confirmed else None,
            "released_by": None,
            "released_at": None,
            "legal_basis": basis,
            "legal_basis_text": request.legal_basis_text,
            "review_date": request.review_date,
            "marks": json.dumps(
                [m.model_dump(mode="json") for m in request.marks.get(read_id, [])],
                sort_keys=True,
            ),
            "decision_note": "",
            "refused_by": None,
            "refused_at": None,
            "release_reason": "",
        }
        for read_id in wanted
    ]
    connection.execute(holds.insert(), values)
    record_hub_event(
        connection,
        action="hold.place" if confirmed else "hold.propose",
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"case_number": number, "hold_ids": [item["hold_id"] for item in values]},
        params={
            "read_ids": wanted,
            "note": request.note,
            "legal_basis": basis,
            "legal_basis_text": request.legal_basis_text,
            "review_date": request.review_date.isoformat() if request.review_date else None,
        },
    )
    return [hold_public(SimpleNamespace(**item)) for item in values]


def _hold(connection: Connection, hold_id: str) -> Any:
    query = sa.select(holds).where(holds.c.hold_id == hold_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise not_found("No such hold; check the hold id.")
    return row


def _require_custodian(caller: Caller) -> None:
    if caller.role not in CUSTODIANS:
        raise forbidden(CUSTODY_ONLY)


def _custody_of(connection: Connection, caller: Caller, hold_id: str) -> Any:
    """The hold (locked on PostgreSQL), once the caller handles its case (403)."""
    _require_custodian(caller)
    row = _hold(connection, hold_id)
    if not handles_case(connection, caller, row.case_number):
        raise forbidden(NOT_YOUR_HOLD)
    return row


def confirm_hold(
    connection: Connection, caller: Caller, *, hold_id: str, now: datetime, note: str = ""
) -> HoldPublic:
    """A technician or supervisor confirms a proposed hold on an open case (409 once
    confirmed, refused or released, or when the case is closed)."""
    row = _custody_of(connection, caller, hold_id)
    _require_proposed(row, "confirmed")
    require_open(connection, row.case_number, doing="holds are confirmed")
    return _change_hold(
        connection, caller, row, "hold.confirm", now=now,
        values={"confirmed_by": caller.username, "confirmed_at": now, "decision_note": note},
        params={"note": note},
    )  # fmt: skip


def refuse_hold(
    connection: Connection, caller: Caller, *, hold_id: str, now: datetime, note: str = ""
) -> HoldPublic:
    """A technician or supervisor refuses a proposed hold: it no longer protects its read."""
    row = _custody_of(connection, caller, hold_id)
    _require_proposed(row, "refused")
    return _change_hold(
        connection, caller, row, "hold.refuse", now=now,
        values={"refused_by": caller.username, "refused_at": now, "decision_note": note,
                "released_by": caller.username, "released_at": now},
        params={"note": note},
    )  # fmt: skip


def release_hold(
    connection: Connection, caller: Caller, *, hold_id: str, now: datetime, reason: str
) -> HoldPublic:
    """A supervisor releases a hold (proposed or confirmed) with a reason; the purge may
    then take the read once it is past retention."""
    row = _custody_of(connection, caller, hold_id)
    if caller.role is not Role.SUPERVISOR:
        raise forbidden(SUPERVISOR_ONLY)
    status = hold_status(row)
    if status in ("released", "refused"):
        raise HubError(409, f"This hold is already {status}.")
    if not reason.strip():
        raise HubError(422, "Give the reason for releasing the hold.")
    return _change_hold(
        connection, caller, row, "hold.release", now=now,
        values={"released_by": caller.username, "released_at": now, "release_reason": reason},
        params={"was": status, "reason": reason},
    )  # fmt: skip


def _require_proposed(row: Any, doing: str) -> None:
    status = hold_status(row)
    if status != "proposed":
        raise HubError(
            409,
            f"The hold on read {row.read_id} is already {status}; only a proposed hold is {doing}.",
        )


def _and_more(ids: Sequence[str]) -> str:
    return f" (and {len(ids) - 1} more)" if len(ids) > 1 else ""


def _change_hold(
    connection: Connection,
    caller: Caller,
    row: Any,
    action: str,
    *,
    now: datetime,
    values: dict[str, Any],
    params: dict[str, Any] | None = None,
) -> HoldPublic:
    """Apply a hold's confirmation or release and audit it, in the caller's transaction."""
    hold_id = row.hold_id
    connection.execute(holds.update().where(holds.c.hold_id == hold_id).values(**values))
    record_hub_event(
        connection,
        action=action,
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"case_number": row.case_number, "hold_id": hold_id, "read_id": row.read_id},
        params=params,
    )
    return hold_public(_hold(connection, hold_id))


def list_holds(
    connection: Connection, caller: Caller, *, case_number: str, case_number_pattern: str
) -> list[HoldPublic]:
    """The case's evidence record, oldest first: to those who handle the case
    (handles_case); each says whether its read is still at the hub."""
    number = require_case(connection, caller, case_number, pattern=case_number_pattern)
    rows = connection.execute(
        sa.select(holds)
        .where(holds.c.case_number == number)
        .order_by(holds.c.proposed_at, holds.c.hold_id)
    ).all()
    ids = list({row.read_id for row in rows})
    present: set[str] = set()
    for start in range(0, len(ids), 1000):
        present.update(
            connection.execute(
                sa.select(reads.c.read_id).where(reads.c.read_id.in_(ids[start : start + 1000]))
            ).scalars()
        )
    return [hold_public(row, read_present=row.read_id in present) for row in rows]
