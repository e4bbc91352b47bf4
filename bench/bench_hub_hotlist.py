"""Hotlist matching cost at ingest: reads per second through POST /api/v1/ingest/reads
(one read per request) and POST /api/v1/ingest/reads:batch, with --entries active
hotlist entries (default 10,000) against the same ingest with none, in the same run.

Each configuration gets a fresh hub (SQLite, and PostgreSQL with --db), its entries
imported through the CSV import (hub.hotlists.import_csv), then the same reads
posted through the whole request path (JSON, base64, JPEG checks, store, change
log, matching, alerts). About 1% of the reads are on the hotlist (half of them
misread, so fuzzy). Prints one JSON object; `added_ms_per_read` is the difference
per read between the run with entries and the run without (target: <= 1 ms), and
`matching_ms_per_read` times hub.hotlists.match_reads alone over the same plates
(one read at a time, and in batches), the part the hotlist adds.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sqlite3
import string
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_hub_search import scratch_database  # bench/ is the script's own folder
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.schemas import FeedTokenCreate, Role
from hub.admin import create_feed_token
from hub.catalog import create_case
from hub.core.config import DB_FILE_NAME, HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.db.tables import alerts
from hub.db.types import to_ms
from hub.hotlists import import_csv, match_reads
from hub.main import create_app
from hub.simulate.traffic import ensure_cameras
from hub.slices import Caller

CASE = "2026-000042"
ALPHABET = string.ascii_uppercase + string.digits
TWINS = {"O": "0", "0": "O", "I": "1", "1": "I", "B": "8", "8": "B", "S": "5", "5": "S"}


def _jpeg(seed: int, size: tuple[int, int]) -> bytes:
    import cv2
    import numpy as np

    pixels = np.random.default_rng(seed).integers(0, 255, size=(*size, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", pixels)
    assert ok
    return bytes(encoded.tobytes())


def _plate(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(7))


def _misread(rng: random.Random, plate: str) -> str:
    spots = [i for i, ch in enumerate(plate) if ch in TWINS]
    if not spots:
        return plate[:-1]  # a missed character
    i = rng.choice(spots)
    return plate[:i] + TWINS[plate[i]] + plate[i + 1 :]


def _bodies(
    rng: random.Random, camera_ids: list[str], hot: list[str], count: int, now: datetime
) -> list[dict[str, Any]]:
    image = base64.b64encode(_jpeg(1, (96, 128))).decode()
    crop = base64.b64encode(_jpeg(2, (30, 90))).decode()
    bodies = []
    for index in range(count):
        plate = _plate(rng)
        if hot and index % 100 == 0:
            plate = rng.choice(hot)
            if index % 200 == 0:
                plate = _misread(rng, plate)
        bodies.append(
            {
                "read_id": uuid.uuid4().hex, "plate": plate, "state": "WY", "confidence": 0.9,
                "captured_at": (now - timedelta(seconds=index)).isoformat(),
                "camera_id": rng.choice(camera_ids), "direction": "NB",
                "attributes": {"make": "Ford", "model": "F-150", "color": "white",
                               "body_type": "pickup", "features": []},
                "image_jpeg": image, "crop_jpeg": crop,
            }
        )  # fmt: skip
    return bodies


def post_reads(
    app: Any, token: str, bodies: list[dict[str, Any]], *, single: int, batch: int
) -> tuple[float, float]:
    """Post the first `single` bodies one by one, the rest in batches of `batch`, as a
    camera feed: (seconds for the single posts, seconds for the batches)."""
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        started = time.perf_counter()
        for body in bodies[:single]:
            reply = client.post("/api/v1/ingest/reads", json=body, headers=headers)
            assert reply.status_code == 201, reply.text
        single_seconds = time.perf_counter() - started
        rest = bodies[single:]
        started = time.perf_counter()
        for start in range(0, len(rest), batch):
            chunk = rest[start : start + batch]
            reply = client.post("/api/v1/ingest/reads:batch", json=chunk, headers=headers)
            assert reply.status_code == 200, reply.text
            assert reply.json()["created"] == len(chunk), reply.text[:500]
        batch_seconds = time.perf_counter() - started
    return single_seconds, batch_seconds


def _run(db_url: str | None, entries: int, reads: int, single: int, batch: int) -> dict[str, Any]:
    rng = random.Random(11)
    hot = sorted({_plate(rng) for _ in range(entries)})
    with tempfile.TemporaryDirectory() as folder:
        settings = HubSettings(data_dir=Path(folder), database_url=db_url)
        create_secret(settings.secret_path)
        database = Database(settings.sqlalchemy_url)
        migrate(database)
        now = to_ms(datetime.now(UTC))
        with database.write() as connection:
            camera_ids = ensure_cameras(connection, rng, 6)
            token = create_feed_token(
                connection, FeedTokenCreate(name="bench"), by="bench", now=now
            ).token
            create_case(
                connection, case_number=CASE, title="Bench", offense_category="robbery", now=now,
                pattern=settings.case_number_pattern, assigned_user_ids=[],
            )  # fmt: skip
        import_seconds = 0.0
        if hot:
            expires = (now + timedelta(days=7)).isoformat()
            text = "plate,state,reason,source,case_number,expires_at\n" + "".join(
                f"{plate},WY,Stolen vehicle,NCIC stolen vehicle,{CASE},{expires}\n" for plate in hot
            )
            caller = Caller(user_id=0, username="bench", role=Role.ADMIN, session_id="")
            started = time.perf_counter()
            with database.write() as connection:
                import_csv(
                    connection, caller, text, now=now,
                    case_number_pattern=settings.case_number_pattern,
                )  # fmt: skip
            import_seconds = time.perf_counter() - started
            if database.kind == "sqlite":  # fold the import's WAL in before timing ingest
                with sqlite3.connect(settings.data_dir / DB_FILE_NAME) as raw:
                    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        bodies = _bodies(rng, camera_ids, hot, reads, now)
        app = create_app(settings, database=database, clock=lambda: now + timedelta(seconds=1))
        single_seconds, batch_seconds = post_reads(app, token, bodies, single=single, batch=batch)
        rest = bodies[single:]
        rows = [{"read_id": body["read_id"], "plate": body["plate"].upper()} for body in bodies]
        with database.read() as connection:
            started = time.perf_counter()
            for start in range(0, len(rows), batch):
                match_reads(connection, rows[start : start + batch], now=now)
            batch_match = time.perf_counter() - started
            started = time.perf_counter()
            for row in rows[:single]:
                match_reads(connection, [row], now=now)
            single_match = time.perf_counter() - started
            alert_count = int(
                connection.execute(select(func.count()).select_from(alerts)).scalar_one()
            )
        database.dispose()
    return {
        "entries": len(hot),
        "import_seconds": round(import_seconds, 2),
        "alerts": alert_count,
        "single": {
            "reads": single,
            "ms_per_read": round(single_seconds / single * 1000, 3),
            "matching_ms_per_read": round(single_match / single * 1000, 3),
        },
        "batch": {
            "reads": len(rest),
            "batch_size": batch,
            "ms_per_read": round(batch_seconds / len(rest) * 1000, 3),
            "reads_per_s": round(len(rest) / batch_seconds, 1),
            "matching_ms_per_read": round(batch_match / len(rows) * 1000, 3),
        },
    }


def _compare(
    admin_url: str | None, entries: int, reads: int, single: int, batch: int
) -> dict[str, Any]:
    """Warm-up, then without and with entries: each on a fresh database."""

    def fresh(count: int, posted: int) -> dict[str, Any]:
        with scratch_database(admin_url) as url:
            return _run(url, count, posted, single, batch)

    fresh(0, min(reads, 2 * single))  # warm up: imports, caches
    baseline = fresh(0, reads)
    loaded = fresh(entries, reads)
    return {
        "without_entries": baseline,
        "with_entries": loaded,
        "added_ms_per_read": {
            mode: round(loaded[mode]["ms_per_read"] - baseline[mode]["ms_per_read"], 3)
            for mode in ("single", "batch")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000, help="active hotlist entries")
    parser.add_argument("--reads", type=int, default=3000, help="reads posted in all")
    parser.add_argument("--single", type=int, default=300, help="reads posted one by one")
    parser.add_argument("--batch", type=int, default=250, help="reads per batch")
    parser.add_argument(
        "--db", default=None, help="also run on this postgresql://... server (scratch database)"
    )
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "hub_hotlist", "target_added_ms_per_read": 1.0}
    result["sqlite"] = _compare(None, args.entries, args.reads, args.single, args.batch)
    if args.db:
        result["postgresql"] = _compare(args.db, args.entries, args.reads, args.single, args.batch)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
