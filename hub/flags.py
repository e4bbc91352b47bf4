"""Flagging: every search, slice request and mirrored workstation search is logged
and checked against the flag rules (app.core.flag_rules); a hit files a review
item for the supervisors of the user's unit (hub.review).

Flagging runs in the request's own transaction, inside a SAVEPOINT, after the
search's audit event: it adds two small indexed queries and one or two inserts,
and it never refuses or fails a search. Should the evaluation itself fail, the
search is filed for review anyway (rule "unevaluated"), so no search escapes
review because of a defect here; only if that fails too is the failure logged.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.canonical import canonical_json, parse_utc
from app.core.flag_rules import FiredRule, FlagPolicy, SearchFacts, evaluate, sample_draw
from app.core.oversight import item_severity
from hub.audit import record_hub_event
from hub.db.tables import case_assignments, review_items, search_log, slices, users
from hub.db.types import to_ms

log = logging.getLogger(__name__)

SOURCE_SEARCH = "search"  # a remote search at the hub
SOURCE_SLICE = "slice"  # a slice request at the hub
SOURCE_WORKSTATION = "workstation"  # a search over a workstation's cache, mirrored
SOURCE_HOTLIST = "hotlist"  # a hotlist entry (or an import's entries for one case)
WORKSTATION_SEARCH_ACTION = "search"  # what app.workstation journals for each search
FLAG_ACTION = "flag.raise"
UNEVALUATED = "unevaluated"
OPEN = "open"
DAY = timedelta(hours=24)


@dataclass(frozen=True)
class SearchRecord:
    """One search as the flag rules and the reviewers see it.

    params are the exact parameters as audited. justification is what the
    reviewer reads; check_justification says whether the words rule looks at it
    (a workstation search runs under a slice whose justification was checked when
    the slice was requested). case_assigned None: look it up.
    """

    source: str
    username: str
    case_number: str
    purpose: str
    params: Mapping[str, Any]
    result_count: int | None
    occurred_at: datetime
    pattern: str | None
    time_from: datetime | None
    time_to: datetime | None
    camera_ids: list[str] | None
    justification: str | None
    check_justification: bool
    case_assigned: bool | None
    key: str  # the random sample's draw key: the search's event id
    event_id: str | None = None
    slice_id: str | None = None


def new_item_id() -> str:
    """32 hex digits that sort in filing order (nanosecond clock, then random)."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


def flag_search(
    connection: Connection, record: SearchRecord, *, policy: FlagPolicy, now: datetime
) -> str | None:
    """Log the search and file a review item if a rule fires; the item id, or None.

    Never raises (see the module docstring).
    """
    try:
        with connection.begin_nested():
            return _flag(connection, record, policy=policy, now=now)
    except Exception as exc:  # a flag must never fail the search
        log.error(
            "flag evaluation failed (%s); the search is filed unevaluated", type(exc).__name__
        )
    try:
        with connection.begin_nested():
            reason = "The flag rules could not be evaluated; review this search by hand."
            item_id = _file(connection, record, [FiredRule(UNEVALUATED, reason)], now=now)
            _log(connection, record, item_id)
            return item_id
    except Exception as exc:
        log.error("a search could not be filed for review (%s)", type(exc).__name__)
        return None


def _searches_in_day(connection: Connection, username: str, at: datetime) -> int:
    """The user's logged searches in the 24 hours up to `at`, plus this one."""
    earlier = connection.execute(
        sa.select(sa.func.count())
        .select_from(search_log)
        .where(
            search_log.c.username == username,
            search_log.c.occurred_at > at - DAY,
            search_log.c.occurred_at <= at,
        )
    ).scalar_one()
    return int(earlier) + 1


def _case_assigned(connection: Connection, username: str, case_number: str) -> bool:
    row = connection.execute(
        sa.select(case_assignments.c.user_id)
        .join(users, users.c.user_id == case_assignments.c.user_id)
        .where(users.c.username == username, case_assignments.c.case_number == case_number)
    ).first()
    return row is not None


def _flag(
    connection: Connection, record: SearchRecord, *, policy: FlagPolicy, now: datetime
) -> str | None:
    assigned = record.case_assigned
    if assigned is None:
        assigned = _case_assigned(connection, record.username, record.case_number)
    facts = SearchFacts(
        pattern=record.pattern,
        time_from=record.time_from,
        time_to=record.time_to,
        camera_ids=record.camera_ids,
        justification=record.justification if record.check_justification else None,
        case_assigned=assigned,
        searches_in_day=_searches_in_day(connection, record.username, record.occurred_at),
        at=record.occurred_at,
        sample_draw=sample_draw(policy.sample_seed, record.key),
    )
    fired = evaluate(facts, policy)
    item_id = _file(connection, record, fired, now=now) if fired else None
    _log(connection, record, item_id)
    return item_id


