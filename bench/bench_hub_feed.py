"""Hub change feed: reads per second paged out of a slice (SQLite), as JSON.

Two figures: the page builder called directly (feed_reads_per_s), and what one
client gets over HTTP from the hub served on loopback (`platedesk-hub serve`),
each page parsed as the workstation does (http_feed_reads_per_s, at the route's
default page size, which is also the largest it allows, and at 250 reads a page).
Target: >= 50,000 reads/s over HTTP. On a shared machine the wall-clock figures swing with the load,
so each also comes per CPU second of the process that builds the pages (the hub's
process for HTTP, read from /proc on Linux): the rate with a core to itself.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyotp

from app.core.policy import FEED_PAGE_DEFAULT, FEED_PAGE_MAX
from app.core.schemas import API_PREFIX, CameraPublic, Role, SliceCreate
from app.demo import running_hub
from hub.catalog import add_camera, create_case
from hub.core.config import HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.core.security import AccessClaims, CursorSigner, PasswordService, TokenService
from hub.db.types import to_ms
from hub.feed import feed_page
from hub.reads import insert_reads
from hub.sessions import start_session
from hub.slices import Caller, SliceRules, create_slice
from hub.users import create_user

READS = 50_000
SMALL_PAGE = 250
PAGE = FEED_PAGE_DEFAULT
SIZES = sorted({SMALL_PAGE, PAGE, FEED_PAGE_MAX})  # the default, and a smaller page to compare


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far (Linux); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _http_rate(
    url: str, token: str, slice_id: str, limit: int, *, hub_pid: int
) -> tuple[float, float | None]:
    """Reads per second one client pulls through GET /slices/{id}/changes, each page
    parsed, and reads per CPU second of the hub's process (None if unknown)."""
    pulled = 0
    cursor: str | None = None
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        cpu_before = _cpu_seconds(hub_pid)
        started = time.perf_counter()
        while True:
            params: dict[str, str | int] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            reply = client.get(f"{API_PREFIX}/slices/{slice_id}/changes", params=params)
            reply.raise_for_status()
            page = json.loads(reply.content)
            pulled += len(page["reads"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        seconds = time.perf_counter() - started
        cpu_after = _cpu_seconds(hub_pid)
    if pulled != READS:
        raise RuntimeError(f"the feed served {pulled} reads, not {READS}")
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return pulled / seconds, (pulled / cpu if cpu else None)


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
        slice_id = outcome.slice.slice_id
        secret = settings.secret_path.read_bytes()
        signer = CursorSigner(secret)
        cursor: str | None = None
        pulled = pages = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        while True:
            with database.read() as connection:
                page = feed_page(
                    connection, signer, slice_id=slice_id, user_id=user_id,
                    cursor=cursor, limit=PAGE, now=now,
                )  # fmt: skip
            pulled += page.reads
            pages += 1
            cursor = page.next_cursor
            if not page.has_more:
                break
        feed_seconds = time.perf_counter() - started
        feed_cpu_seconds = time.process_time() - cpu_started
        database.dispose()
        with database.write() as connection:  # the hub checks each request's session
            session_id = start_session(connection, user_id=user_id, device_id=None, now=now)
        database.dispose()
        token = TokenService(secret).issue(
            AccessClaims(user_id=user_id, username="bench", session_id=session_id), now=now
        )
        with running_hub(Path(folder)) as hub:
            http_rates = {
                size: _http_rate(hub.url, token, slice_id, size, hub_pid=hub.process.pid)
                for size in SIZES
            }
    print(
        json.dumps(
            {
                "benchmark": "hub_feed_sqlite",
                "reads": pulled,
                "pages": pages,
                "insert_reads_per_s": round(READS / insert_seconds),
                "feed_reads_per_s": round(pulled / feed_seconds),
                "feed_reads_per_cpu_s": round(pulled / feed_cpu_seconds),
                **{
                    f"http_feed_reads_per_s_page_{size}": round(rate)
                    for size, (rate, _cpu_rate) in http_rates.items()
                },
                **{
                    f"http_feed_reads_per_hub_cpu_s_page_{size}": cpu_rate and round(cpu_rate)
                    for size, (_rate, cpu_rate) in http_rates.items()
                },
                "target_http_feed_reads_per_s": 50_000,
            }
        )
    )


if __name__ == "__main__":
    main()
