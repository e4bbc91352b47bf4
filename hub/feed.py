"""A slice's change feed: pages of upserts and tombstones in change_seq order.

The cursor is the last change_seq the client has applied, signed and bound to the
slice. Each page is computed against the highest change_seq visible when the
request started, so a change that commits meanwhile lands on the next page
(writers commit change_seq in order; see hub.reads).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.canonical import page_checksum
from hub.core.security import CursorSigner
from hub.db.tables import read_changes, reads
from hub.errors import HubError
from hub.reads import read_public, read_select
from hub.slices import (
    attribute_conditions,
    owned_slice,
    pattern_condition,
    slice_attributes,
    slice_cameras,
    slice_pattern,
    slice_status,
    window_condition,
)

BAD_CURSOR = "This sync cursor is not valid for this slice; start the sync again."


def feed_page(
    connection: Connection,
    signer: CursorSigner,
    *,
    slice_id: str,
    user_id: int,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> dict[str, Any]:
    """The FeedPage as a JSON-ready dict; its checksum covers exactly these values."""
    row = owned_slice(connection, slice_id=slice_id, user_id=user_id)
    status = slice_status(row, now)
    if status != "active":
        raise HubError(410, f"This slice is {status}; request a new slice to keep syncing.")
    after = 0
    if cursor:
        opened = signer.open(cursor, slice_id)
        if opened is None:
            raise HubError(400, BAD_CURSOR)
        after = opened
    high = int(
        connection.execute(
            sa.select(sa.func.coalesce(sa.func.max(read_changes.c.change_seq), 0))
        ).scalar_one()
    )
    pattern = slice_pattern(row)
    camera_ids = slice_cameras(row)
    joined = read_changes.outerjoin(reads, reads.c.read_id == read_changes.c.read_id)
    query = (
        sa.select(read_changes.c.change_seq, read_changes.c.read_id, read_changes.c.op)
        .select_from(joined)
        .where(
            read_changes.c.change_seq > after,
            read_changes.c.change_seq <= high,
            window_condition(read_changes.c.captured_at, row.time_from, row.time_to),
            sa.or_(read_changes.c.op == "delete", reads.c.read_id.is_not(None)),
        )
        .order_by(read_changes.c.change_seq)
        .limit(limit + 1)
    )
    if camera_ids is not None:
        query = query.where(read_changes.c.camera_id.in_(camera_ids))
    if pattern is not None:
        query = query.where(
            sa.or_(
                read_changes.c.op == "delete",
                pattern_condition(reads.c.plate, pattern, connection.dialect.name),
            )
        )
    wanted = attribute_conditions(slice_attributes(row))
    if wanted:
        query = query.where(sa.or_(read_changes.c.op == "delete", sa.and_(*wanted)))
    changes = connection.execute(query).all()
    has_more = len(changes) > limit
    changes = changes[:limit]
    next_seq = int(changes[-1].change_seq) if has_more else max(after, high)

    # The last change of each read on this page wins; a read is listed once.
    final_op: dict[str, str] = {}
    for change in changes:
        final_op.pop(change.read_id, None)
        final_op[change.read_id] = change.op
    upsert_ids = [read_id for read_id, op in final_op.items() if op == "upsert"]
    tombstones = [read_id for read_id, op in final_op.items() if op == "delete"]
    by_id: dict[str, dict[str, Any]] = {}
    if upsert_ids:
        for read_row in connection.execute(read_select().where(reads.c.read_id.in_(upsert_ids))):
            by_id[read_row.read_id] = read_public(read_row).model_dump(mode="json")
    page_reads = [by_id[read_id] for read_id in upsert_ids if read_id in by_id]
    return {
        "slice_id": slice_id,
        "reads": page_reads,
        "tombstones": tombstones,
        "next_cursor": signer.sign(slice_id, next_seq),
        "has_more": has_more,
        "checksum": page_checksum(page_reads, tombstones),
    }
