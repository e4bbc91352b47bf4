"""The public transparency report: counts computed from the database and the audit log.

Nothing here ever names a plate, a case, a user or a device: every figure is a
count, and the only texts are the agency's policy, the purpose labels and the
prohibited-use reasons. What counts (also published in `counting_rules`):

- searches: workstation searches over their cache (audit action `search`, any
  device but the hub), remote searches at the hub (`search.request`) and slice
  requests (`slice.request`, each is a query of the hub's reads), over the last
  30 days by the time the event happened;
- refused searches: `search.refused` and `slice.refused` at the hub;
- unique vehicles: distinct plates among the reads captured in the last 30 days;
- search outcomes: `search.outcome` events from workstations, by outcome code
  (app.core.records.SEARCH_OUTCOMES; any other value counts as "other");
- flagged searches: `flag.raise` events of the hub (hub.flags); review outcomes:
  `review.decision` events by the status they set (hub.review);
- partner agencies: the distinct partner agencies (users.partner_agency) whose
  users fetched a page of an approved slice's feed (`partner.slice_access`) or an
  image (`image.fetch`) at the hub in the last 30 days; a request, approved or
  not, is no access (hub.partners). Agency names only, never a user's;
- last purge: the newest `retention.purge` event of the hub.

The log is append-only and may hold any value (a workstation's, or one stored
before the hub checked types at ingest: hub.audit.ACTION_PARAMS), so reading it
never fails: a value of the wrong shape counts as "other" or not at all.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.canonical import parse_utc, utc_iso
from app.core.purposes import PROHIBITED_USES, PURPOSES
from app.core.records import SEARCH_OUTCOMES
from app.core.schemas import TransparencyPublic
from hub.audit import HUB_DEVICE_ID
from hub.db.tables import audit_events, cameras, reads, users
from hub.flags import FLAG_ACTION
from hub.retention import PURGE_ACTION
from hub.review import DECISION_ACTION
from hub.slices import PARTNER_ACCESS_ACTION

PERIOD = timedelta(days=30)
WORKSTATION_SEARCH = "search"
HUB_SEARCH = "search.request"
SLICE_REQUEST = "slice.request"
REFUSALS = ("search.refused", "slice.refused")
OUTCOME = "search.outcome"
REVIEW_OUTCOMES = ("approved", "justification_requested", "referred")
IMAGE_FETCH = "image.fetch"
DATA_ACCESS = (PARTNER_ACCESS_ACTION, IMAGE_FETCH)

COUNTING_RULES = [
    "Searches: searches run on investigators' workstations, remote searches at the hub "
    "and requests for reads (slices), each counted once, in the last 30 days.",
    "Refused searches: requests the hub turned down (prohibited purpose, unassigned case, "
    "window outside retention, too broad), in the last 30 days.",
    "Unique vehicles: distinct plates among the reads captured in the last 30 days; "
    "only the count is published.",
    "Search outcomes: what investigators recorded their searches led to, in the last 30 days.",
    "Flagged searches and review outcomes: searches that hit an oversight rule (or were "
    "picked for the routine random audit) and the review decisions made on them, "
    "in the last 30 days.",
    "Partner agencies: the other agencies whose investigators actually received reads or "
    "images from this hub in the last 30 days; each of their requests needs this agency's "
    "approval and an open case.",
]


def policy_text(retention_days: int) -> str:
    return (
        "Automatic license plate reader (ALPR) data is used only to investigate crimes. "
        "Every search names a case number and one of the acceptable uses below, with a "
        "written justification, and is recorded in a tamper-evident audit log. Reads are "
        f"deleted {retention_days} days after capture unless they are preserved as evidence "
        "in a case. Reads describe vehicles; no name is attached to a read. "
        "The prohibited uses below are refused. These figures are computed from the "
        "audit log itself."
    )


def _in_period(
    action_condition: sa.ColumnElement[bool], since: datetime, until: datetime | None = None
) -> sa.Select[Any]:
    return (
        sa.select(sa.func.count())
        .select_from(audit_events)
        .where(action_condition, *period_conditions(since, until))
    )


def period_conditions(since: datetime, until: datetime | None) -> list[sa.ColumnElement[bool]]:
    """Events in [since, until) by when they happened (until None: up to now)."""
    conditions = [audit_events.c.received_at >= since, audit_events.c.occurred_at >= utc_iso(since)]
    if until is not None:
        conditions.append(audit_events.c.occurred_at < utc_iso(until))
    return conditions


def _param(params: str, name: str) -> str | None:
    """The text parameter `name` of a stored event's params, or None (never raises)."""
    try:
        value = json.loads(params).get(name)
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _moment(text: str | None) -> datetime | None:
    try:
        return parse_utc(text) if text else None
    except (ValueError, TypeError):
        return None


