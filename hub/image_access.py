"""Who may fetch which image: the images of reads in the caller's active slices, and
those of the reads behind alerts addressed to the caller (GET /images/{sha256} one at a
time, POST /images:batch many)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.alerts import recipient_condition
from hub.db.tables import alerts, reads, slices
from hub.slices import (
    Caller,
    attributes_match,
    case_access_condition,
    slice_attributes,
    slice_cameras,
    slice_pattern,
)


def image_visible_to(connection: Connection, *, sha256: str, user_id: int, now: datetime) -> bool:
    """Whether the image belongs to a read inside one of the user's active slices, of an
    open case the user is still assigned to."""
    candidates = connection.execute(
        sa.select(*_read_columns())
        .where(sa.or_(reads.c.image_sha256 == sha256, reads.c.crop_sha256 == sha256))
        .limit(100)
    ).all()
    if not candidates:
        return False
    return next(_in_slices(connection, candidates, user_id=user_id, now=now), None) is not None


def _in_slices(
    connection: Connection, candidates: Sequence[Any], *, user_id: int, now: datetime
) -> Iterator[Any]:
    """Those of the candidate reads inside one of the user's active slices, of an open
    case the user is still assigned to (a read once per slice it is in)."""
    active = connection.execute(
        sa.select(slices).where(
            slices.c.user_id == user_id,
            slices.c.revoked_at.is_(None),
            slices.c.expires_at > now,
            case_access_condition(user_id),
        )
    ).all()
    for slice_row in active:
        cameras = slice_cameras(slice_row)
        pattern = slice_pattern(slice_row)
        wanted = slice_attributes(slice_row)
        for read in candidates:
            if not slice_row.time_from <= read.captured_at < slice_row.time_to:
                continue
            if cameras is not None and read.camera_id not in cameras:
                continue
            if pattern is not None and not pattern.matches(read.plate):
                continue
            if attributes_match(wanted, read):
                yield read


def alert_image_visible_to(connection: Connection, *, sha256: str, caller: Caller) -> bool:
    """Whether the image (scene or crop) is of a read behind an alert addressed to the
    caller: the policy's visual confirmation needs it, slice or no slice."""
    found = connection.execute(
        sa.select(alerts.c.alert_id)
        .select_from(alerts.join(reads, reads.c.read_id == alerts.c.read_id))
        .where(
            sa.or_(reads.c.image_sha256 == sha256, reads.c.crop_sha256 == sha256),
            recipient_condition(connection, caller),
        )
        .limit(1)
    ).first()
    return found is not None


def _read_columns() -> list[sa.ColumnElement[object]]:
    return [
        reads.c.plate,
        reads.c.captured_at,
        reads.c.camera_id,
        reads.c.make,
        reads.c.model,
        reads.c.color,
        reads.c.body_type,
        reads.c.features,
    ]


def visible_images(
    connection: Connection, *, shas: Collection[str], caller: Caller, now: datetime
) -> set[str]:
    """Those of these images (scenes or crops) the caller may fetch: of a read inside
    one of the caller's active slices (image_visible_to), or behind an alert addressed
    to the caller (alert_image_visible_to). A few queries for the whole list."""
    wanted = set(shas)
    if not wanted:
        return set()
    named = sa.or_(reads.c.image_sha256.in_(wanted), reads.c.crop_sha256.in_(wanted))
    candidates = connection.execute(
        sa.select(*_read_columns(), reads.c.image_sha256, reads.c.crop_sha256).where(named)
    ).all()
    visible: set[str] = set()
    for read in _in_slices(connection, candidates, user_id=caller.user_id, now=now):
        visible.update({read.image_sha256, read.crop_sha256} & wanted)
    rest = wanted - visible
    if rest:
        visible.update(
            sha
            for pair in connection.execute(
                sa.select(reads.c.image_sha256, reads.c.crop_sha256)
                .select_from(alerts.join(reads, reads.c.read_id == alerts.c.read_id))
                .where(
                    sa.or_(reads.c.image_sha256.in_(rest), reads.c.crop_sha256.in_(rest)),
                    recipient_condition(connection, caller),
                )
            )
            for sha in pair
            if sha in rest
        )
    return visible
