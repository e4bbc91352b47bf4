"""Audit ingest: 10,000 workstation events through POST /api/v1/audit/events (SQLite).

Batches of 500 (the uploader's size) to the hub app in process (FastAPI
TestClient). Target (issue 3): 10,000 events delivered in <= 5 s. Prints JSON.
Run from the checkout with PYTHONPATH=. (it reuses the hub test seed).
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.canonical import utc_iso
from hub.core.config import create_secret
from hub.core.db import Database, migrate
from hub.core.security import PasswordService
from hub.main import create_app
from tests.hub.hub_support import FakeClock, HubFixture, fast_settings, seed_small

EVENTS = 10_000
BATCH = 500


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = fast_settings(Path(folder) / "data", None)
        settings.data_dir.mkdir()
        create_secret(settings.secret_path)
        database = Database(settings.sqlalchemy_url)
        migrate(database)
        clock = FakeClock()
        with TestClient(create_app(settings, database=database, clock=clock)) as client:
            hub = HubFixture(settings, database, client, clock, totp={})
            seed_small(hub, PasswordService(settings))
            headers = hub.headers()
            reply = client.post("/api/v1/devices", json={"name": "bench"}, headers=headers)
            device_id = reply.json()["device_id"]
            events, prev = [], GENESIS_HASH
            for seq in range(1, EVENTS + 1):
                event = seal_event(
                    {
                        "event_id": uuid.uuid4().hex, "device_id": device_id,
                        "username": "detective", "session_id": "s", "seq": seq,
                        "occurred_at": utc_iso(clock.now), "action": "search.run",
                        "object_refs": {"case_number": "2026-004211"},
                        "params": {"n": seq, "pattern": "7K2*"}, "outcome": "ok",
                        "prev_hash": prev,
                    }
                )  # fmt: skip
                prev = event["hash"]
                events.append(event)
            started = time.perf_counter()
            for start in range(0, EVENTS, BATCH):
                batch = {"device_id": device_id, "events": events[start : start + BATCH]}
                ack = client.post("/api/v1/audit/events", json=batch, headers=headers).json()
            seconds = time.perf_counter() - started
            assert ack["acked_seq"] == EVENTS, ack
            started = time.perf_counter()
            checkpoint = client.get("/api/v1/audit/checkpoint", headers=headers).json()
            checkpoint_ms = (time.perf_counter() - started) * 1000
        database.dispose()
    print(
        json.dumps(
            {
                "benchmark": "hub_audit_ingest_sqlite",
                "events": EVENTS,
                "seconds": round(seconds, 2),
                "events_per_s": round(EVENTS / seconds),
                "target_10000_events_s": 5,
                "first_checkpoint_ms": round(checkpoint_ms, 1),
                "tree_size": checkpoint["tree_size"],
            }
        )
    )


if __name__ == "__main__":
    main()
