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
names the same sha256.

On PostgreSQL the reads table is partitioned by day (hub.partitions): each day
that lies wholly before the cutoff goes first, one transaction per day, by
detaching its partition (its held reads are kept, its tombstones written). Once
every expired day is detached, the images of each detached day are swept (their
orphans' files unlinked, the detached table dropped), a transaction a day.
What remains past the cutoff after that (the part of the cutoff's own day, held
reads whose hold was released since) goes in batches as above, which is also the
whole purge on SQLite.

Files are unlinked off the purge's thread (_Unlinker), folder by folder (objects of
an object store: deleted 1,000 keys a request, hub.images.S3ImageStore), inside
the transaction that found them orphaned and under the change-log lock, before
its commit. Ingest takes the same lock before it records a read, so a read that
names an image being purged either commits first (and the image stays) or comes
after it; and ingest leases the images it writes before that transaction
(hub.image_leases): each deleting transaction of the purge reads the live leases
and spares every image they name. Ingest waits while a sweep unlinks, one day's files at
a time: 66,000 files for a day of 200 cameras, 0.15 s when the files are missing
and about 2.8 s when they are there (ext4 took 42 us to unlink each of 2,000,000
one-byte files in 256 folders on this machine). A crash before the commit leaves expired reads (on SQLite) or
detached days (on PostgreSQL) whose files may be gone: the next purge takes them.
`deleted_images` counts the files that were there.

The purge is recorded in the hub's audit chain (`retention.purge`: cutoff,
retention days, counts).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.canonical import utc_iso
from hub.audit import record_hub_event
from hub.core.db import Database
from hub.db.tables import holds, read_changes, reads
from hub.image_leases import leased_images
from hub.images import ImageStore
from hub.partitions import (
    detached_tables,
    expired_day_partitions,
    purge_day_partition,
    sweep_images,
)
from hub.reads import lock_change_log

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
# Files are unlinked while the purge's own thread fetches what to unlink next: a few
# on one thread, large lists (a sweep's chunks) on UNLINK_PROCESSES processes. Python
# spends about 2 us a file around the system call, so threads contend for the GIL:
# measured here, 4 threads unlinked at 6.3 us a file (missing files) where one took
# 3.7; two processes halved a 2,000,000-file sweep (8.6 -> 4.6 s).
UNLINK_PROCESSES = 2
PROCESSES_AT_LEAST = 10_000  # files in one list, worth a process's start (~0.3 s)
PURGE_ACTION = "retention.purge"
PURGER = "platedesk-hub"


@dataclass(frozen=True)
class PurgeResult:
    deleted_reads: int
    deleted_images: int
    kept_on_hold: int
    cutoff: datetime
    # Seconds spent in each step (detach, sweep, batches), for the log
    # and the benchmark; not part of the command's JSON.
    steps: dict[str, float] = field(default_factory=dict)

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
    return _Batch(len(rows), orphans, (rows[-1].captured_at, rows[-1].read_id))


class _Unlinker:
    """Removes images off the caller's thread: a short list on a thread, a long one
    of a folder store on a pool of processes started when first needed (spawned: the
    hub's threads are not forked); an object store deletes in batches of up to 1,000
    keys a request on its own threads (S3ImageStore.remove). Hand it only images
    that no read names."""

    def __init__(self, store: ImageStore) -> None:
        self._store = store
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="image-unlink")
        self._processes: ProcessPoolExecutor | None = None
        self._pending: list[Future[int]] = []
        self.removed = 0  # files unlinked so far (not counting those that were not there)
        # Images handed over already: an image of two expired days is orphaned in the
        # sweep of each, and is removed (and counted) once. An object store reports a
        # key deleted whether it was there or not, so this keeps its count right too.
        self._handed: set[str] = set()
        # Images leased by an ingest that is writing them (hub.image_leases): never
        # removed. Set in each deleting transaction, under the change-log lock.
        self.spared: set[str] = set()

    def __enter__(self) -> _Unlinker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._thread.shutdown(wait=True)
        if self._processes is not None:
            self._processes.shutdown(wait=True)

    def submit(self, shas: list[str]) -> None:
        shas = [sha for sha in shas if sha not in self._handed and sha not in self.spared]
        self._handed.update(shas)
        if not shas:
            return
        pool: Executor = self._thread
        if len(shas) >= PROCESSES_AT_LEAST and self._store.removes_in_processes:
            if self._processes is None:
                self._processes = ProcessPoolExecutor(
                    UNLINK_PROCESSES, mp_context=multiprocessing.get_context("spawn")
                )
            pool = self._processes
        self._pending.append(pool.submit(self._store.remove, shas))

    def wait(self) -> int:
        """Wait until every file handed so far is unlinked; how many there were."""
        removed = sum(future.result() for future in self._pending)
        self._pending.clear()
        self.removed += removed
        return removed


class _Steps(dict[str, float]):
    """Seconds spent in each named step of a purge, added up."""

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - started


def _purge_reads(
    database: Database,
    unlinker: _Unlinker,
    *,
    cutoff: datetime,
    now: datetime,
    batch_size: int,
    stop: threading.Event | None,
    steps: _Steps,
) -> int:
    """Delete the expired, unheld reads and the files of their orphaned images; how
    many reads were deleted. Every file is unlinked before the commit that found it
    orphaned (see the module doc)."""
    deleted_reads = 0
    with database.read() as connection:
        days = expired_day_partitions(connection, cutoff)
    for day in days:
        if stop is not None and stop.is_set():
            break
        with steps.timed("detach"), database.write() as connection:
            lock_change_log(connection)
            detached = purge_day_partition(connection, day, now=now)
        deleted_reads += detached.deleted_reads
    with database.read() as connection:
        tables = detached_tables(connection)
    for table in tables:  # one day a transaction: ingest waits for one day's files at most
        if stop is not None and stop.is_set():
            break
        with steps.timed("sweep"), database.write() as connection:
            lock_change_log(connection)
            unlinker.spared = leased_images(connection, now=now)
            sweep_images(connection, table, unlinker.submit)
            unlinker.wait()
    after: tuple[datetime, str] | None = None
    while stop is None or not stop.is_set():
        with steps.timed("batches"), database.write() as connection:
            batch = _delete_batch(connection, cutoff, now=now, limit=batch_size, after=after)
            unlinker.spared = leased_images(connection, now=now)  # under _delete_batch's lock
            unlinker.submit(batch.orphans)
            unlinker.wait()
        deleted_reads += batch.deleted
        after = batch.last
        if batch.deleted < batch_size:
            break
    return deleted_reads


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
    partial counts are recorded). Every file of a deleted image is unlinked before
    this returns.
    """
    cutoff = now - timedelta(days=retention_days)
    steps = _Steps()
    with _Unlinker(store) as unlinker:
        deleted_reads = _purge_reads(
            database,
            unlinker,
            cutoff=cutoff,
            now=now,
            batch_size=batch_size,
            stop=stop,
            steps=steps,
        )
        deleted_images = unlinker.removed
    with database.write() as connection:
        kept = int(
            connection.execute(
                sa.select(sa.func.count())
                .select_from(reads)
                .where(reads.c.captured_at < cutoff, held_condition())
            ).scalar_one()
        )
        result = PurgeResult(
            deleted_reads,
            deleted_images,
            kept,
            cutoff,
            steps={name: round(seconds, 3) for name, seconds in steps.items()},
        )
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
        "retention purge: %d reads and %d images deleted, %d kept on hold; seconds %s",
        deleted_reads,
        deleted_images,
        kept,
        result.steps,
    )
    return result
