"""Supervisor review of flagged searches (hub.flags files the items).

Who sees what: a supervisor reviews the items of their own unit (the flagged
user's unit when the item was filed); an administrator reviews every unit,
including items of users with no unit. Nobody reviews their own searches.

An item's life: open -> (request_justification) justification_requested ->
(the user answers) answered -> ... -> approved or referred (final). A supervisor
may approve or refer at any point before that, and ask again after an answer.
Every decision and every answer is a hub audit event (`review.decision`,
`review.answer`) and a row of review_actions, which the item shows as its history.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.flag_rules import RANDOM_SAMPLE, RULES
from app.core.oversight import Severity
from app.core.schemas import (
    FiredRulePublic,
    JustificationAnswerCreate,
    JustificationRequestPublic,
    RecentSearchPublic,
    ReviewActionPublic,
    ReviewBulkApproveCreate,
    ReviewDecisionCreate,
    ReviewItemPublic,
    Role,
)
from hub.audit import record_hub_event
from hub.db.tables import cases, review_actions, review_items, search_log, users
from hub.errors import HubError
from hub.flags import OPEN, UNEVALUATED
from hub.slices import Caller

JUSTIFICATION_REQUESTED = "justification_requested"
ANSWERED = "answered"
APPROVED = "approved"
REFERRED = "referred"
PENDING = (OPEN, JUSTIFICATION_REQUESTED, ANSWERED)
FINAL = (APPROVED, REFERRED)
STATUSES = (*PENDING, *FINAL)
DECISION_STATUS = {
    "approve": APPROVED,
    "request_justification": JUSTIFICATION_REQUESTED,
    "refer": REFERRED,
}
DECISION_ACTION = "review.decision"
ANSWER_ACTION = "review.answer"
REFUSED_ACTION = "review.refused"
RECENT_SEARCHES = 10

SUPERVISORS_ONLY = "Only supervisors (and administrators) review flagged searches."
NO_UNIT = (
    "You have no unit on record, so there is no review queue for you; "
    "ask an administrator to set your unit."
)
OWN_SEARCH = (
    "You cannot review your own searches; another supervisor of your unit "
    "or an administrator must review this one."
)


def reviewer_unit(connection: Connection, caller: Caller) -> tuple[bool, str | None]:
    """(every unit?, the caller's unit): 403 for anyone but a supervisor with a unit or an admin."""
    if caller.role is Role.ADMIN:
        return True, None
    if caller.role is not Role.SUPERVISOR:
        raise HubError(403, SUPERVISORS_ONLY)
    unit = connection.execute(
        sa.select(users.c.unit).where(users.c.user_id == caller.user_id)
    ).scalar_one_or_none()
    if not unit:
        raise HubError(403, NO_UNIT)
    return False, str(unit)


def record_refusal(
    connection: Connection,
    caller: Caller,
    refusal: HubError,
    *,
    method: str,
    path: str,
    now: datetime,
) -> None:
    """Audit an attempt to use the review queue by someone who may not (not a
    supervisor or administrator, or a supervisor with no unit)."""
    record_hub_event(
        connection,
        action=REFUSED_ACTION,
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"method": method, "path": path},
        params={"role": caller.role.value, "reason": refusal.message},
        outcome="refused",
    )


def _rules(text: str) -> list[FiredRulePublic]:
    return [FiredRulePublic.model_validate(rule) for rule in json.loads(text)]


def _histories(connection: Connection, item_ids: list[str]) -> dict[str, list[ReviewActionPublic]]:
    """Each item's decisions, requests and answers, oldest first (one query)."""
    found: dict[str, list[ReviewActionPublic]] = {item_id: [] for item_id in item_ids}
    if not item_ids:
        return found
    rows = connection.execute(
        sa.select(review_actions)
        .where(review_actions.c.item_id.in_(item_ids))
        .order_by(review_actions.c.action_id)
    ).all()
    for r in rows:
        found[r.item_id].append(
            ReviewActionPublic(kind=r.kind, actor=r.actor, at=r.at, text=r.text)
        )
    return found


