"""Reads and their change log: every insert and delete writes a read_changes row
in the same transaction, so the change feed sees each change exactly once, in
commit order.

On PostgreSQL writers take an EXCLUSIVE lock on read_changes (readers are not
blocked), so change_seq values commit in increasing order and a feed reader never
passes over a change that commits later with a smaller number. SQLite has one
writer at a time already.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.schemas import ReadPublic
from hub.db.tables import cameras, read_changes, reads
from hub.partitions import ensure_day_partitions, partitioned, refuse_stored_read_ids, utc_day

READ_COLUMNS = (
    "read_id",
    "plate",
    "state",
    "confidence",
    "captured_at",
    "camera_id",
    "direction",
    "make",
    "model",
    "color",
    "body_type",
    "features",
    "image_sha256",
    "image_size",
    "crop_sha256",
    "crop_size",
)


def lock_change_log(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE read_changes IN EXCLUSIVE MODE")


def insert_reads(
    connection: Connection, rows: Iterable[Mapping[str, Any]], *, now: datetime
) -> int:
    """Insert reads (features as a list) and their 'upsert' changes; returns the count."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        values = {name: row[name] for name in READ_COLUMNS}
        values["features"] = json.dumps(list(row["features"]))
        batch.append(values)
    if not batch:
        return 0
    lock_change_log(connection)
    if partitioned(connection):
        refuse_stored_read_ids(connection, [values["read_id"] for values in batch])
        ensure_day_partitions(connection, {utc_day(values["captured_at"]) for values in batch})
    connection.execute(reads.insert(), batch)
    connection.execute(
        read_changes.insert(),
        [
            {
                "read_id": values["read_id"],
                "op": "upsert",
                "camera_id": values["camera_id"],
                "captured_at": values["captured_at"],
                "changed_at": now,
            }
            for values in batch
        ],
    )
    return len(batch)


def delete_read(connection: Connection, read_id: str, *, now: datetime) -> bool:
    """Delete one read and log a 'delete' change (a tombstone for every slice holding it).

    Retention uses this; returns False when no such read exists.
    """
    lock_change_log(connection)
    row = connection.execute(
        sa.select(reads.c.camera_id, reads.c.captured_at).where(reads.c.read_id == read_id)
    ).first()
    if row is None:
        return False
    connection.execute(reads.delete().where(reads.c.read_id == read_id))
    connection.execute(
        read_changes.insert().values(
            read_id=read_id,
            op="delete",
            camera_id=row.camera_id,
            captured_at=row.captured_at,
            changed_at=now,
        )
    )
    return True


def read_select() -> sa.Select[Any]:
    """Reads joined with their camera's location: the columns of ReadPublic."""
    return sa.select(
        *(reads.c[name] for name in READ_COLUMNS),
        cameras.c.latitude,
        cameras.c.longitude,
    ).select_from(reads.join(cameras, reads.c.camera_id == cameras.c.camera_id))


def read_public(row: Any) -> ReadPublic:
    return ReadPublic(
        read_id=row.read_id,
        plate=row.plate,
        state=row.state,
        confidence=row.confidence,
        captured_at=row.captured_at,
        camera_id=row.camera_id,
        latitude=row.latitude,
        longitude=row.longitude,
        direction=row.direction,
        make=row.make,
        model=row.model,
        color=row.color,
        body_type=row.body_type,
        features=json.loads(row.features),
        image_sha256=row.image_sha256,
        image_size=row.image_size,
        crop_sha256=row.crop_sha256,
        crop_size=row.crop_size,
    )
