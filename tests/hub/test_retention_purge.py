"""Retention purge internals: sweeps between days, detached days left by a crash,
and the threaded unlink of image files."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

import hub.retention as retention
from hub.db.tables import images, read_changes, reads
from hub.images import ImageStore
from hub.partitions import purge_day_partition, sweep_sizes, utc_day
from hub.reads import lock_change_log
from tests.hub.hub_support import CASE, HubFixture, old_read


def _known_images(hub: HubFixture) -> set[str]:
    with hub.database.read() as connection:
        return set(connection.execute(sa.select(images.c.sha256)).scalars())


def _detached_tables(hub: HubFixture) -> list[str]:
    with hub.database.read() as connection:
        return list(
            connection.exec_driver_sql(
                "SELECT relname FROM pg_class WHERE relname ~ '^purge_reads_p'"
            ).scalars()
        )


def test_sweeps_between_days_keep_images_of_later_days_and_held_reads(
    hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep after each day must not take an image that a later expired day, a
    held read or a young read still refers to."""
    monkeypatch.setattr(retention, "SWEEP_AT_LEAST", 1)
    monkeypatch.setattr(retention, "SWEEP_RATIO", 10**9)
    store = ImageStore(hub.settings.images_dir)
    first = old_read(hub, "A", days=45)
    later = old_read(hub, "B", days=40, image=first["image_sha256"])  # shares A's scene
    held = old_read(hub, "C", days=44)
    young = old_read(hub, "D", days=3, image=held["image_sha256"])
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
        assert sha not in _known_images(hub)
    for sha in (held["image_sha256"], held["crop_sha256"], young["crop_sha256"]):
        assert store.exists(sha)
        assert sha in _known_images(hub)
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
    store = ImageStore(hub.settings.images_dir)
    gone = old_read(hub, "E", days=40)
    with hub.database.write() as connection:  # the day's transaction, then a crash
        lock_change_log(connection)
        detached = purge_day_partition(connection, utc_day(gone["captured_at"]), now=hub.clock.now)
    assert detached.deleted_reads == 1
    assert len(_detached_tables(hub)) == 1
    with hub.database.read() as connection:
        assert sweep_sizes(connection).detached > 0
    assert store.exists(gone["image_sha256"])

    result = retention.purge(hub.database, store, now=hub.clock.now, retention_days=30)

    assert result.as_json() == {"deleted_reads": 0, "deleted_images": 2, "kept_on_hold": 0}
    assert _detached_tables(hub) == []
    assert not store.exists(gone["image_sha256"])
    assert not store.exists(gone["crop_sha256"])
    assert gone["image_sha256"] not in _known_images(hub)


def test_unlinker_counts_the_files_it_removed(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    present = [store.put(f"image {number}".encode()) for number in range(40)]
    absent = [hashlib.sha256(f"never stored {n}".encode()).hexdigest() for n in range(40)]
    missing_folder = "ff" * 32  # its folder may or may not exist; it has no file
    with ThreadPoolExecutor(3) as pool:
        unlinker = retention._Unlinker(store, pool)
        unlinker.submit(present[:20] + absent + ["not a sha256", missing_folder])
        unlinker.submit(present[20:])
        assert unlinker.wait() == len(present)
        assert unlinker.wait() == 0
    assert not any(store.exists(sha) for sha in present)