def recent_public(row: Any) -> RecentSearchPublic:
    return RecentSearchPublic(
        occurred_at=row.occurred_at,
        source=row.source,
        case_number=row.case_number,
        purpose=row.purpose,
        params=json.loads(row.params),
        result_count=row.result_count,
        flagged=row.item_id is not None,
    )


def _newest(username: str) -> sa.Select[Any]:
    return (
        sa.select(search_log)
        .where(search_log.c.username == username)
        .order_by(search_log.c.occurred_at.desc(), search_log.c.log_id.desc())
        .limit(RECENT_SEARCHES)
    )


def _recent(connection: Connection, username: str) -> list[RecentSearchPublic]:
    return [recent_public(r) for r in connection.execute(_newest(username)).all()]


def severity_name(value: int) -> str:
    try:
        return Severity(value).name.lower()
    except ValueError:
        return Severity.MEDIUM.name.lower()


def _item_select() -> sa.Select[Any]:
    case_status = (
        sa.select(cases.c.status)
        .where(cases.c.case_number == review_items.c.case_number)
        .scalar_subquery()
        .label("case_status")
    )
    return sa.select(review_items, users.c.display_name, case_status).outerjoin(
        users, users.c.username == review_items.c.username
    )


def item_public(
    connection: Connection,
    row: Any,
    *,
    history: list[ReviewActionPublic] | None = None,
    recent: list[RecentSearchPublic] | None = None,
) -> ReviewItemPublic:
    return ReviewItemPublic(
        item_id=row.item_id,
        status=row.status,
        severity=severity_name(row.severity),
        source=row.source,
        username=row.username,
        display_name=row.display_name,
        unit=row.unit,
        case_number=row.case_number,
        case_status=row.case_status,
        purpose=row.purpose,
        justification=row.justification,
        params=json.loads(row.params),
        result_count=row.result_count,
        occurred_at=row.occurred_at,
        flagged_at=row.flagged_at,
        rules=_rules(row.rules),
        history=_histories(connection, [row.item_id])[row.item_id] if history is None else history,
        recent_searches=_recent(connection, row.username) if recent is None else recent,
    )


def items_public(connection: Connection, rows: list[Any]) -> list[ReviewItemPublic]:
    """A page of items: their histories in one query, recent searches once per user."""
    histories = _histories(connection, [row.item_id for row in rows])
    recent = {name: _recent(connection, name) for name in {row.username for row in rows}}
    return [
        item_public(connection, row, history=histories[row.item_id], recent=recent[row.username])
        for row in rows
    ]


QUEUE_ORDER = (
    review_items.c.severity.desc(),
    review_items.c.occurred_at.desc(),
    review_items.c.item_id.desc(),
)


def list_items(
    connection: Connection,
    caller: Caller,
    *,
    status: str = "pending",
    limit: int = 100,
    username: str | None = None,
    case_number: str | None = None,
    rule: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: str | None = None,
) -> list[ReviewItemPublic]:
    """The caller's review queue, most severe first, then newest search first: their
    unit's items but their own; only one user's, one case's, those where one rule fired,
    or searches in [since, until). A page: `after` is the last item of the page before
    (the queue's order is by key, so a page never repeats or skips an item)."""
    every_unit, unit = reviewer_unit(connection, caller)
    query = _item_select().where(review_items.c.username != caller.username)
    if after is not None:
        last = connection.execute(
            sa.select(review_items.c.severity, review_items.c.occurred_at).where(
                review_items.c.item_id == after
            )
        ).first()
        if last is None:
            raise HubError(422, "'after' names no flagged search; start again from the first page.")
        key = (review_items.c.severity, review_items.c.occurred_at, review_items.c.item_id)
        values = (last.severity, last.occurred_at, after)
        bound = [
            sa.literal(value, type_=column.type) for column, value in zip(key, values, strict=True)
        ]
        query = query.where(sa.tuple_(*key) < sa.tuple_(*bound))
    if username is not None:
        query = query.where(review_items.c.username == username)
    if case_number is not None:
        query = query.where(review_items.c.case_number == case_number)
    if rule is not None:
        if rule not in (*RULES, UNEVALUATED):
            raise HubError(422, f"'{rule}' is not a flag rule; use one of: {', '.join(RULES)}.")
        # rules is the JSON list of {"rule": ..., "reason": ...}; a reason's quotes are
        # escaped, so this matches the rule's name only.
        query = query.where(review_items.c.rules.contains(f'"rule": "{rule}"', autoescape=True))
    if since is not None:
        query = query.where(review_items.c.occurred_at >= since)
    if until is not None:
        query = query.where(review_items.c.occurred_at < until)
    if not every_unit:
        query = query.where(review_items.c.unit == unit)
    if status == "pending":
        query = query.where(review_items.c.status.in_(PENDING))
    elif status != "all":
        if status not in STATUSES:
            raise HubError(
                422,
                f"'{status}' is not a review status; use pending, all, or one of: "
                f"{', '.join(STATUSES)}.",
            )
        query = query.where(review_items.c.status == status)
    query = query.order_by(*QUEUE_ORDER).limit(limit)
    return items_public(connection, list(connection.execute(query).all()))


