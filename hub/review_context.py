"""An opened review item's context beyond the item itself: the user's searches around
it, and the reads the flagged search returned, which its reviewer may view with no
case assignment.

Viewing the reads is a hub audit event (`review.reads`) naming the reviewer, the
item, the case and the flagged user, and it grants the reviewer the reads' images
for GRANT_LIFETIME (review_read_grants; GET /images/{sha256} checks it). The reads
shown are those the search returned that are still at the hub: a search's own
slice (a remote search or a slice request), or for a workstation search its exact
parameters inside the slice it ran under (the user's newest slice for the case and
purpose made before the search). Reads past retention are gone, for reviewers too.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.errors import PatternError
from app.core.plates import PlatePattern, parse_pattern
from app.core.schemas import RecentSearchPublic, ReviewReadsPublic
from hub.audit import record_hub_event
from hub.db.tables import reads, review_items, review_read_grants, search_log, slices, users
from hub.errors import HubError
from hub.flags import SOURCE_WORKSTATION, workstation_record
from hub.reads import read_public, read_select
from hub.review import recent_public, reviewable, reviewer_unit
from hub.slices import (
    Caller,
    attribute_conditions,
    pattern_condition,
    slice_attributes,
    slice_cameras,
    slice_pattern,
    window_condition,
)

READS_ACTION = "review.reads"
GRANT_LIFETIME = timedelta(hours=1)
READS_PAGE = 200
AROUND_LIMIT = 100


def searches_around(
    connection: Connection, caller: Caller, item_id: str, *, hours: int = 24
) -> list[RecentSearchPublic]:
    """The flagged user's searches from `hours` before to `hours` after this one, in
    the order they ran (the flagged one among them)."""
    row = reviewable(connection, caller, item_id)
    span = timedelta(hours=hours)
    rows = connection.execute(
        sa.select(search_log)
        .where(
            search_log.c.username == row.username,
            search_log.c.occurred_at >= row.occurred_at - span,
            search_log.c.occurred_at <= row.occurred_at + span,
        )
        .order_by(search_log.c.occurred_at, search_log.c.log_id)
        .limit(AROUND_LIMIT)
    ).all()
    return [recent_public(r) for r in rows]


def _slice_of(connection: Connection, row: Any) -> Any:
    """The slice the flagged search returned (its own) or ran under (a workstation's)."""
    if row.slice_id is not None:
        return connection.execute(
            sa.select(slices).where(slices.c.slice_id == row.slice_id)
        ).first()
    if row.source != SOURCE_WORKSTATION:
        return None
    return connection.execute(
        sa.select(slices)
        .join(users, users.c.user_id == slices.c.user_id)
        .where(
            users.c.username == row.username,
            slices.c.case_number == row.case_number,
            slices.c.purpose == row.purpose,
            slices.c.created_at <= row.occurred_at,
        )
        .order_by(slices.c.created_at.desc())
        .limit(1)
    ).first()


def _pattern(text: str | None) -> PlatePattern | None:
    try:
        return parse_pattern(text) if text else None
    except PatternError:
        return None


def _conditions(connection: Connection, row: Any, slice_row: Any) -> list[Any]:
    """SQL on reads: the slice's bounds, and a workstation search's own parameters."""
    dialect = connection.dialect.name
    conditions = [window_condition(reads.c.captured_at, slice_row.time_from, slice_row.time_to)]
    cameras = slice_cameras(slice_row)
    if cameras is not None:
        conditions.append(reads.c.camera_id.in_(cameras))
    pattern = slice_pattern(slice_row)
    if pattern is not None:
        conditions.append(pattern_condition(reads.c.plate, pattern, dialect))
    conditions += attribute_conditions(slice_attributes(slice_row))
    if row.slice_id is None:  # a workstation search inside the slice
        record = workstation_record(
            {"params": json.loads(row.params), "username": row.username}, now=row.occurred_at
        )
        if record.time_from is not None:
            conditions.append(reads.c.captured_at >= record.time_from)
        if record.time_to is not None:
            conditions.append(reads.c.captured_at < record.time_to)
        if record.camera_ids:
            conditions.append(reads.c.camera_id.in_(record.camera_ids))
        own = _pattern(record.pattern)
        if own is not None:
            conditions.append(pattern_condition(reads.c.plate, own, dialect))
    return conditions


def item_reads(
    connection: Connection, caller: Caller, item_id: str, *, now: datetime
) -> ReviewReadsPublic:
    """The reads the flagged search returned (newest first, up to READS_PAGE), audited;
    the caller may fetch their images for GRANT_LIFETIME."""
    row = reviewable(connection, caller, item_id)
    slice_row = _slice_of(connection, row)
    if slice_row is None:
        total, shown, basis = 0, [], "none"
    else:
        conditions = _conditions(connection, row, slice_row)
        query = read_select().where(*conditions)
        total = int(
            connection.execute(
                sa.select(sa.func.count()).select_from(reads).where(*conditions)
            ).scalar_one()
        )
        shown = [
            read_public(r)
            for r in connection.execute(
                query.order_by(reads.c.captured_at.desc(), reads.c.read_id).limit(READS_PAGE)
            )
        ]
        basis = "slice" if row.slice_id is not None else "search"
    until = now + GRANT_LIFETIME
    connection.execute(
        review_read_grants.insert().values(
            item_id=item_id, username=caller.username, granted_at=now, expires_at=until
        )
    )
    record_hub_event(
        connection,
        action=READS_ACTION,
        now=now,
        username=caller.username,
        session_id=caller.session_id,
        object_refs={"item_id": item_id, "case_number": row.case_number, "username": row.username},
        params={"basis": basis, "total": total, "shown": len(shown)},
    )
    return ReviewReadsPublic(
        item_id=item_id, basis=basis, total=total, reads=shown, images_until=until
    )


def review_image_grant(
    connection: Connection, *, sha256: str, caller: Caller, now: datetime
) -> str | None:
    """The review item whose reads the caller opened and that hold this image (a grant
    still running, the caller still a reviewer of it), or None."""
    grants = (
        connection.execute(
            sa.select(review_read_grants.c.item_id)
            .where(
                review_read_grants.c.username == caller.username,
                review_read_grants.c.expires_at > now,
            )
            .distinct()
        )
        .scalars()
        .all()
    )
    if not grants:
        return None
    try:
        every_unit, unit = reviewer_unit(connection, caller)
    except HubError:  # no longer a reviewer: no grant holds
        return None
    for item_id in grants:
        row = connection.execute(
            sa.select(review_items).where(review_items.c.item_id == item_id)
        ).first()
        if row is None or row.username == caller.username:
            continue
        if not every_unit and row.unit != unit:
            continue
        slice_row = _slice_of(connection, row)
        if slice_row is None:
            continue
        hit = connection.execute(
            sa.select(reads.c.read_id)
            .where(
                *_conditions(connection, row, slice_row),
                sa.or_(reads.c.image_sha256 == sha256, reads.c.crop_sha256 == sha256),
            )
            .limit(1)
        ).first()
        if hit is not None:
            return str(item_id)
    return None
