"""Operator insights and the oversight charts, computed from the audit log for a
supervisor's unit (every unit for an administrator); the analysis is app.core.insights.

Who: the same rule as the review queue (hub.review.reviewer_unit): a detective is
refused, and the route audits the attempt. The caller's own searches are left out, as
in the queue. Looking at the insights is audited (`review.insights`), and so is filing
an insight as a review item (`review.insight_filed`).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from app.core.canonical import canonical_json, parse_utc, utc_iso
from app.core.insights import (
    SEARCH_ACTIONS,
    ActivityEvent,
    CountPublic,
    DayValuePublic,
    DecisionDayPublic,
    InsightItemCreate,
    OperatorInsightsPublic,
    OversightChartsPublic,
    operator_insight,
    search_target,
    unit_days_per_target,
)
from app.core.schemas import ReviewItemPublic
from hub.audit import record_hub_event
from hub.db.tables import audit_events, review_actions, review_items, users
from hub.errors import HubError
from hub.flags import OPEN, new_item_id
from hub.review import get_item, reviewer_unit
from hub.slices import Caller

VIEW_ACTION = "review.insights"
FILED_ACTION = "review.insight_filed"
INSIGHT_SOURCE = "insight"
_ID_CHUNK = 500


def _window(now: datetime, days: int) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now


def _scope_users(connection: Connection, caller: Caller) -> tuple[str | None, dict[str, str]]:
    """(the unit or None for every unit, {username: display name}) of the users whose
    activity the caller oversees: their unit's, never their own."""
    every_unit, unit = reviewer_unit(connection, caller)
    query = sa.select(users.c.username, users.c.display_name).where(
        users.c.username != caller.username
    )
    if not every_unit:
        query = query.where(users.c.unit == unit)
    return unit, {str(r.username): str(r.display_name) for r in connection.execute(query)}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


_FIELDS = ("case_number", "purpose", "plate", "plate_pattern", "pattern")


def _field(dialect: str, column: sa.Column[str], key: str) -> sa.ColumnElement[Any]:
    """One top-level field of a canonical-JSON text column, read by the database (the
    insights read tens of thousands of events: parsing them in Python dominated)."""
    if dialect == "postgresql":
        as_json: sa.ColumnElement[Any] = sa.cast(column, JSONB)
        return sa.type_coerce(as_json[key].astext, sa.String)
    return sa.type_coerce(sa.func.json_extract(column, f"$.{key}"), sa.String)


def _activity_columns(connection: Connection) -> list[sa.ColumnElement[Any]]:
    dialect = connection.dialect.name
    params, refs = audit_events.c.params, audit_events.c.object_refs
    fields = [_field(dialect, params, key).label(key) for key in _FIELDS]
    return [
        audit_events.c.event_id, audit_events.c.username, audit_events.c.occurred_at,
        audit_events.c.action, audit_events.c.outcome,
        _field(dialect, refs, "case_number").label("refs_case_number"), *fields,
    ]  # fmt: skip


def _activity(row: Any) -> ActivityEvent:
    # a workstation search names its case in its parameters, a hub event in its references
    case_number = _str(row.case_number) or _str(row.refs_case_number)
    return ActivityEvent(
        str(row.event_id),
        parse_utc(str(row.occurred_at)),
        str(row.action),
        str(row.outcome),
        case_number,
        _str(row.purpose),
        search_target(
            {"plate": row.plate, "plate_pattern": row.plate_pattern, "pattern": row.pattern}
        ),
    )


def _load(
    connection: Connection, usernames: list[str], since: datetime, until: datetime
) -> dict[str, list[ActivityEvent]]:
    """Each user's searches and refusals in [since, until], oldest first."""
    found: dict[str, list[ActivityEvent]] = defaultdict(list)
    columns = _activity_columns(connection)
    for start in range(0, len(usernames), _ID_CHUNK):
        chunk = usernames[start : start + _ID_CHUNK]
        rows = connection.execute(
            sa.select(*columns)
            .where(
                audit_events.c.username.in_(chunk),
                audit_events.c.occurred_at >= utc_iso(since),
                audit_events.c.occurred_at <= utc_iso(until),
                sa.or_(
                    audit_events.c.action.in_(SEARCH_ACTIONS),
                    audit_events.c.outcome == "refused",
                ),
            )
            .order_by(audit_events.c.occurred_at, audit_events.c.row_id)
        ).all()
        for row in rows:
            found[str(row.username)].append(_activity(row))
    return found


def operator_insights(
    connection: Connection, caller: Caller, *, days: int, now: datetime
) -> OperatorInsightsPublic:
    """Every overseen user's insights over the last `days` days (most searches first)."""
    unit, people = _scope_users(connection, caller)
    since, until = _window(now, days)
    activity = _load(connection, sorted(people), since, until)
    unit_days = unit_days_per_target(activity.values())
    operators = [
        operator_insight(
            username, activity.get(username, []), since=since, until=until,
            unit_days_per_target=unit_days, display_name=people[username],
        )
        for username in sorted(people)
    ]  # fmt: skip
    operators.sort(key=lambda o: (-o.searches, o.username))
    return OperatorInsightsPublic(
        days=days,
        since=since,
        until=until,
        unit=unit,
        unit_days_per_target=unit_days,
        operators=operators,
    )


