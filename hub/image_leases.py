"""Leases on the images an ingest writes before it records their reads.

Ingest writes a batch's images first, then records the reads in one transaction
under the change-log lock (hub.reads.lock_change_log), so the write lock is never
held while images are created. Between the two, a purge may find one of those images
orphaned (an expired read named the same bytes) and remove it. To keep that race
closed the database is the source of truth, not the image store:

- before writing, ingest takes a lease naming the images (take_lease: one row, its
  own short transaction);
- the purge reads the live leases in each of its deleting transactions, after taking
  the change-log lock and before removing anything (leased_images), and spares every
  image a lease names;
- the transaction that records the reads drops the lease (release), so a lease lives
  for one request; one left by a crash expires after LEASE_LIFETIME and the purge
  deletes it.

Why it holds: on PostgreSQL the purge reads the leases under a SHARE lock on
image_leases, kept until its commit, which an INSERT waits for. So a lease either
committed before the purge read the leases (the purge sees it and spares its images)
or is taken after the purge committed (its removals all came before the images are
written, and the writes put them back). On SQLite every write transaction holds the
database's one write lock, with the same effect. This costs ingest one small
transaction a request, where looking for every image again before the commit cost
an object store a HEAD request an image.

An image a lease spared and whose ingest then failed stays in the store, named by
no read (as one left behind by a conflicting resend does).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.core.db import Database
from hub.db.tables import image_leases

log = logging.getLogger(__name__)

# Longer than any ingest request can run (its images written, its reads recorded).
LEASE_LIFETIME = timedelta(hours=1)


@dataclass
class ImageLease:
    """A lease taken by take_lease; lease_id is None when it names no image."""

    lease_id: int | None
    released: bool = False


def take_lease(database: Database, shas: Iterable[str], *, now: datetime) -> ImageLease:
    """Lease these images (committed before this returns: write them only after)."""
    names = sorted(set(shas))
    if not names:
        return ImageLease(None, released=True)
    with database.write() as connection:
        lease_id = connection.execute(
            image_leases.insert()
            .values(taken_at=now, images=" ".join(names))
            .returning(image_leases.c.lease_id)
        ).scalar_one()
    return ImageLease(int(lease_id))


def release(connection: Connection, lease: ImageLease) -> None:
    """Drop the lease in the caller's transaction (the one that records the reads
    naming its images); mark it released once that transaction commits."""
    if lease.lease_id is not None:
        connection.execute(image_leases.delete().where(image_leases.c.lease_id == lease.lease_id))


@contextlib.contextmanager
def leasing(database: Database, shas: Iterable[str], *, now: datetime) -> Iterator[ImageLease]:
    """A lease on these images for the block. The block drops it in the transaction
    that records their reads (release) and sets `released` after that commit; a lease
    the block did not drop (it failed) is dropped in a transaction of its own."""
    lease = take_lease(database, shas, now=now)
    try:
        yield lease
    finally:
        if not lease.released:
            try:
                with database.write() as connection:
                    release(connection, lease)
            except sa.exc.SQLAlchemyError:  # it expires instead
                log.warning("an image lease was left to expire", exc_info=True)


def leased_images(connection: Connection, *, now: datetime) -> set[str]:
    """The images that live leases name; leases past LEASE_LIFETIME are deleted.

    Call it in the purge's deleting transaction, after the change-log lock and
    before removing images: on PostgreSQL it takes a SHARE lock on image_leases,
    held until that transaction ends, so no lease commits in between."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE image_leases IN SHARE MODE")
    expired = now - LEASE_LIFETIME
    connection.execute(image_leases.delete().where(image_leases.c.taken_at < expired))
    leased: set[str] = set()
    for images in connection.execute(sa.select(image_leases.c.images)).scalars():
        leased.update(images.split())
    return leased
