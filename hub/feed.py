"""A slice's change feed: pages of upserts and tombstones in change_seq order.

The cursor is the last change_seq the client has applied, signed and bound to the
slice. Each page is computed against the highest change_seq visible when the
request started, so a change that commits meanwhile lands on the next page
(writers commit change_seq in order; see hub.reads).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from types import SimpleNamespace
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

# The feed's read columns, in the order _read_json takes them (the read_id is the
# change's, selected once); captured_at as stored (on SQLite the text the hub wrote, so
# no datetime round trip per row). A camera's coordinates come from one lookup per page,
# not a join per row.
_FEED_COLUMNS = (
    read_changes.c.read_id,
    reads.c.plate,
    reads.c.state,
    reads.c.confidence,
    sa.type_coerce(reads.c.captured_at, sa.String()).label("captured_at"),
    reads.c.camera_id,
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
assert {column.name for column in _FEED_COLUMNS} == set(READ_COLUMNS)

# json.dumps(..., ensure_ascii=False) writes a str with this (the C encoder).
_quote: Callable[[str], str] = encode_basestring


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


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _number(value: Any) -> str:
    """A float as json.dumps writes it (repr; NaN and infinities spelled its way)."""
    number = float(value)
    return repr(number) if -math.inf < number < math.inf else _dump(number)


@functools.lru_cache(maxsize=4096)
def _features_json(text: str) -> str:
    # Few distinct feature lists exist: each stored list is re-encoded once.
    return _dump(json.loads(text))


def _read_json(row: Any, coordinates: str) -> str:
    """One read as the feed sends it: the canonical JSON of ReadPublic (keys sorted, no
    spaces), byte for byte what canonical_json writes for the same values. `row` holds
    _FEED_COLUMNS; `coordinates` is the camera's `"latitude":..,"longitude":..` part."""
    return (
        f'{{"body_type":{_quote(row[10])},"camera_id":{_quote(row[5])},'
        f'"captured_at":"{wire_time(row[4])}","color":{_quote(row[9])},'
        f'"confidence":{_number(row[3])},"crop_sha256":{_quote(row[14])},'
        f'"crop_size":{int(row[15])},"direction":{_quote(row[6])},'
        f'"features":{_features_json(row[11])},"image_sha256":{_quote(row[12])},'
        f'"image_size":{int(row[13])},{coordinates},"make":{_quote(row[7])},'
        f'"model":{_quote(row[8])},"plate":{_quote(row[1])},"read_id":{_quote(row[0])},'
        f'"state":{_quote(row[2])}}}'
    )


def _coordinates(connection: Connection, camera_ids: set[str]) -> dict[str, str]:
    """Each camera's `"latitude":..,"longitude":..` JSON part, for the cameras on a page."""
    if not camera_ids:
        return {}
    rows = connection.execute(_CAMERAS, {"camera_ids": sorted(camera_ids)})
    return {
        camera_id: f'"latitude":{_number(latitude)},"longitude":{_number(longitude)}'
        for camera_id, latitude, longitude in rows
    }


_HIGH = sa.select(sa.func.coalesce(sa.func.max(read_changes.c.change_seq), 0))
_CAMERAS = sa.select(cameras.c.camera_id, cameras.c.latitude, cameras.c.longitude).where(
    cameras.c.camera_id.in_(sa.bindparam("camera_ids", expanding=True))
)