def _log(connection: Connection, record: SearchRecord, item_id: str | None) -> None:
    connection.execute(
        search_log.insert().values(
            username=record.username,
            source=record.source,
            case_number=record.case_number[:32],
            purpose=record.purpose[:64],
            params=canonical_json(dict(record.params)).decode(),
            result_count=record.result_count,
            occurred_at=record.occurred_at,
            item_id=item_id,
        )
    )


def _file(
    connection: Connection, record: SearchRecord, fired: list[FiredRule], *, now: datetime
) -> str:
    unit = connection.execute(
        sa.select(users.c.unit).where(users.c.username == record.username)
    ).scalar_one_or_none()
    item_id = new_item_id()
    connection.execute(
        review_items.insert().values(
            item_id=item_id,
            source=record.source,
            username=record.username,
            unit=unit,
            case_number=record.case_number[:32],
            purpose=record.purpose[:64],
            justification=record.justification,
            params=canonical_json(dict(record.params)).decode(),
            result_count=record.result_count,
            occurred_at=record.occurred_at,
            flagged_at=now,
            rules=json.dumps([rule.as_json() for rule in fired]),
            event_id=record.event_id,
            slice_id=record.slice_id,
            status=OPEN,
            updated_at=now,
            severity=int(item_severity(rule.rule for rule in fired)),
        )
    )
    record_hub_event(
        connection,
        action=FLAG_ACTION,
        now=now,
        object_refs={
            "item_id": item_id,
            "case_number": record.case_number,
            "username": record.username,
            "event_id": record.event_id,
        },
        params={"source": record.source, "rules": [rule.rule for rule in fired]},
        outcome="flagged",
    )
    return item_id


# --- mirrored workstation searches ----------------------------------------------


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return to_ms(parse_utc(value))
    except ValueError:
        return None


def _cameras(params: Mapping[str, Any]) -> list[str] | None:
    """The cameras a workstation search covered; None (or empty): every camera."""
    places = params.get("places")
    if isinstance(places, list):
        return [str(camera) for place in places if isinstance(place, list) for camera in place]
    cameras = params.get("camera_ids")
    if isinstance(cameras, list):
        return [str(camera) for camera in cameras]
    return None


def _slice_justification(
    connection: Connection, username: str, case_number: str, purpose: str
) -> str | None:
    """The justification of the user's newest slice for the case and purpose."""
    return connection.execute(
        sa.select(slices.c.justification)
        .join(users, users.c.user_id == slices.c.user_id)
        .where(
            users.c.username == username,
            slices.c.case_number == case_number,
            slices.c.purpose == purpose,
        )
        .order_by(slices.c.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def workstation_record(
    event: Mapping[str, Any], *, now: datetime, justification: str | None = None
) -> SearchRecord:
    """The SearchRecord of a mirrored `search` event (app.workstation._journal_search).

    Reads the event defensively: a workstation's parameters are not trusted to
    have any shape. `justification` is the one of the slice the search ran under.
    """
    params: Mapping[str, Any] = event.get("params") or {}
    refs: Mapping[str, Any] = event.get("object_refs") or {}
    username = str(event.get("username") or "")
    case_number = str(params.get("case_number") or refs.get("case_number") or "")
    purpose = str(params.get("purpose") or "")
    pattern = params.get("pattern") or params.get("plate_pattern") or params.get("plate")
    count = params.get("result_count")
    return SearchRecord(
        source=SOURCE_WORKSTATION,
        username=username,
        case_number=case_number,
        purpose=purpose,
        params=params,
        result_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        occurred_at=_moment(event.get("occurred_at")) or now,
        pattern=str(pattern) if pattern else None,
        time_from=_moment(params.get("time_from")),
        time_to=_moment(params.get("time_to")),
        camera_ids=_cameras(params),
        justification=justification,
        check_justification=False,
        case_assigned=None,
        key=str(event.get("event_id") or uuid.uuid4().hex),
        event_id=str(event["event_id"]) if event.get("event_id") else None,
    )


def flag_mirrored(
    connection: Connection,
    events: Iterable[Mapping[str, Any]],
    *,
    policy: FlagPolicy,
    now: datetime,
) -> list[str]:
    """Flag the workstation searches among newly stored audit events; the new item ids."""
    filed: list[str] = []
    for event in events:
        if event.get("action") != WORKSTATION_SEARCH_ACTION:
            continue
        record = workstation_record(event, now=now)
        try:
            with connection.begin_nested():
                justification = _slice_justification(
                    connection, record.username, record.case_number, record.purpose
                )
        except Exception as exc:  # never lose the batch over the context
            log.error("a mirrored search's slice could not be looked up (%s)", type(exc).__name__)
            justification = None
        record = replace(record, justification=justification)
        item_id = flag_search(connection, record, policy=policy, now=now)
        if item_id is not None:
            filed.append(item_id)
    return filed
