"""Slices: the reads one user may hold for one case and purpose.

A slice covers captured_at in [time_from, time_to), the listed cameras (all when
none are listed) and, optionally, a plate pattern.

A partner agency's user (users.partner_agency) gets slices only for an open case
they are assigned to, like anyone, and each starts "awaiting_approval": it serves
nothing (owned_slice refuses its feed; its expires_at is its created_at, so no
image check counts it as active) until a supervisor approves it (hub.partners),
which starts its lifetime. A declined slice never serves anything. Every page of
the feed a partner user fetches is audited (`partner.slice_access`). Until the
approval the partner learns nothing that depends on the reads: no count (the
slice's `estimated_reads` is null to them), and no refusal for a slice over the
read limit (the limit is checked when a supervisor approves, hub.partners); the
supervisors deciding the request see the count.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.canonical import utc_iso
from app.core.errors import KnownError, PatternError
from app.core.flag_rules import FlagPolicy
from app.core.plates import PatternKind, PlatePattern, parse_pattern
from app.core.policy import SLICE_LIFETIME
from app.core.purposes import check_purpose, validate_case_number
from app.core.schemas import AttributeFilter, Role, SliceCreate, SlicePublic
from hub.audit import record_hub_event
from hub.db.tables import (
    PLATE_FTS_TABLE,
    cameras,
    case_assignments,
    cases,
    reads,
    slices,
    users,
)
from hub.db.types import to_ms
from hub.errors import HubError
from hub.flags import SOURCE_SEARCH, SOURCE_SLICE, SearchRecord, flag_search

log = logging.getLogger(__name__)

MAX_FUTURE = timedelta(days=1)

# The approval of a partner user's slice (slices.approval; NULL: none needed).
AWAITING_APPROVAL = "awaiting_approval"
APPROVED = "approved"
DECLINED = "declined"
PARTNER_ACCESS_ACTION = "partner.slice_access"
AWAITS_APPROVAL = (
    "This slice awaits a supervisor's approval: a partner agency's slice serves no reads "
    "or images until a supervisor of the hub's agency approves it. Try again once approved."
)
WAS_DECLINED = (
    "A supervisor declined this slice, so it serves nothing; "
    "ask the case's supervisor, and request a new slice if the case still needs it."
)


@dataclass(frozen=True)
class Caller:
    user_id: int
    username: str
    role: Role
    session_id: str


@dataclass(frozen=True)
class SliceRules:
    retention: timedelta
    case_number_pattern: str
    read_limit: int
    flag_policy: FlagPolicy | None = None  # None: the default thresholds (hub.flag_policy)


@dataclass(frozen=True)
class SliceOutcome:
    """Either the new slice or a refusal to raise once its audit event is committed."""

    slice: SlicePublic | None
    error: HubError | None


def window_condition(column: Any, time_from: datetime, time_to: datetime) -> Any:
    return sa.and_(column >= time_from, column < time_to)


_plate_fts = sa.table(PLATE_FTS_TABLE, sa.column("rowid"), sa.column("plate"))
_reads_rowid: sa.ColumnElement[int] = sa.literal_column("reads.rowid")


def pattern_condition(
    column: Any, pattern: PlatePattern, dialect: str, *, indexed: bool = True
) -> Any:
    """The SQL for `plate matches pattern` on reads.plate.

    An exact plate is an equality (B-tree index). On SQLite, a wildcard pattern
    with a literal run of 3+ characters goes through the FTS5 trigram table
    (reads_plate_fts) and the GLOB re-checks; on PostgreSQL the planner uses the
    pg_trgm GIN index for the LIKE by itself. `indexed=False` forces the plain
    scan (the benchmark compares the two).
    """
    if indexed and pattern.kind is PatternKind.EXACT:
        return column == pattern.text
    if dialect != "sqlite":
        return column.like(pattern.like)
    condition = column.op("GLOB")(pattern.glob)
    if indexed and pattern.kind is PatternKind.WILDCARD and pattern.trigram_terms:
        hits = sa.select(_plate_fts.c.rowid).where(_plate_fts.c.plate.op("GLOB")(pattern.glob))
        return sa.and_(_reads_rowid.in_(hits), condition)
    return condition


ATTRIBUTE_COLUMNS = ("make", "model", "color", "body_type")


def attribute_conditions(wanted: AttributeFilter | None) -> list[Any]:
    """SQL conditions on reads for an attribute filter (case-insensitive; all must hold)."""
    if wanted is None:
        return []
    conditions: list[Any] = [
        sa.func.lower(reads.c[name]) == value.lower()
        for name in ATTRIBUTE_COLUMNS
        if (value := getattr(wanted, name))
    ]
    conditions += [
        reads.c.features.contains(json.dumps(feature), autoescape=True)
        for feature in wanted.features
    ]
    return conditions


def attributes_match(wanted: AttributeFilter | None, read: Any) -> bool:
    """The Python twin of attribute_conditions, for one read row."""
    if wanted is None:
        return True
    for name in ATTRIBUTE_COLUMNS:
        value = getattr(wanted, name)
        if value and str(getattr(read, name)).lower() != value.lower():
            return False
    features = set(json.loads(read.features))
    return all(feature in features for feature in wanted.features)


def slice_attributes(row: Any) -> AttributeFilter | None:
    return AttributeFilter.model_validate_json(row.attributes) if row.attributes else None


def _slice_params(request: SliceCreate) -> dict[str, Any]:
    return {
        "purpose": request.purpose,
        "time_from": utc_iso(request.time_from),
        "time_to": utc_iso(request.time_to),
        "camera_ids": request.camera_ids,
        "plate_pattern": request.plate_pattern,
    }


def _validate(
    connection: Connection, caller: Caller, request: SliceCreate, rules: SliceRules, now: datetime
) -> tuple[str, PlatePattern | None]:
    """Raises HubError naming the first problem; returns the case number and pattern."""
    try:
        check_purpose(request.purpose, request.justification)
    except KnownError as exc:
        raise HubError(422, str(exc), exc.kind) from None
    try:
        number = validate_case_number(request.case_number, rules.case_number_pattern)
    except KnownError as exc:
        raise HubError(422, str(exc)) from None
    case = connection.execute(sa.select(cases).where(cases.c.case_number == number)).first()
    if case is None:
        raise HubError(404, f"No case {number} is on record at this hub; check the case number.")
    assigned = connection.execute(
        sa.select(case_assignments.c.user_id).where(
            case_assignments.c.case_number == number, case_assignments.c.user_id == caller.user_id
        )
    ).first()
    if assigned is None:
        raise HubError(
            403, f"You are not assigned to case {number}; ask your supervisor to assign you."
        )
    if case.status != "open":
        raise HubError(
            409, f"Case {number} is {case.status}; reads can only be requested for open cases."
        )
    if request.time_from >= request.time_to:
        raise HubError(422, "The time window is empty: 'from' must be before 'to'.")
    oldest = now - rules.retention
    if request.time_from < oldest:
        raise HubError(
            422,
            f"The window starts before the {rules.retention.days}-day retention limit "
            f"({utc_iso(oldest)}); reads older than that are not kept.",
        )
    if request.time_to > now + MAX_FUTURE:
        raise HubError(
            422, "The window ends more than a day in the future; end it at most tomorrow."
        )
    if request.camera_ids is not None:
        wanted = set(request.camera_ids)
        if not wanted:
            raise HubError(422, "The camera list is empty; leave it out to cover every camera.")
        known = {
            row.camera_id
            for row in connection.execute(
                sa.select(cameras.c.camera_id).where(cameras.c.camera_id.in_(sorted(wanted)))
            )
        }
        unknown = sorted(wanted - known)
        if unknown:
            raise HubError(422, f"Unknown camera(s): {', '.join(unknown)}.")
    pattern = None
    if request.plate_pattern is not None and request.plate_pattern.strip():
        try:
            pattern = parse_pattern(request.plate_pattern)
        except PatternError as exc:
            raise HubError(422, f"The plate pattern is not valid: {exc}.") from None
    return number, pattern


def partner_agency_of(connection: Connection, user_id: int) -> str | None:
    """The partner agency the user belongs to; None for the hub's own agency."""
    agency = connection.execute(
        sa.select(users.c.partner_agency).where(users.c.user_id == user_id)
    ).scalar_one_or_none()
    return str(agency) if agency else None