@functools.lru_cache(maxsize=256)
def _changes_query(
    time_from: datetime,
    time_to: datetime,
    camera_ids: str | None,
    plate_pattern: str | None,
    attributes: str | None,
    dialect: str,
) -> sa.Select[Any]:
    """The page query for one slice's filters (its stored columns), with the bounds
    `after`, `high` and `limit` left as parameters: built and keyed once per slice."""
    filters = SimpleNamespace(
        camera_ids=camera_ids, plate_pattern=plate_pattern, attributes=attributes
    )
    pattern = slice_pattern(filters)
    cameras_wanted = slice_cameras(filters)
    joined = read_changes.outerjoin(reads, reads.c.read_id == read_changes.c.read_id)
    query = (
        sa.select(
            read_changes.c.change_seq,
            read_changes.c.op,
            *_FEED_COLUMNS,
        )
        .select_from(joined)
        .where(
            read_changes.c.change_seq > sa.bindparam("after"),
            read_changes.c.change_seq <= sa.bindparam("high"),
            window_condition(read_changes.c.captured_at, time_from, time_to),
            sa.or_(read_changes.c.op == "delete", reads.c.read_id.is_not(None)),
        )
        .order_by(read_changes.c.change_seq)
        .limit(sa.bindparam("limit"))
    )
    if cameras_wanted is not None:
        query = query.where(read_changes.c.camera_id.in_(cameras_wanted))
    if pattern is not None:
        query = query.where(
            sa.or_(
                read_changes.c.op == "delete",
                pattern_condition(reads.c.plate, pattern, dialect),
            )
        )
    wanted = attribute_conditions(slice_attributes(filters))
    if wanted:
        query = query.where(sa.or_(read_changes.c.op == "delete", sa.and_(*wanted)))
    return query


@dataclass(frozen=True)
class FeedPageBody:
    """A FeedPage encoded once, as sent: its checksum covers exactly these JSON values."""

    body: bytes
    reads: int
    tombstones: list[str]
    next_cursor: str
    has_more: bool
    checksum: str
    partner_agency: str | None = None  # a partner user's slice: its access is audited


def feed_page(
    connection: Connection,
    signer: CursorSigner,
    *,
    slice_id: str,
    user_id: int,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> FeedPageBody:
    """One page of the slice's change feed, as the JSON body of a FeedPage."""
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
    high = int(connection.execute(_HIGH).scalar_one())
    query = _changes_query(
        row.time_from,
        row.time_to,
        row.camera_ids,
        row.plate_pattern,
        row.attributes,
        connection.dialect.name,
    )
    changes = connection.execute(query, {"after": after, "high": high, "limit": limit + 1}).all()
    has_more = len(changes) > limit
    changes = changes[:limit]
    next_seq = int(changes[-1][0]) if has_more else max(after, high)

    # The last change of each read on this page wins; a read is listed once. The read's
    # columns come with its changes (outer join): NULL for a read deleted since.
    final: dict[str, Any] = {}
    for change in changes:
        final.pop(change[2], None)
        final[change[2]] = change
    upserts: list[Any] = []
    tombstones: list[str] = []
    for read_id, change in final.items():
        if change[1] == "delete":
            tombstones.append(read_id)
        elif change[3] is not None:  # the read's plate: NULL if it was deleted since
            upserts.append(change[2:])
    places = _coordinates(connection, {upsert[5] for upsert in upserts})
    reads_json = ",".join([_read_json(upsert, places[upsert[5]]) for upsert in upserts])
    tombstones_json = _dump(tombstones)
    # Each read is canonical JSON, so this is canonical_json of the page's reads and
    # tombstones: app.core.canonical.page_checksum(reads, tombstones) for these values.
    checksum = sha256_hex(f'{{"reads":[{reads_json}],"tombstones":{tombstones_json}}}'.encode())
    next_cursor = signer.sign(slice_id, next_seq)
    body = (
        f'{{"slice_id":{_dump(slice_id)},"reads":[{reads_json}],"tombstones":{tombstones_json},'
        f'"next_cursor":{_dump(next_cursor)},"has_more":{"true" if has_more else "false"},'
        f'"checksum":"{checksum}"}}'
    )
    return FeedPageBody(
        body=body.encode(),
        reads=len(upserts),
        tombstones=tombstones,
        next_cursor=next_cursor,
        has_more=has_more,
        checksum=checksum,
        partner_agency=row.partner_agency,
    )
