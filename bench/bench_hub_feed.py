"""Hub change feed: reads per second paged out of a slice (SQLite), as JSON."""

from __future__ import annotations

import json
import secrets
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp

from app.core.schemas import CameraPublic, Role, SliceCreate
from hub.accounts import create_user
from hub.catalog import add_camera, create_case
from hub.core.config import HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.core.security import CursorSigner, PasswordService
from hub.db.types import to_ms
from hub.feed import feed_page
from hub.reads import insert_reads
from hub.slices import Caller, SliceRules, create_slice

READS = 50_000
PAGE = 500


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = HubSettings(data_dir=Path(folder), argon2_time_cost=1, argon2_memory_cost=8192)
        create_secret(settings.secret_path)
        database = Database(settings.sqlalchemy_url)
        migrate(database)
        now = to_ms(datetime.now(UTC))
        with database.write() as connection:
            user_id = create_user(
                connection, PasswordService(settings), username="bench", password=secrets.token_urlsafe(12),
                role=Role.DETECTIVE, totp_secret=pyotp.random_base32(), now=now,
                training_valid_until=now.date() + timedelta(days=365),
            )  # fmt: skip
            create_case(
                connection, case_number="2026-000001", title="Bench", offense_category="robbery",
                now=now, pattern=settings.case_number_pattern, assigned_user_ids=[user_id],
            )  # fmt: skip
            add_camera(
                connection,
                CameraPublic(
                    camera_id="CAM-001", name="Bench", agency="Bench", latitude=41.1,
                    longitude=-104.8, direction="NB", active=True,
                ),
            )  # fmt: skip
            started = time.perf_counter()
            insert_reads(
                connection,
                (
                    {
                        "read_id": uuid.uuid4().hex, "plate": f"ABC{i:05d}", "state": "WY",
                        "confidence": 0.9, "captured_at": now - timedelta(seconds=5 * i + 1),
                        "camera_id": "CAM-001", "direction": "NB", "make": "Ford",
                        "model": "F-150", "color": "white", "body_type": "pickup",
                        "features": [], "image_sha256": "0" * 64, "image_size": 1,
                        "crop_sha256": "1" * 64, "crop_size": 1,
                    }
                    for i in range(READS)
                ),
                now=now,
            )  # fmt: skip
            insert_seconds = time.perf_counter() - started
            outcome = create_slice(
                connection,
                Caller(user_id, "bench", Role.DETECTIVE, "bench"),
                SliceCreate(
                    case_number="2026-000001", purpose="robbery",
                    justification="Benchmark of the change feed over a large slice.",
                    time_from=now - timedelta(days=29), time_to=now,
                ),
                SliceRules(timedelta(days=30), settings.case_number_pattern, 2_000_000),
                now=now,
            )  # fmt: skip
        assert outcome.slice is not None
        signer = CursorSigner(settings.secret_path.read_bytes())
        cursor: str | None = None
        pulled = pages = 0
        started = time.perf_counter()
        while True:
            with database.read() as connection:
                page, _body = feed_page(
                    connection, signer, slice_id=outcome.slice.slice_id, user_id=user_id,
                    cursor=cursor, limit=PAGE, now=now,
                )  # fmt: skip
            pulled += len(page["reads"])
            pages += 1
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        feed_seconds = time.perf_counter() - started
        database.dispose()
    print(
        json.dumps(
            {
                "benchmark": "hub_feed_sqlite",
                "reads": pulled,
                "pages": pages,
                "insert_reads_per_s": round(READS / insert_seconds),
                "feed_reads_per_s": round(pulled / feed_seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