def count_matching(
    connection: Connection,
    *,
    time_from: datetime,
    time_to: datetime,
    camera_ids: list[str] | None,
    pattern: PlatePattern | None,
    attributes: AttributeFilter | None = None,
    indexed: bool = True,
) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(reads)
        .where(window_condition(reads.c.captured_at, time_from, time_to))
    )
    if camera_ids is not None:
        query = query.where(reads.c.camera_id.in_(camera_ids))
    if pattern is not None:
        query = query.where(
            pattern_condition(reads.c.plate, pattern, connection.dialect.name, indexed=indexed)
        )
    for condition in attribute_conditions(attributes):
        query = query.where(condition)
    return int(connection.execute(query).scalar_one())


def create_slice(
    connection: Connection,
    caller: Caller,
    request: SliceCreate,
    rules: SliceRules,
    *,
    now: datetime,
    attributes: AttributeFilter | None = None,
    kind: str = "slice",
) -> SliceOutcome:
    """Validate and record a slice request; every request and refusal is audited.

    A remote search (kind "search") creates its slice here too, with its
    attribute filter; its events are `search.request` and `search.refused`.
    A created slice or search is then checked against the flag rules
    (hub.flags, with `rules.flag_policy`); a flag never refuses it.
    A partner agency's user gets a slice awaiting a supervisor's approval
    (hub.partners), with no lifetime until approved.
    """
    params = _slice_params(request)
    if attributes is not None:
        params["attributes"] = attributes.model_dump(mode="json")
    refs = {"case_number": request.case_number}
    try:
        number, pattern = _validate(connection, caller, request, rules, now)
        time_from, time_to = to_ms(request.time_from), to_ms(request.time_to)
        camera_ids = sorted(set(request.camera_ids)) if request.camera_ids is not None else None
        estimated = count_matching(
            connection,
            time_from=time_from,
            time_to=time_to,
            camera_ids=camera_ids,
            pattern=pattern,
            attributes=attributes,
        )
        partner = partner_agency_of(connection, caller.user_id)
        # A partner's request is not refused here over the limit: the refusal would
        # tell them something about the reads before approval (hub.partners checks it).
        if estimated > rules.read_limit and partner is None:
            raise HubError(422, over_limit(estimated, rules.read_limit))
    except HubError as refusal:
        record_hub_event(
            connection,
            action=f"{kind}.refused",
            now=now,
            username=caller.username,
            session_id=caller.session_id,
            object_refs=refs,
            params={**params, "reason": refusal.message},
            outcome="refused",
        )
        return SliceOutcome(None, refusal)
    slice_id = uuid.uuid4().hex
    approval = AWAITING_APPROVAL if partner is not None else None
    created = SlicePublic(
        slice_id=slice_id,
        case_number=number,
        purpose=request.purpose,
        justification=request.justification,
        time_from=time_from,
        time_to=time_to,
        camera_ids=camera_ids,
        plate_pattern=pattern.text if pattern else None,
        estimated_reads=None if partner is not None else estimated,
        created_at=now,
        expires_at=now if partner is not None else now + SLICE_LIFETIME,
        status=AWAITING_APPROVAL if partner is not None else "active",
    )
    connection.execute(
        slices.insert().values(
            slice_id=slice_id,
            user_id=caller.user_id,
            case_number=number,
            purpose=request.purpose,
            justification=request.justification,
            time_from=time_from,
            time_to=time_to,
            camera_ids=json.dumps(camera_ids) if camera_ids is not None else None,
            plate_pattern=created.plate_pattern,
            estimated_reads=estimated,
            created_at=now,
            expires_at=created.expires_at,
            attributes=attributes.model_dump_json() if attributes is not None else None,
            partner_agency=partner,
            approval=approval,
        )
    )
    partner_params = {"partner_agency": partner, "approval": approval} if partner else {}
    event = record_hub_event(
        connection,
        action=f"{kind}.request",
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"case_number": number, "slice_id": slice_id},
        params={
            **params,
            "justification": request.justification,
            "estimated_reads": estimated,
            **partner_params,
        },
    )
    flag_search(
        connection,
        SearchRecord(
            source=SOURCE_SEARCH if kind == "search" else SOURCE_SLICE,
            username=caller.username,
            case_number=number,
            purpose=request.purpose,
            params=event["params"],
            result_count=estimated,
            occurred_at=now,
            pattern=created.plate_pattern,
            time_from=time_from,
            time_to=time_to,
            camera_ids=camera_ids,
            justification=request.justification,
            check_justification=True,
            case_assigned=True,  # _validate refused an unassigned case already
            key=event["event_id"],
            event_id=event["event_id"],
            slice_id=slice_id,
        ),
        policy=rules.flag_policy or FlagPolicy(),
        now=now,
    )
    return SliceOutcome(created, None)