def record_view(
    connection: Connection, caller: Caller, *, what: str, days: int, now: datetime
) -> None:
    record_hub_event(
        connection,
        action=VIEW_ACTION,
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        params={"view": what, "days": days},
    )


def charts(
    connection: Connection, caller: Caller, *, days: int, now: datetime
) -> OversightChartsPublic:
    """Searches per day and users by volume (the audit log), flags per rule and decisions
    per day (the review queue), over the overseen users' last `days` days."""
    unit, people = _scope_users(connection, caller)
    since, until = _window(now, days)
    activity = _load(connection, sorted(people), since, until)
    per_day: Counter[str] = Counter()
    volume: Counter[str] = Counter()
    for username, events in activity.items():
        for event in events:
            if event.is_search:
                per_day[event.at.date().isoformat()] += 1
                volume[username] += 1
    searches_per_day = []
    day = since.date()
    while day <= until.date():
        searches_per_day.append(DayValuePublic(day=day, count=per_day.get(day.isoformat(), 0)))
        day += timedelta(days=1)
    scope = [review_items.c.username != caller.username]
    if unit is not None:
        scope.append(review_items.c.unit == unit)
    rules: Counter[str] = Counter()
    for text in connection.execute(
        sa.select(review_items.c.rules).where(
            *scope, review_items.c.flagged_at >= since, review_items.c.flagged_at <= until
        )
    ).scalars():
        for fired in json.loads(text):
            rules[str(fired.get("rule", ""))] += 1
    decisions: Counter[tuple[str, str]] = Counter()
    for kind, at in connection.execute(
        sa.select(review_actions.c.kind, review_actions.c.at)
        .join(review_items, review_items.c.item_id == review_actions.c.item_id)
        .where(*scope, review_actions.c.at >= since, review_actions.c.at <= until)
    ):
        decisions[(at.date().isoformat(), str(kind))] += 1
    return OversightChartsPublic(
        days=days,
        since=since,
        until=until,
        searches_per_day=searches_per_day,
        flags_per_rule=[CountPublic(key=k, searches=n) for k, n in rules.most_common()],
        decisions_per_day=[
            DecisionDayPublic(day=datetime.fromisoformat(d).date(), decision=k, count=n)
            for (d, k), n in sorted(decisions.items())
        ],
        users_by_volume=[CountPublic(key=k, searches=n) for k, n in volume.most_common()],
    )


def file_insight(
    connection: Connection, caller: Caller, body: InsightItemCreate, *, now: datetime
) -> ReviewItemPublic:
    """File one insight as an open review item of the user's unit; audited."""
    unit, people = _scope_users(connection, caller)
    if body.username == caller.username:
        raise HubError(403, "You cannot file your own activity for review.")
    if body.username not in people:
        raise HubError(404, f"No user '{body.username}' in the unit you oversee.")
    ids = list(dict.fromkeys(body.event_ids))
    rows = connection.execute(
        sa.select(*_activity_columns(connection)).where(audit_events.c.event_id.in_(ids))
    ).all()
    events = [_activity(row) for row in rows if row.username == body.username]
    if len(events) != len(ids):
        raise HubError(
            422, f"Some of the events named are not {body.username}'s audit events; open the "
            "insight again and file it from there."
        )  # fmt: skip
    cases = Counter(e.case_number for e in events if e.case_number)
    purposes = Counter(e.purpose for e in events if e.purpose)
    user_unit = connection.execute(
        sa.select(users.c.unit).where(users.c.username == body.username)
    ).scalar_one_or_none()
    item_id = new_item_id()
    rule = {"rule": f"insight.{body.kind}", "reason": body.summary.strip()}
    connection.execute(
        review_items.insert().values(
            item_id=item_id,
            source=INSIGHT_SOURCE,
            username=body.username,
            unit=user_unit if unit is None else unit,
            case_number=cases.most_common(1)[0][0][:32] if cases else "",
            purpose=purposes.most_common(1)[0][0][:64] if purposes else "",
            justification=None,
            params=canonical_json({"insight": body.kind, "event_ids": ids}).decode(),
            result_count=len(ids),
            occurred_at=max(e.at for e in events),
            flagged_at=now,
            rules=json.dumps([rule]),
            event_id=None,
            slice_id=None,
            status=OPEN,
            updated_at=now,
        )
    )
    record_hub_event(
        connection,
        action=FILED_ACTION,
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"item_id": item_id, "username": body.username},
        params={"kind": body.kind, "summary": body.summary.strip(), "events": len(ids)},
    )
    return get_item(connection, caller, item_id)
