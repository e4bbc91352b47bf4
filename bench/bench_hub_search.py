"""Remote partial plate search ('*7K2*'): p95 with the trigram index vs a plain scan.

The two are timed in interleaved rounds (--rounds), so a change in the machine's
load falls on both alike; with --keep NAME the filled database is kept for later
runs (and for EXPLAIN by hand).

Fills a fresh hub (SQLite by default, or --db postgresql://...) with --reads
reads over the last 29 days, then times the slice estimate a remote search runs
(count of matching reads in the retention window) both ways. With --before (on
PostgreSQL) a second hub, filled the same way, keeps the trigram index as it was
before migration 0019 (default GIN pending list), for the before/after in one run.
Prints one JSON object. Target (issue 25): p95 <= 20 ms at 1,000,000 reads.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from app.core.plates import PlatePattern, parse_pattern
from app.core.schemas import CameraPublic
from hub.catalog import add_camera
from hub.core.config import HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.db.tables import reads
from hub.db.types import to_ms
from hub.reads import insert_reads
from hub.slices import count_matching, pattern_condition, window_condition

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def _fill(database: Database, count: int, now: datetime) -> None:
    rng = random.Random(11)
    with database.write() as connection:
        for camera in range(8):
            add_camera(
                connection,
                CameraPublic(
                    camera_id=f"CAM-{camera:03d}", name="Bench", agency="Bench",
                    latitude=41.1, longitude=-104.8, direction="NB", active=True,
                ),
            )  # fmt: skip
    span = int(timedelta(days=29).total_seconds())
    batch = 20_000
    for start in range(0, count, batch):
        rows = []
        for _ in range(min(batch, count - start)):
            plate = "".join(rng.choice(LETTERS) for _ in range(rng.choice((6, 7))))
            rows.append(
                {
                    "read_id": uuid.UUID(int=rng.getrandbits(128), version=4).hex,
                    "plate": plate, "state": "WY", "confidence": 0.9,
                    "captured_at": now - timedelta(seconds=rng.randrange(span)),
                    "camera_id": f"CAM-{rng.randrange(8):03d}", "direction": "NB",
                    "make": "Ford", "model": "F-150", "color": "white", "body_type": "pickup",
                    "features": [], "image_sha256": "0" * 64, "image_size": 1,
                    "crop_sha256": "0" * 64, "crop_size": 1,
                }
            )  # fmt: skip
        with database.write() as connection:
            insert_reads(connection, rows, now=now)


@contextmanager
def scratch_database(admin_url: str | None, keep: str | None = None) -> Iterator[str | None]:
    """None for SQLite; for PostgreSQL a new database beside admin_url's, dropped after.

    With `keep`, the database of that name is made if missing and kept afterwards,
    so a later run (or EXPLAIN by hand) reuses its filled reads.
    """
    if admin_url is None:
        yield None
        return
    import psycopg

    name = keep or f"platedesk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        if keep is None:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[-1] * 1000, 2)


def _time_search(
    database: Database,
    now: datetime,
    pattern: PlatePattern,
    runs: int,
    *,
    indexed: bool,
) -> tuple[list[float], int]:
    samples: list[float] = []
    matches = 0
    for _ in range(runs):
        with database.read() as connection:
            if database.is_postgresql and not indexed:
                # The plain scan: keep the planner off the trigram index.
                connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            begin = time.perf_counter()
            matches = count_matching(
                connection, time_from=now - timedelta(days=30), time_to=now,
                camera_ids=None, pattern=pattern, indexed=indexed,
            )  # fmt: skip
            samples.append(time.perf_counter() - begin)
    return samples, matches


def _plan_split(
    database: Database, now: datetime, pattern: PlatePattern, runs: int
) -> dict[str, float]:
    """PostgreSQL: the indexed count's planning and execution times apart (median and
    p95 of EXPLAIN (ANALYZE, SUMMARY)): the tail follows the planning, which estimates
    the time range on each of the window's day partitions."""
    query = (
        sa.select(sa.func.count())
        .select_from(reads)
        .where(
            window_condition(reads.c.captured_at, now - timedelta(days=30), now),
            pattern_condition(reads.c.plate, pattern, "postgresql"),
        )
    )
    planning: list[float] = []
    execution: list[float] = []
    with database.read() as connection:
        compiled = query.compile(dialect=connection.dialect)
        for _ in range(runs):
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, SUMMARY, FORMAT JSON) " + str(compiled), compiled.params
            ).scalar_one()[0]
            planning.append(plan["Planning Time"] / 1000)
            execution.append(plan["Execution Time"] / 1000)
    return {
        "planning_ms_median": _ms_median(planning),
        "planning_ms_p95": _p95(planning),
        "execution_ms_median": _ms_median(execution),
        "execution_ms_p95": _p95(execution),
    }