def slice_status(row: Any, now: datetime) -> str:
    """revoked, awaiting_approval, declined, expired or active (only this one serves)."""
    if row.revoked_at is not None:
        return "revoked"
    if row.approval in (AWAITING_APPROVAL, DECLINED):
        return str(row.approval)
    if row.expires_at <= now:
        return "expired"
    return "active"


def count_withheld(row: Any) -> bool:
    """Whether a slice's count is kept from its owner: a partner's slice before approval."""
    return row.approval in (AWAITING_APPROVAL, DECLINED)


def over_limit(estimated: int, limit: int) -> str:
    return (
        f"This slice would hold about {estimated:,} reads, over the limit of "
        f"{limit:,} for your role; narrow the window, cameras or plate pattern."
    )


def slice_public(row: Any, now: datetime, *, to_decider: bool = False) -> SlicePublic:
    """The slice as its owner sees it (no count before a partner slice's approval), or,
    `to_decider`, as the supervisors deciding a partner request see it (the count)."""
    return SlicePublic(
        slice_id=row.slice_id,
        case_number=row.case_number,
        purpose=row.purpose,
        justification=row.justification,
        time_from=row.time_from,
        time_to=row.time_to,
        camera_ids=json.loads(row.camera_ids) if row.camera_ids is not None else None,
        plate_pattern=row.plate_pattern,
        estimated_reads=None if count_withheld(row) and not to_decider else row.estimated_reads,
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=slice_status(row, now),
    )


