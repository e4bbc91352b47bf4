"""Batch ingest: images written before the write transaction, concurrent batches, and
the image store's writer (create in place, repair a partial file)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub import ingest
from hub.core.db import Database
from hub.db.tables import read_changes, reads
from hub.images import FolderImageStore, ImageStore, open_image_store
from hub.ingest import ingest_batch
from tests.hub.hub_support import HubFixture, ingest_body, real_jpeg


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _WatchedDatabase:
    """The hub's database, noting which image files exist when a write transaction begins."""

    def __init__(self, database: Database, store: ImageStore, wanted: list[str]) -> None:
        self.database = database
        self.store = store
        self.wanted = wanted
        self.present_at_begin: list[bool] = []

    def read(self) -> Any:
        return self.database.read()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        self.present_at_begin.append(all(self.store.exists(sha) for sha in self.wanted))
        with self.database.write() as connection:
            yield connection


def test_batch_images_are_written_before_the_write_transaction(hub: HubFixture) -> None:
    images = [real_jpeg(300 + index) for index in range(6)]
    batch = [ingest_body(hub.clock.now, image=image) for image in images]
    store = open_image_store(hub.settings)
    watched = _WatchedDatabase(hub.database, store, [_sha(image) for image in images])
    outcome = ingest_batch(watched, store, batch, allowed_camera=None, now=hub.clock.now)
    assert outcome.created == len(batch)
    # The lease on the images (hub.image_leases) before they are written, then the
    # transaction that records the reads, once they are: the write lock is not held
    # for file writes.
    assert watched.present_at_begin == [False, True]
    assert all(store.read(_sha(image)) == image for image in images)


def test_a_read_new_only_inside_the_transaction_gets_its_files_there(
    hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the look before the transaction take a read for stored (it was purged
    meanwhile, say), its files are written inside the transaction, before the commit."""
    monkeypatch.setattr(ingest, "_new_read_ids", lambda _connection, _bodies: set())
    images = [real_jpeg(320 + index) for index in range(3)]
    batch = [ingest_body(hub.clock.now, image=image) for image in images]
    store = open_image_store(hub.settings)
    watched = _WatchedDatabase(hub.database, store, [_sha(image) for image in images])
    outcome = ingest_batch(watched, store, batch, allowed_camera=None, now=hub.clock.now)
    assert outcome.created == len(batch)
    assert watched.present_at_begin == [False]
    assert all(store.read(_sha(image)) == image for image in images)


def test_refused_reads_write_no_file(hub: HubFixture) -> None:
    image = real_jpeg(340)
    unknown_camera = ingest_body(hub.clock.now, image=image, camera_id="CAM-404")
    store = open_image_store(hub.settings)
    outcome = ingest_batch(
        hub.database, store, [unknown_camera], allowed_camera=None, now=hub.clock.now
    )
    assert outcome.refused == 1
    assert not store.exists(_sha(image))


def test_concurrent_batches_store_each_read_once(hub: HubFixture) -> None:
    """Batches posted at once, sharing reads and spanning new days (new partitions on
    PostgreSQL): no deadlock, no error, every read stored once with one change row."""
    now = hub.clock.now
    bodies = [
        ingest_body(now - timedelta(days=index % 3), image=real_jpeg(400 + index))
        for index in range(24)
    ]
    batches = [bodies[start : start + 12] for start in range(0, 24, 6)]  # overlapping
    store = open_image_store(hub.settings)

    def post(batch: list[dict[str, Any]]) -> Any:
        return ingest_batch(hub.database, store, batch, allowed_camera=None, now=now)

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(post, batches * 2))
    assert all(outcome.refused == outcome.conflict == 0 for outcome in outcomes)
    assert sum(outcome.created for outcome in outcomes) == len(bodies)
    ids = [body["read_id"] for body in bodies]
    with hub.database.read() as connection:
        stored = connection.execute(
            sa.select(sa.func.count()).select_from(reads).where(reads.c.read_id.in_(ids))
        ).scalar_one()
        changes = connection.execute(
            sa.select(sa.func.count())
            .select_from(read_changes)
            .where(read_changes.c.read_id.in_(ids))
        ).scalar_one()
    assert stored == changes == len(bodies)


# --- ImageStore.write_named and ImageWriter -------------------------------------------


def test_a_partial_file_is_written_again_whole(tmp_path: Path) -> None:
    """A file left short (a crash mid-write) is replaced, by temp file and rename."""
    store = FolderImageStore(tmp_path / "images")
    data = b"\xff\xd8\xff" + b"\x03" * 50_000
    sha = _sha(data)
    path = store.path_of(sha)
    path.parent.mkdir(parents=True)
    path.write_bytes(data[:1000])
    assert store.put(data) == sha
    assert store.read(sha) == data
    assert sorted(os.listdir(path.parent)) == [path.name]  # no temp file left


@pytest.mark.parametrize("threads", [0, 2])
def test_writer_writes_what_it_is_handed_and_reports_failures(tmp_path: Path, threads: int) -> None:
    store = FolderImageStore(tmp_path / "images", writer_threads=threads)
    files = {_sha(data): data for data in (b"one" * 9, b"two" * 9, b"three" * 9)}
    writer = store.writer()
    writer.add(files, hashed=True)
    writer.add(files)  # handed twice: written once
    writer.wait()
    assert writer.names == frozenset(files)
    assert all(store.read(sha) == data for sha, data in files.items())

    wrong = store.writer()
    wrong.add({_sha(b"six"): b"not six"})
    with pytest.raises(ValueError, match="another SHA-256"):
        wrong.wait()
    assert not store.exists(_sha(b"six"))

    unnamed = store.writer()
    unnamed.add({"../escape": b"x"}, hashed=True)
    with pytest.raises(ValueError, match="64 lower-case hex"):
        unnamed.wait()