def _reviewable(connection: Connection, caller: Caller, item_id: str, *, lock: bool) -> Any:
    """The item row, if the caller may review it (404 outside their unit, 403 their own)."""
    every_unit, unit = reviewer_unit(connection, caller)
    query = _item_select().where(review_items.c.item_id == item_id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update(of=review_items)
    row = connection.execute(query).first()
    if row is None or (not every_unit and row.unit != unit):
        raise HubError(404, "No such flagged search in your unit's review queue.")
    if row.username == caller.username:
        raise HubError(403, OWN_SEARCH)
    return row


def reviewable(connection: Connection, caller: Caller, item_id: str) -> Any:
    """The item row, if the caller may review it (404 outside their unit, 403 their own)."""
    return _reviewable(connection, caller, item_id, lock=False)


def get_item(connection: Connection, caller: Caller, item_id: str) -> ReviewItemPublic:
    return item_public(connection, _reviewable(connection, caller, item_id, lock=False))


def _act(
    connection: Connection, *, item_id: str, kind: str, actor: str, text: str, now: datetime
) -> None:
    connection.execute(
        review_actions.insert().values(item_id=item_id, kind=kind, actor=actor, at=now, text=text)
    )


def decide(
    connection: Connection,
    caller: Caller,
    item_id: str,
    body: ReviewDecisionCreate,
    *,
    now: datetime,
) -> ReviewItemPublic:
    """Approve, request a justification from the user, or refer; audited."""
    row = _reviewable(connection, caller, item_id, lock=True)
    note = body.note.strip()
    if row.status in FINAL:
        raise HubError(409, f"This flagged search was {row.status} already; it is closed.")
    if body.decision == "request_justification":
        if row.status == JUSTIFICATION_REQUESTED:
            raise HubError(409, "A justification was requested already; wait for the answer.")
        if not note:
            raise HubError(422, "Write the question the user must answer in 'note'.")
    if body.decision == "refer" and not note:
        raise HubError(422, "Say in 'note' why and to whom this search is referred.")
    status = DECISION_STATUS[body.decision]
    connection.execute(
        review_items.update()
        .where(review_items.c.item_id == item_id)
        .values(status=status, updated_at=now)
    )
    _act(connection, item_id=item_id, kind=body.decision, actor=caller.username, text=note, now=now)
    record_hub_event(
        connection,
        action=DECISION_ACTION,
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={
            "item_id": item_id,
            "case_number": row.case_number,
            "username": row.username,
        },
        params={"decision": body.decision, "status": status, "note": note},
    )
    return get_item(connection, caller, item_id)


SAMPLE_ONLY = (
    "Only low-severity random-sample items can be approved together; open and decide "
    "these one at a time: {items}."
)
BULK_STATUSES = (OPEN, ANSWERED)


def approve_sample(
    connection: Connection,
    caller: Caller,
    body: ReviewBulkApproveCreate,
    *,
    now: datetime,
) -> list[ReviewItemPublic]:
    """Approve several random-sample items of low severity together: all or none.

    Refused whole (nothing decided) if any item is not a low-severity random-sample
    item still waiting for a decision, lies outside the caller's unit, or is the
    caller's own search. Each approval is its own decision, history step and audit
    event, as if decided alone."""
    ids = list(dict.fromkeys(body.item_ids))
    rows = [_reviewable(connection, caller, item_id, lock=True) for item_id in ids]
    refused = [
        row.item_id
        for row in rows
        if row.severity != Severity.LOW
        or RANDOM_SAMPLE not in {rule.rule for rule in _rules(row.rules)}
        or row.status not in BULK_STATUSES
    ]
    if refused:
        raise HubError(409, SAMPLE_ONLY.format(items=", ".join(refused)))
    note = body.note.strip()
    for row in rows:
        connection.execute(
            review_items.update()
            .where(review_items.c.item_id == row.item_id)
            .values(status=APPROVED, updated_at=now)
        )
        _act(connection, item_id=row.item_id, kind="approve", actor=caller.username, text=note,
             now=now)  # fmt: skip
        record_hub_event(
            connection,
            action=DECISION_ACTION,
            now=now,
            username=caller.username,
            session_id=caller.session_id,
            object_refs={
                "item_id": row.item_id,
                "case_number": row.case_number,
                "username": row.username,
            },
            params={"decision": "approve", "status": APPROVED, "note": note, "bulk": True},
        )
    decided = connection.execute(
        _item_select().where(review_items.c.item_id.in_(ids)).order_by(*QUEUE_ORDER)
    ).all()
    return items_public(connection, list(decided))


def _question(connection: Connection, item_id: str) -> Any:
    return connection.execute(
        sa.select(review_actions)
        .where(
            review_actions.c.item_id == item_id,
            review_actions.c.kind == "request_justification",
        )
        .order_by(review_actions.c.action_id.desc())
        .limit(1)
    ).first()


def pending_requests(connection: Connection, caller: Caller) -> list[JustificationRequestPublic]:
    """The justification requests waiting for the caller's answer, oldest first."""
    rows = connection.execute(
        sa.select(review_items)
        .where(
            review_items.c.username == caller.username,
            review_items.c.status == JUSTIFICATION_REQUESTED,
        )
        .order_by(review_items.c.updated_at, review_items.c.item_id)
    ).all()
    requests = []
    for row in rows:
        asked = _question(connection, row.item_id)
        requests.append(
            JustificationRequestPublic(
                item_id=row.item_id,
                case_number=row.case_number,
                purpose=row.purpose,
                occurred_at=row.occurred_at,
                params=json.loads(row.params),
                rules=_rules(row.rules),
                question=asked.text if asked is not None else "",
                requested_by=asked.actor if asked is not None else "",
                requested_at=asked.at if asked is not None else row.updated_at,
            )
        )
    return requests


def answer(
    connection: Connection,
    caller: Caller,
    item_id: str,
    body: JustificationAnswerCreate,
    *,
    now: datetime,
) -> None:
    """The user's answer: attached to the item, which goes back to the supervisors."""
    query = sa.select(review_items).where(review_items.c.item_id == item_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None or row.username != caller.username:
        raise HubError(404, "No justification request of yours has this id.")
    if row.status != JUSTIFICATION_REQUESTED:
        raise HubError(409, "No justification is waiting for your answer on this search.")
    text = body.answer.strip()
    if not text:
        raise HubError(422, "The answer is empty; say what the case needed this search for.")
    connection.execute(
        review_items.update()
        .where(review_items.c.item_id == item_id)
        .values(status=ANSWERED, updated_at=now)
    )
    _act(connection, item_id=item_id, kind="answer", actor=caller.username, text=text, now=now)
    record_hub_event(
        connection,
        action=ANSWER_ACTION,
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"item_id": item_id, "case_number": row.case_number},
        params={"answer": text},
    )
