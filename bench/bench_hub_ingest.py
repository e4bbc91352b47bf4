"""Camera ingest with images: reads per second through POST /api/v1/ingest/reads
(one read per request) and POST /api/v1/ingest/reads:batch (--batch reads per request).

Renders --reads distinct scenes (plate crops too) beforehand, then posts them to the
hub app in process (FastAPI TestClient: the whole request path, JSON + base64, JPEG
checks, content-addressed store, read_changes rows): the first --single reads one by
one, the rest in batches (one transaction per batch), on SQLite and, with --db, on
PostgreSQL. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_hub_search import scratch_database  # bench/ is the script's own folder
from fastapi.testclient import TestClient

from app.core.schemas import FeedTokenCreate
from hub.admin import create_feed_token
from hub.core.config import HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.db.types import to_ms
from hub.main import create_app
from hub.simulate.http_feed import ingest_body
from hub.simulate.traffic import default_workers, ensure_cameras, generate_traffic, render_scenes


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


def _run(db_url: str | None, count: int, single: int, batch: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        settings = HubSettings(data_dir=Path(folder), database_url=db_url)
        create_secret(settings.secret_path)
        database = Database(settings.sqlalchemy_url)
        migrate(database)
        now = to_ms(datetime.now(UTC))
        rng = random.Random(5)
        with database.write() as connection:
            camera_ids = ensure_cameras(connection, rng, 6)
            token = create_feed_token(
                connection, FeedTokenCreate(name="bench"), by="bench", now=now
            ).token
        per_day = max(1, count // len(camera_ids))
        rows, specs = generate_traffic(rng, camera_ids, days=1, reads_per_day=per_day, now=now)
        rendered = render_scenes(specs, default_workers())
        bodies = [
            ingest_body(row, image, crop) for row, (image, crop) in zip(rows, rendered, strict=True)
        ]
        app = create_app(settings, database=database, clock=lambda: now + timedelta(seconds=1))
        single_seconds, batch_seconds = post_reads(app, token, bodies, single=single, batch=batch)
        rest = bodies[single:]
        database.dispose()
        image_bytes = sum(len(image) + len(crop) for image, crop in rendered)
    return {
        "mean_image_kib": round(image_bytes / len(bodies) / 1024, 1),
        "single": {
            "reads": single,
            "seconds": round(single_seconds, 2),
            "reads_per_s": round(single / single_seconds, 1),
        },
        "batch": {
            "reads": len(rest),
            "batch_size": batch,
            "seconds": round(batch_seconds, 2),
            "reads_per_s": round(len(rest) / batch_seconds, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=4300, help="reads rendered in all")
    parser.add_argument("--single", type=int, default=300, help="reads posted one by one")
    parser.add_argument(
        "--batch", type=int, default=200, help="reads per batch (the body limit is 16 MiB)"
    )
    parser.add_argument(
        "--db", default=None, help="also run on this postgresql://... server (scratch database)"
    )
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "hub_ingest", "target_reads_per_s": 2000}
    result["sqlite"] = _run(None, args.reads, args.single, args.batch)
    if args.db:
        with scratch_database(args.db) as url:
            result["postgresql"] = _run(url, args.reads, args.single, args.batch)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
