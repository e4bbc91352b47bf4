"""Hub disk per read: the database and the image store after simulated traffic, as JSON.

    python bench/bench_hub_sizing.py [--reads 6000] [--cameras 12] [--no-postgresql]

Fills a fresh hub (SQLite in a temp folder, then a scratch database on the
PostgreSQL server at 127.0.0.1:5432, user postgres) the way `platedesk-hub simulate
--bulk` does: rendered scenes and plate crops (hub.simulate.scene, the demo's JPEGs)
in the folder image store, reads inserted in their day partitions with their
change-log rows. Then measures, per read:
- db_bytes_per_read: the SQLite file after a WAL checkpoint, or pg_database_size
  minus the same figure for the freshly migrated, empty database;
- image_bytes_per_read (the JPEGs' sizes) and image_disk_bytes_per_read (blocks the
  file system allocated: small crops round up to a block);
Baseline in the same run, the same reads: payload_bytes_per_read, what a camera
sends (both JPEGs and the read's fields as JSON), against which `overhead` is the
hub's stored bytes over the payload. docs/deploy.md's sizing table is computed
from these figures and bench_hub_ingest.py's CPU per read.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from hub.core.config import HubSettings
from hub.core.db import Database, migrate
from hub.images import FolderImageStore
from hub.simulate.traffic import camera_facing, ensure_cameras, generate_traffic, write_bulk

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def _image_sizes(root: Path) -> tuple[int, int]:
    size = disk = 0
    for path in root.rglob("*.jpg"):
        stat = path.stat()
        size += stat.st_size
        disk += stat.st_blocks * 512
    return size, disk


def _payload(rows: list[dict[str, Any]]) -> int:
    fields = sum(
        len(json.dumps({k: v for k, v in row.items() if not k.endswith(("_sha256", "_size"))},
                       default=str))
        for row in rows
    )  # fmt: skip
    images = sum(int(row["image_size"]) + int(row["crop_size"]) for row in rows)
    return fields + images


def _fill(database: Database, data: Path, args: argparse.Namespace) -> tuple[int, int]:
    """Simulated reads into the hub; (reads, payload bytes)."""
    now = datetime.now(UTC)
    rng = random.Random(args.seed)
    with database.write() as connection:
        camera_ids = ensure_cameras(connection, rng, args.cameras)
        facing = camera_facing(connection)
    per_camera_day = max(1, args.reads // (args.cameras * args.days))
    rows, specs = generate_traffic(
        rng, camera_ids, days=args.days, reads_per_day=per_camera_day, now=now, facing=facing
    )
    count = write_bulk(database, FolderImageStore(data / "images"), rows, specs, now=now)
    return count, _payload(rows)


def _figures(reads: int, payload: int, db_bytes: int, data: Path) -> dict[str, Any]:
    image_size, image_disk = _image_sizes(data / "images")
    stored = db_bytes + image_disk
    return {
        "reads": reads,
        "db_bytes_per_read": round(db_bytes / reads),
        "image_bytes_per_read": round(image_size / reads),
        "image_disk_bytes_per_read": round(image_disk / reads),
        "stored_bytes_per_read": round(stored / reads),
        "payload_bytes_per_read": round(payload / reads),
        "overhead": round(stored / payload, 2),
    }


def run_sqlite(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    data = scratch / "sqlite"
    data.mkdir()
    database = Database(HubSettings(data_dir=data).sqlalchemy_url)
    migrate(database)
    reads, payload = _fill(database, data, args)
    database.dispose()
    path = data / "hub.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return _figures(reads, payload, path.stat().st_size, data)


def run_postgresql(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    name = f"bench_sizing_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    data = scratch / "postgresql"
    data.mkdir()
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        database = Database(HubSettings(data_dir=data, database_url=url).sqlalchemy_url)
        migrate(database)
        with psycopg.connect(url, autocommit=True) as connection:
            empty = _database_size(connection)
        reads, payload = _fill(database, data, args)
        database.dispose()
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
            size = _database_size(connection) - empty
        return _figures(reads, payload, size, data)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _database_size(connection: psycopg.Connection[Any]) -> int:
    row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    return int(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=6000)
    parser.add_argument("--cameras", type=int, default=12)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "hub_sizing", "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-hub-sizing-") as scratch:
        result["sqlite"] = run_sqlite(args, Path(scratch))
        if not args.no_postgresql:
            result["postgresql"] = run_postgresql(args, Path(scratch))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
