"""A slice's change feed: pages of upserts and tombstones in change_seq order.

The cursor is the last change_seq the client has applied, signed and bound to the
slice. Each page is computed against the highest change_seq visible when the
request started, so a change that commits meanwhile lands on the next page
(writers commit change_seq in order; see hub.reads).
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.canonical import sha256_hex
from hub.core.security import CursorSigner
from hub.db.tables import cameras, read_changes, reads
from hub.errors import HubError
from hub.reads import READ_COLUMNS
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

# The feed's read columns, in ReadPublic's field order; captured_at as stored (on SQLite
# the text the hub wrote, so no datetime round trip per row).
_FEED_COLUMNS = (
    reads.c.read_id,
    reads.c.plate,
    reads.c.state,
    reads.c.confidence,
    sa.type_coerce(reads.c.captured_at, sa.String()).label("captured_at"),
    reads.c.camera_id,
    cameras.c.latitude,
    cameras.c.longitude,
    reads.c.direction,
    reads.c.make,
    reads.c.model,
    reads.c.color,
    reads.c.body_type,
    reads.c.features,
    reads.c.image_sha256,
    reads.c.image_size,
    reads.c.crop_sha256,
    reads.c.crop_size,
)
assert {column.name for column in _FEED_COLUMNS} == {*READ_COLUMNS, "latitude", "longitude"}


def wire_time(value: Any) -> str:
    """A stored captured_at exactly as pydantic writes ReadPublic.captured_at in JSON.

    That is ISO 8601 in UTC with a Z, and the fraction only when there is one
    (6 digits): `2026-11-20T08:00:00Z`, `2026-11-20T08:00:00.120000Z`.
    """
    if isinstance(value, str) and len(value) == 24 and value[19] == "." and value[23] == "Z":
        # The SQLite form (hub.db.types.UTCDateTime): 2026-11-20T08:00:00.120Z
        millis = value[20:23]
        return value[:19] + "Z" if millis == "000" else f"{value[:19]}.{millis}000Z"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    moment = moment.astimezone(UTC)
    head = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return head + "Z" if not moment.microsecond else f"{head}.{moment.microsecond:06d}Z"


@functools.lru_cache(maxsize=4096)
def _features(text: str) -> list[str]:
    # Few distinct feature lists exist; the page only serializes them, never mutates them.
    features: list[str] = json.loads(text)
    return features


def feed_read(row: Any) -> dict[str, Any]:
    """One read as the feed sends it: the JSON of ReadPublic, built without a model.

    The keys are in sorted order, so the JSON dump is already canonical.
    """
    return {
        "body_type": row[12],
        "camera_id": row[5],
        "captured_at": wire_time(row[4]),
        "color": row[11],
        "confidence": float(row[3]),
        "crop_sha256": row[16],
        "crop_size": int(row[17]),
        "direction": row[8],
        "features": _features(row[13]),
        "image_sha256": row[14],
        "image_size": int(row[15]),
        "latitude": float(row[6]),
        "longitude": float(row[7]),
        "make": row[9],
        "model": row[10],
        "plate": row[1],
        "read_id": row[0],
        "state": row[2],
    }


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def feed_page(
    connection: Connection,
    signer: CursorSigner,
    *,
    slice_id: str,
    user_id: int,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> tuple[dict[str, Any], bytes]:
    """The FeedPage as a JSON-ready dict and its JSON body, encoded once; the checksum
    covers exactly these values."""
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
    joined = read_changes.outerjoin(reads, reads.c.read_id == read_changes.c.read_id).outerjoin(
        cameras, reads.c.camera_id == cameras.c.camera_id
    )
    query = (
        sa.select(
            read_changes.c.change_seq,
            read_changes.c.read_id.label("change_read_id"),
            read_changes.c.op,
            *_FEED_COLUMNS,
        )
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

    # The last change of each read on this page wins; a read is listed once. The read's
    # columns come with its changes (outer join): NULL for a read deleted since.
    final: dict[str, Any] = {}
    for change in changes:
        final.pop(change.change_read_id, None)
        final[change.change_read_id] = change
    page_reads: list[dict[str, Any]] = []
    tombstones: list[str] = []
    for read_id, change in final.items():
        if change.op == "delete":
            tombstones.append(read_id)
        elif change.read_id is not None:
            page_reads.append(feed_read(change[3:]))
    # Each read dict has sorted keys, so this is canonical_json and the checksum is
    # app.core.canonical.page_checksum(page_reads, tombstones), for one encoding of the reads.
    reads_json, tombstones_json = _dump(page_reads), _dump(tombstones)
    checksum = sha256_hex(f'{{"reads":{reads_json},"tombstones":{tombstones_json}}}'.encode())
    next_cursor = signer.sign(slice_id, next_seq)
    page = {
        "slice_id": slice_id,
        "reads": page_reads,
        "tombstones": tombstones,
        "next_cursor": next_cursor,
        "has_more": has_more,
        "checksum": checksum,
    }
    body = (
        f'{{"slice_id":{_dump(slice_id)},"reads":{reads_json},"tombstones":{tombstones_json},'
        f'"next_cursor":{_dump(next_cursor)},"has_more":{"true" if has_more else "false"},'
        f'"checksum":"{checksum}"}}'
    )
    return page, body.encode()