def build_report(
    connection: Connection,
    *,
    now: datetime,
    retention_days: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> TransparencyPublic:
    """The figures of the last 30 days (the public page), or of [since, until) (the
    council's monthly report, hub.transparency_report)."""
    if since is None:
        since = now - PERIOD
    action = audit_events.c.action
    from_hub = audit_events.c.device_id == HUB_DEVICE_ID
    by_kind = {
        "workstation_searches": int(
            connection.execute(
                _in_period(sa.and_(action == WORKSTATION_SEARCH, ~from_hub), since, until)
            ).scalar_one()
        ),
        "hub_searches": int(
            connection.execute(
                _in_period(sa.and_(action == HUB_SEARCH, from_hub), since, until)
            ).scalar_one()
        ),
        "slice_requests": int(
            connection.execute(
                _in_period(sa.and_(action == SLICE_REQUEST, from_hub), since, until)
            ).scalar_one()
        ),
    }
    refused = int(
        connection.execute(
            _in_period(sa.and_(action.in_(REFUSALS), from_hub), since, until)
        ).scalar_one()
    )
    outcomes: dict[str, int] = {**dict.fromkeys(SEARCH_OUTCOMES, 0), "other": 0}
    outcome_rows = connection.execute(
        sa.select(audit_events.c.params).where(
            action == OUTCOME,
            ~from_hub,
            *period_conditions(since, until),
        )
    ).scalars()
    for params in outcome_rows:
        value = _param(params, "outcome")
        # Only the known outcome codes are published: a value sent by a workstation
        # is never echoed to the public.
        outcomes[value if value is not None and value in SEARCH_OUTCOMES else "other"] += 1
    flagged = int(
        connection.execute(
            _in_period(sa.and_(action == FLAG_ACTION, from_hub), since, until)
        ).scalar_one()
    )
    reviews: dict[str, int] = dict.fromkeys(REVIEW_OUTCOMES, 0)
    decision_rows = connection.execute(
        sa.select(audit_events.c.params).where(
            action == DECISION_ACTION,
            from_hub,
            *period_conditions(since, until),
        )
    ).scalars()
    for params in decision_rows:
        status = _param(params, "status")
        if status in reviews:
            reviews[status] += 1
    cameras_in_use = int(
        connection.execute(
            sa.select(sa.func.count()).select_from(cameras).where(cameras.c.active.is_(True))
        ).scalar_one()
    )
    unique_vehicles = int(
        connection.execute(
            sa.select(sa.func.count(sa.distinct(reads.c.plate))).where(
                reads.c.captured_at >= since,
                reads.c.captured_at < (now if until is None else until),
            )
        ).scalar_one()
    )
    last_purge = connection.execute(
        sa.select(audit_events.c.occurred_at)
        .where(action == PURGE_ACTION, from_hub)
        .order_by(audit_events.c.seq.desc())
        .limit(1)
    ).scalar()
    partner_agencies = [
        str(name)
        for name in connection.execute(
            sa.select(users.c.partner_agency)
            .distinct()
            .select_from(audit_events.join(users, users.c.username == audit_events.c.username))
            .where(
                action.in_(DATA_ACCESS),
                from_hub,
                users.c.partner_agency.is_not(None),
                *period_conditions(since, until),
            )
            .order_by(users.c.partner_agency)
        ).scalars()
    ]
    return TransparencyPublic(
        agency_policy=policy_text(retention_days),
        generated_at=now,
        period_days=round(((until or now) - since).total_seconds() / 86400),
        period_start=since,
        cameras_in_use=cameras_in_use,
        searches=sum(by_kind.values()),
        searches_by_kind=by_kind,
        unique_vehicles=unique_vehicles,
        refused_searches=refused,
        flagged_searches=flagged,
        review_outcomes=reviews,
        search_outcomes=outcomes,
        partner_agencies=partner_agencies,
        retention_days=retention_days,
        last_purge_at=_moment(last_purge),
        acceptable_uses=list(PURPOSES.values()),
        prohibited_uses=[use.reason for use in PROHIBITED_USES],
        counting_rules=COUNTING_RULES,
    )
