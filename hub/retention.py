"""Retention: delete reads past the retention period, and their images, unless held.

What protects a read: any hold on it that is not released, whether confirmed or
only proposed. A proposal protects too because the purge cannot be undone and a
hold can: a detective who proposes a hold on day 29 must not lose the evidence
because the technician confirms it on day 31. The cost is that an unreviewed
proposal keeps its reads until a technician or supervisor confirms or releases
it; proposals are listed per case (GET /api/v1/holds) with their status.

How: in transactions of `batch_size` reads (oldest first). Each batch deletes
its reads with one statement and writes one `delete` change per read to
read_changes, exactly as hub.reads.delete_read does for one read (same change
log lock), so every slice that held a read gets a tombstone in its change feed.
An image file (scene or plate crop) goes with the batch when no surviving read
refers to the same sha256; its images row is deleted in the batch's transaction
and the file is unlinked after the commit (a crash in between leaves an
unreferenced file behind, never a row without its file).

On PostgreSQL the reads table is partitioned by day (hub.partitions): each day
that lies wholly before the cutoff goes first, one transaction per day, by
dropping its partition (its held reads are kept, its tombstones written, its
orphaned images removed). What remains past the cutoff after that (the part of
the cutoff's own day, held reads whose hold was released since) goes in batches
as above, which is also the whole purge on SQLite.

The purge is recorded in the hub's audit chain (`retention.purge`: cutoff,
retention days, counts).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.canonical import utc_iso
from hub.audit import record_hub_event
from hub.core.db import Database
from hub.db.tables import holds, images, read_changes, reads
from hub.images import ImageStore
from hub.partitions import expired_day_partitions, purge_day_partition, sweep_images
from hub.reads import lock_change_log

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
PURGE_ACTION = "retention.purge"
PURGER = "platedesk-hub"


@dataclass(frozen=True)
class PurgeResult:
    deleted_reads: int
    deleted_images: int
    kept_on_hold: int
    cutoff: datetime

    def as_json(self) -> dict[str, int]:
        return {
            "deleted_reads": self.deleted_reads,
            "deleted_images": self.deleted_images,
            "kept_on_hold": self.kept_on_hold,
        }


def held_condition() -> Any:
    """True for a read under a hold that is not released (proposed or confirmed)."""
    return sa.exists().where(holds.c.read_id == reads.c.read_id, holds.c.released_at.is_(None))


@dataclass(frozen=True)
class _Batch:
    deleted: int
    orphans: list[str]
    last: tuple[datetime, str] | None  # the (captured_at, read_id) the next batch starts after


def _delete_batch(
    connection: Connection,
    cutoff: datetime,
    *,
    now: datetime,
    limit: int,
    after: tuple[datetime, str] | None,
) -> _Batch:
    """Delete up to `limit` expired, unheld reads with their tombstones, oldest first.

    The batches walk (captured_at, read_id) forward instead of rescanning from the
    oldest read: on PostgreSQL the index entries of the rows deleted by earlier
    batches stay until a vacuum, and each batch would otherwise step over them.
    """
    lock_change_log(connection)
    query = (
        sa.select(
            reads.c.read_id,
            reads.c.camera_id,
            reads.c.captured_at,
            reads.c.image_sha256,
            reads.c.crop_sha256,
        )
        .where(reads.c.captured_at < cutoff, ~held_condition())
        .order_by(reads.c.captured_at, reads.c.read_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(
            sa.or_(
                reads.c.captured_at > after[0],
                sa.and_(reads.c.captured_at == after[0], reads.c.read_id > after[1]),
            )
        )
    rows = connection.execute(query).all()
    if not rows:
        return _Batch(0, [], after)
    read_ids = [row.read_id for row in rows]
    connection.execute(reads.delete().where(reads.c.read_id.in_(read_ids)))
    connection.execute(
        read_changes.insert(),
        [
            {
                "read_id": row.read_id,
                "op": "delete",
                "camera_id": row.camera_id,
                "captured_at": row.captured_at,
                "changed_at": now,
            }
            for row in rows
        ],
    )
    candidates = sorted({row.image_sha256 for row in rows} | {row.crop_sha256 for row in rows})
    still_used: set[str] = set()
    for column in (reads.c.image_sha256, reads.c.crop_sha256):
        still_used.update(
            connection.execute(sa.select(column).where(column.in_(candidates)).distinct()).scalars()
        )
    orphans = [sha for sha in candidates if sha not in still_used]
    if orphans:
        connection.execute(images.delete().where(images.c.sha256.in_(orphans)))
    return _Batch(len(rows), orphans, (rows[-1].captured_at, rows[-1].read_id))


def _unlink_all(store: ImageStore, shas: list[str]) -> int:
    """Unlink the files; how many there were."""
    return sum(1 for sha in shas if store.remove(sha))


def purge(
    database: Database,
    store: ImageStore,
    *,
    now: datetime,
    retention_days: int,
    batch_size: int = BATCH_SIZE,
    by: str = PURGER,
    stop: threading.Event | None = None,
) -> PurgeResult:
    """Delete reads captured before now - retention_days that no unreleased hold protects.

    `stop` ends the purge between batches (what is deleted stays deleted and the
    partial counts are recorded).
    """
    cutoff = now - timedelta(days=retention_days)
    deleted_reads = deleted_images = 0
    with database.read() as connection:
        days = expired_day_partitions(connection, cutoff)
    for day in days:
        if stop is not None and stop.is_set():
            break
        with database.write() as connection:
            lock_change_log(connection)
            dropped = purge_day_partition(connection, day, now=now)
        deleted_reads += dropped.deleted_reads
    with database.write() as connection:
        swept = sweep_images(connection)
    deleted_images += _unlink_all(store, swept)
    after: tuple[datetime, str] | None = None
    while stop is None or not stop.is_set():
        with database.write() as connection:
            batch = _delete_batch(connection, cutoff, now=now, limit=batch_size, after=after)
        deleted_reads += batch.deleted
        deleted_images += _unlink_all(store, batch.orphans)
        after = batch.last
        if batch.deleted < batch_size:
            break
    with database.write() as connection:
        kept = int(
            connection.execute(
                sa.select(sa.func.count())
                .select_from(reads)
                .where(reads.c.captured_at < cutoff, held_condition())
            ).scalar_one()
        )
        result = PurgeResult(deleted_reads, deleted_images, kept, cutoff)
        record_hub_event(
            connection,
            action=PURGE_ACTION,
            now=now,
            username=by,
            params={
                **result.as_json(),
                "cutoff": utc_iso(cutoff),
                "retention_days": retention_days,
                "completed": stop is None or not stop.is_set(),
            },
        )
    log.info(
        "retention purge: %d reads and %d images deleted, %d kept on hold",
        deleted_reads,
        deleted_images,
        kept,
    )
    return result
