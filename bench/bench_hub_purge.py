"""Hub retention purge: batched purge of expired reads vs a row-by-row DELETE, as JSON.

    python bench/bench_hub_purge.py [--db postgresql://...] [--reads 1000000] [--cameras 200]
        [--rowwise 20000] [--files]

Without --db a scratch database is created on the PostgreSQL server at
127.0.0.1:5432 (user postgres) and dropped afterwards; pass --db sqlite to run on
SQLite in a temp folder. Every read is 31+ days old and has its own scene and
crop sha256. The image store has its 256 folders (DATA/images/00 .. ff, as a store
in use has) but no files: each unlink is a miss looked up in its folder, the cost
of the purge's own work per file. With --files every image is a real file of one
byte, and the purge pays the file system's unlink too (about 10 us a file on this
machine's ext4, which no number of threads or processes shortened). The batched
purge (hub.retention.purge, 5,000 reads a transaction, tombstones included)
takes `--reads`; the row-by-row baseline (hub.reads.delete_read, one transaction
per read) is measured on `--rowwise` more reads in the same run and its
per-read time extrapolated to `--reads`. On PostgreSQL the reads are partitioned by
day (hub.partitions), so the purge drops whole days; on SQLite it is the batched
DELETE.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from app.core.schemas import CameraPublic
from hub.catalog import add_camera
from hub.core.config import HubSettings
from hub.core.db import Database, migrate
from hub.db.types import to_ms
from hub.images import FolderImageStore, ImageStore
from hub.reads import delete_read, insert_reads
from hub.retention import purge

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
CHUNK = 50_000


def _rows(count: int, cameras: int, now: datetime, start: int) -> Iterator[dict[str, Any]]:
    for index in range(start, start + count):
        sha = hashlib.sha256(str(index).encode()).hexdigest()
        yield {
            "read_id": uuid.uuid4().hex, "plate": f"P{index:07d}", "state": "WY",
            "confidence": 0.9,
            "captured_at": now - timedelta(days=31, seconds=index % (29 * 86400)),
            "camera_id": f"CAM-{index % cameras:03d}", "direction": "NB", "make": "Ford",
            "model": "F-150", "color": "white", "body_type": "pickup", "features": [],
            "image_sha256": sha, "image_size": 1,
            "crop_sha256": hashlib.sha256(sha.encode()).hexdigest(), "crop_size": 1,
        }  # fmt: skip


def _fill(
    database: Database,
    count: int,
    cameras: int,
    now: datetime,
    start: int,
    store: ImageStore | None = None,
) -> float:
    """The reads, each naming its own scene and crop (files of one byte in `store`)."""
    started = time.perf_counter()
    for offset in range(0, count, CHUNK):
        rows = list(_rows(min(CHUNK, count - offset), cameras, now, start + offset))
        with database.write() as connection:
            insert_reads(connection, rows, now=now)
        if store is not None:
            for row in rows:
                store.write_named(row["image_sha256"], b"\xff")
                store.write_named(row["crop_sha256"], b"\xff")
    return time.perf_counter() - started


def run(
    url: str, folder: Path, reads: int, cameras: int, rowwise: int, files: bool
) -> dict[str, Any]:
    settings = HubSettings(data_dir=folder, database_url=None if url == "sqlite" else url)
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    now = to_ms(datetime.now(UTC))
    with database.write() as connection:
        for number in range(cameras):
            add_camera(
                connection,
                CameraPublic(
                    camera_id=f"CAM-{number:03d}", name="Bench", agency="Bench", latitude=41.1,
                    longitude=-104.8, direction="NB", active=True,
                ),
            )  # fmt: skip
    store = FolderImageStore(folder / "images")
    fill_seconds = _fill(database, reads, cameras, now, 0, store if files else None)
    for prefix in range(256):
        (store.root / f"{prefix:02x}").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = purge(database, store, now=now, retention_days=30)
    batched = time.perf_counter() - started
    _fill(database, rowwise, cameras, now, reads)
    with database.read() as connection:
        ids = [row[0] for row in connection.exec_driver_sql("SELECT read_id FROM reads")]
    started = time.perf_counter()
    for read_id in ids:
        with database.write() as connection:
            delete_read(connection, read_id, now=now)
    row_seconds = time.perf_counter() - started
    database.dispose()
    per_row = row_seconds / max(len(ids), 1)
    return {
        "database": database.kind,
        "reads": reads,
        "cameras": cameras,
        "fill_seconds": round(fill_seconds, 2),
        "batched_purge_seconds": round(batched, 2),
        "batched_reads_per_second": round(result.deleted_reads / batched) if batched else None,
        "deleted_reads": result.deleted_reads,
        "deleted_images": result.deleted_images,
        "purge_steps_seconds": result.steps,
        "rowwise_sample": len(ids),
        "rowwise_seconds": round(row_seconds, 2),
        "rowwise_extrapolated_seconds": round(per_row * reads, 1),
        "speedup": round(per_row * reads / batched, 1) if batched else None,
        "partitioned": database.is_postgresql,
        "image_files": files,
        "target_seconds": 10,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="postgresql://... or sqlite")
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--rowwise", type=int, default=20_000)
    parser.add_argument(
        "--files", action="store_true", help="store each image as a real (one-byte) file"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.db:
            figures = run(args.db, Path(folder), args.reads, args.cameras, args.rowwise, args.files)
        else:
            name = f"platedesk_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            try:
                url = f"postgresql://postgres@127.0.0.1:5432/{name}"
                figures = run(url, Path(folder), args.reads, args.cameras, args.rowwise, args.files)
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