def _migrated(folder: Path, db_url: str | None) -> Database:
    settings = HubSettings(data_dir=folder, database_url=db_url)
    create_secret(settings.secret_path)
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    return database


def _fill_timed(database: Database, count: int, now: datetime) -> float:
    started = time.perf_counter()
    _fill(database, count, now)
    seconds = time.perf_counter() - started
    if database.is_postgresql:
        with database.write() as connection:
            connection.exec_driver_sql("ANALYZE reads")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=100_000)
    parser.add_argument(
        "--db", default=None, help="postgresql://... server (a scratch database is made there)"
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="rounds the runs are split into")
    parser.add_argument(
        "--keep",
        default=None,
        metavar="NAME",
        help="PostgreSQL: use (and keep) the database NAME; filled only while it has no reads",
    )
    parser.add_argument("--pattern", default="*7K2*")
    parser.add_argument(
        "--before",
        action="store_true",
        help="PostgreSQL: also time a second hub whose trigram index is as it was before "
        "migration 0019 (the default 4 MB GIN pending list), filled the same way",
    )
    args = parser.parse_args()
    pattern = parse_pattern(args.pattern)
    now = to_ms(datetime.now(UTC))
    result: dict[str, object] = {"bench": "hub_search", "reads": args.reads}
    with (
        tempfile.TemporaryDirectory() as folder,
        scratch_database(args.db, args.keep) as db_url,
    ):
        database = Database(HubSettings(data_dir=Path(folder), database_url=db_url).sqlalchemy_url)
        before: dict[str, float] = {}
        if args.before and database.is_postgresql:
            database.dispose()
            with scratch_database(args.db) as before_url:
                old = _migrated(Path(folder) / "before", before_url)
                with old.write() as connection:
                    connection.exec_driver_sql("DROP INDEX ix_reads_plate_trgm")
                    connection.exec_driver_sql(_INDEX_BEFORE_0019)
                fill_old = _fill_timed(old, args.reads, now)
                samples, matches_old = _time_search(old, now, pattern, args.runs, indexed=True)
                old.dispose()
            before = {
                "p95_ms_indexed_before_0019": _p95(samples),
                "median_ms_indexed_before_0019": _ms_median(samples),
                "fill_seconds_before_0019": round(fill_old, 1),
            }
        database = _migrated(Path(folder) / "after", db_url)
        with database.read() as connection:
            held = int(connection.exec_driver_sql("SELECT count(*) FROM reads").scalar_one())
        if held:
            now = _newest(database)
            fill_seconds = 0.0
        else:
            fill_seconds = _fill_timed(database, args.reads, now)
        timings: dict[str, list[float]] = {}
        matches = {}
        # Interleaved rounds, so a change in the machine's load falls on each alike.
        for _round in range(args.rounds):
            for key, indexed in (("indexed", True), ("scan", False)):
                samples, matches[key] = _time_search(
                    database, now, pattern, max(1, args.runs // args.rounds), indexed=indexed
                )
                timings.setdefault(key, []).extend(samples)
        assert matches["indexed"] == matches["scan"]
        split = _plan_split(database, now, pattern, args.runs) if database.is_postgresql else {}
        if before:
            assert matches_old == matches["indexed"]
        result |= {
            "database": database.kind,
            "pattern": pattern.text,
            "matches": matches["indexed"],
            "p95_ms_indexed": _p95(timings["indexed"]),
            "p95_ms_scan": _p95(timings["scan"]),
            "median_ms_indexed": _ms_median(timings["indexed"]),
            "median_ms_scan": _ms_median(timings["scan"]),
            "fill_seconds": round(fill_seconds, 1),
            **split,
            **before,
            "target_p95_ms_indexed": 20,
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        database.dispose()
    print(json.dumps(result))


def _newest(database: Database) -> datetime:
    """A kept database's fill time: its newest read (the window stays the same)."""
    with database.read() as connection:
        newest = connection.exec_driver_sql("SELECT max(captured_at) FROM reads").scalar_one()
    return to_ms(newest if isinstance(newest, datetime) else datetime.now(UTC))


def _ms_median(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


# The trigram index as migrations 0002/0009 made it, before 0019 bounded its pending list.
_INDEX_BEFORE_0019 = "CREATE INDEX ix_reads_plate_trgm ON reads USING gin (plate gin_trgm_ops)"


if __name__ == "__main__":
    main()