def list_slices(connection: Connection, *, user_id: int, now: datetime) -> list[SlicePublic]:
    rows = connection.execute(
        sa.select(slices).where(slices.c.user_id == user_id).order_by(slices.c.created_at)
    ).all()
    return [slice_public(row, now) for row in rows]


def case_access_condition(user_id: Any) -> Any:
    """SQL: the slice's case is open and `user_id` is assigned to it (on `slices`)."""
    return slices.c.case_number.in_(
        sa.select(case_assignments.c.case_number)
        .join(cases, cases.c.case_number == case_assignments.c.case_number)
        .where(case_assignments.c.user_id == user_id, cases.c.status == "open")
    )


_OWNED_SLICE = sa.select(
    slices,
    sa.select(cases.c.status)
    .where(cases.c.case_number == slices.c.case_number)
    .scalar_subquery()
    .label("case_status"),
    sa.exists()
    .where(
        case_assignments.c.case_number == slices.c.case_number,
        case_assignments.c.user_id == sa.bindparam("user_id"),
    )
    .label("assigned"),
).where(slices.c.slice_id == sa.bindparam("slice_id"))


def owned_slice(connection: Connection, *, slice_id: str, user_id: int) -> Any:
    """The caller's slice row, to serve from (the change feed, hub.feed).

    404 for a slice that is not there or not theirs; 403 for a partner slice that
    awaits a supervisor's approval or was declined, and for a caller no longer
    assigned to the slice's case; 410 once the case is no longer open. The server
    of a partner slice records the access (record_partner_access) before it sends
    anything.
    """
    row = connection.execute(_OWNED_SLICE, {"slice_id": slice_id, "user_id": user_id}).first()
    if row is None or row.user_id != user_id:
        raise HubError(404, "No such slice among yours; request a slice first.")
    if row.revoked_at is None and row.approval == AWAITING_APPROVAL:
        raise HubError(403, AWAITS_APPROVAL)
    if row.revoked_at is None and row.approval == DECLINED:
        raise HubError(403, WAS_DECLINED)
    if not row.assigned:
        raise HubError(
            403,
            f"You are no longer assigned to case {row.case_number}, so its slices serve "
            "you nothing; ask your supervisor if you still work on it.",
        )
    if row.case_status != "open":
        raise HubError(
            410,
            f"Case {row.case_number} is {row.case_status}: its slices serve nothing more.",
        )
    return row


def record_partner_access(
    connection: Connection, *, slice_id: str, username: str, partner_agency: str, now: datetime
) -> None:
    """Audit a partner user's access to their slice (`partner.slice_access`)."""
    case_number = connection.execute(
        sa.select(slices.c.case_number).where(slices.c.slice_id == slice_id)
    ).scalar_one()
    record_hub_event(
        connection,
        action=PARTNER_ACCESS_ACTION,
        now=now,
        username=username,
        object_refs={"slice_id": slice_id, "case_number": case_number},
        params={"partner_agency": partner_agency},
    )


def revoke_slice(
    connection: Connection, *, slice_id: str, now: datetime, by: str, session_id: str = ""
) -> None:
    connection.execute(slices.update().where(slices.c.slice_id == slice_id).values(revoked_at=now))
    record_hub_event(
        connection,
        action="slice.revoke",
        now=now,
        username=by,
        session_id=session_id,
        object_refs={"slice_id": slice_id},
    )


def slice_pattern(row: Any) -> PlatePattern | None:
    return parse_pattern(row.plate_pattern) if row.plate_pattern else None


def slice_cameras(row: Any) -> list[str] | None:
    return json.loads(row.camera_ids) if row.camera_ids is not None else None
