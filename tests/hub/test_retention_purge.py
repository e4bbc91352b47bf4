"""Retention purge internals: images shared across days, detached days left by a
crash, the threaded unlink of image files, and ingest racing a purge for a file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

import hub.retention as retention
from hub.core.db import Database
from hub.db.tables import image_leases, read_changes, reads
from hub.image_leases import LEASE_LIFETIME, take_lease
from hub.images import FolderImageStore, ImageStore, open_image_store
from hub.ingest import ingest_batch
from hub.partitions import purge_day_partition, utc_day
from hub.reads import lock_change_log
from tests.hub.hub_support import CASE, HubFixture, assign, ingest_body, old_read, real_jpeg


def _detached_tables(hub: HubFixture) -> list[str]:
    with hub.database.read() as connection:
        return list(
            connection.exec_driver_sql(
                "SELECT relname FROM pg_class WHERE relname ~ '^purge_reads_p'"
            ).scalars()
        )


def test_images_shared_across_days_go_once_and_stay_while_a_read_names_them(
    store_hub: HubFixture,
) -> None:
    """An image of two expired days goes once (counted once); one that a held read or
    a young read still names stays. Both stores: the data folder's and an object store
    (its objects deleted by multi-object delete)."""
    hub = store_hub
    store = open_image_store(hub.settings)
    first = old_read(hub, "A", days=45)
    later = old_read(hub, "B", days=40, image=first["image_sha256"])  # shares A's scene
    held = old_read(hub, "C", days=44)
    young = old_read(hub, "D", days=3, image=held["image_sha256"])
    assign(hub, "technician", CASE)
    reply = hub.client.post(
        "/api/v1/holds",
        json={"case_number": CASE, "read_ids": [held["read_id"]], "note": "evidence"},
        headers=hub.headers("technician"),
    )
    assert reply.status_code == 201, reply.text

    result = retention.purge(hub.database, store, now=hub.clock.now, retention_days=30)

    assert result.as_json() == {"deleted_reads": 2, "deleted_images": 3, "kept_on_hold": 1}
    for sha in (first["image_sha256"], first["crop_sha256"], later["crop_sha256"]):
        assert not store.exists(sha)
    for sha in (held["image_sha256"], held["crop_sha256"], young["crop_sha256"]):
        assert store.exists(sha)
    with hub.database.read() as connection:
        left = set(connection.execute(sa.select(reads.c.read_id)).scalars())
        tombstones = set(
            connection.execute(
                sa.select(read_changes.c.read_id).where(read_changes.c.op == "delete")
            ).scalars()
        )
    assert {held["read_id"], young["read_id"]} <= left
    assert tombstones == {first["read_id"], later["read_id"]}
    if hub.database.is_postgresql:
        assert _detached_tables(hub) == []


def test_a_day_detached_before_a_crash_is_swept_by_the_next_purge(hub: HubFixture) -> None:
    if not hub.database.is_postgresql:
        pytest.skip("reads are partitioned by day on PostgreSQL only")
    store = open_image_store(hub.settings)
    gone = old_read(hub, "E", days=40)
    with hub.database.write() as connection:  # the day's transaction, then a crash
        lock_change_log(connection)
        detached = purge_day_partition(connection, utc_day(gone["captured_at"]), now=hub.clock.now)
    assert detached.deleted_reads == 1
    assert len(_detached_tables(hub)) == 1
    assert store.exists(gone["image_sha256"])

    result = retention.purge(hub.database, store, now=hub.clock.now, retention_days=30)

    assert result.as_json() == {"deleted_reads": 0, "deleted_images": 2, "kept_on_hold": 0}
    assert _detached_tables(hub) == []
    assert not store.exists(gone["image_sha256"])
    assert not store.exists(gone["crop_sha256"])


@pytest.mark.parametrize("processes_at_least", [10**9, 1], ids=["thread", "processes"])
def test_unlinker_counts_the_files_it_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, processes_at_least: int
) -> None:
    monkeypatch.setattr(retention, "PROCESSES_AT_LEAST", processes_at_least)
    store = FolderImageStore(tmp_path / "images")
    present = [store.put(f"image {number}".encode()) for number in range(40)]
    absent = [hashlib.sha256(f"never stored {n}".encode()).hexdigest() for n in range(40)]
    missing_folder = "ff" * 32  # its folder may or may not exist; it has no file
    with retention._Unlinker(store) as unlinker:
        unlinker.submit(present[:20] + absent + ["not a sha256", missing_folder])
        unlinker.submit(present[20:])
        assert unlinker.wait() == len(present)
        assert unlinker.wait() == 0
    assert not any(store.exists(sha) for sha in present)


class _PurgeBefore:
    """The hub's database, where a purge runs (and commits) just before its `write`th
    write transaction begins. Ingest's first is its lease on the images (taken before
    they are written), its second records the reads."""

    def __init__(self, hub: HubFixture, store: ImageStore, *, write: int) -> None:
        self.hub = hub
        self.store = store
        self.purge_at = write
        self.writes = 0
        self.purged: list[retention.PurgeResult] = []

    def read(self) -> Any:
        return self.hub.database.read()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        database: Database = self.hub.database
        self.writes += 1
        if self.writes == self.purge_at:
            self.purged.append(
                retention.purge(database, self.store, now=self.hub.clock.now, retention_days=30)
            )
        with database.write() as connection:
            yield connection


def _leases(hub: HubFixture) -> int:
    with hub.database.read() as connection:
        count: int = connection.execute(
            sa.select(sa.func.count()).select_from(image_leases)
        ).scalar_one()
    return count


def test_a_purge_spares_an_image_a_batch_has_written_and_not_yet_recorded(
    store_hub: HubFixture,
) -> None:
    """A camera sends a scene byte for byte the same as an expired read's: the batch
    leases and writes it, then the purge takes the expired read before the batch's
    transaction. The purge must spare the scene (it removes the expired read's own
    crop) and the read stored must have its image. Both stores: the data folder's and
    an object store."""
    hub = store_hub
    store = open_image_store(hub.settings)
    scene = real_jpeg(340)
    expired = old_read(hub, "R", image=store.put(scene))
    body = ingest_body(hub.clock.now, image=scene)
    racing = _PurgeBefore(hub, store, write=2)

    outcome = ingest_batch(racing, store, [body], allowed_camera=None, now=hub.clock.now)

    assert outcome.created == 1
    (purged,) = racing.purged
    assert purged.deleted_reads == 1
    assert purged.deleted_images == 1  # the expired read's crop, not the scene
    assert not store.exists(expired["crop_sha256"])
    assert store.read(expired["image_sha256"]) == scene
    assert _leases(hub) == 0  # the batch's transaction dropped its lease


def test_a_lease_left_by_a_crash_spares_its_images_until_it_expires(hub: HubFixture) -> None:
    """An ingest that leased an image and died: the purge spares the image while the
    lease lives, and deletes the lease once it is past its lifetime."""
    store = open_image_store(hub.settings)
    expired = old_read(hub, "L")
    take_lease(hub.database, [expired["image_sha256"]], now=hub.clock.now)

    purged = retention.purge(hub.database, store, now=hub.clock.now, retention_days=30)

    assert purged.deleted_reads == 1
    assert store.exists(expired["image_sha256"])
    assert not store.exists(expired["crop_sha256"])
    assert _leases(hub) == 1
    later = hub.clock.now + LEASE_LIFETIME + timedelta(seconds=1)
    retention.purge(hub.database, store, now=later, retention_days=30)
    assert _leases(hub) == 0
