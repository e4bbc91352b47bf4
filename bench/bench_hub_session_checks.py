"""What the per-request session checks cost a feed page, next to the same page
without them, measured in the same run (target: <= 1 ms p95 added).

Every request checks its session (not signed out, locked or revoked), the user's
training and the device (hub.sessions.SessionCache, cached for a few seconds per
process), and the feed checks the case is open and the caller still assigned (in
the slice's own query). On SQLite and, with --db, PostgreSQL, in process (FastAPI
TestClient: the whole request path, no sockets):

- check_warm / check_cold: SessionCache.check itself, p50/p95 in ms: from the
  process's cache, and with the cache emptied before each call (one query: what a
  request pays once per SESSION_CHECK_SECONDS, and after any session change);
- feed_with_checks / feed_without_checks: GET /slices/{id}/changes (--page reads),
  p50/p95 in ms, alternating request by request; "without" swaps the caller
  dependency for one that only checks the token's signature and expiry, as the hub
  did before sessions were checked (the slice's case/assignment check stays: it is
  part of the page's own query);
- added_p95_ms: feed_with_checks p95 minus feed_without_checks p95 (noisy: the
  check's own p95 is the steadier bound).

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pyotp
from bench_hub_search import scratch_database  # bench/ is the script's own folder
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.testclient import TestClient

from app.core.schemas import API_PREFIX, CameraPublic, Role
from hub.api import deps
from hub.catalog import add_camera, create_case
from hub.core.config import HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.core.security import PasswordService
from hub.db.types import to_ms
from hub.main import create_app
from hub.reads import insert_reads
from hub.sessions import SESSIONS
from hub.slices import Caller
from hub.users import create_user

CASE = "2026-004211"
PASSWORD = "correct-horse-battery"  # noqa: S105 (the bench user's password)


def _ms(samples: list[float]) -> dict[str, float]:
    ms = [value * 1000 for value in samples]
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p95_ms": round(statistics.quantiles(ms, n=20)[-1], 3),
    }


def _timed(call: Callable[[], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _read(index: int, now: datetime) -> dict[str, Any]:
    return {
        "read_id": uuid.uuid4().hex, "plate": f"ABC{index:04d}", "state": "WY",
        "confidence": 0.9, "captured_at": now - timedelta(seconds=30 * (index + 1)),
        "camera_id": "CAM-001", "direction": "NB", "make": "Ford", "model": "F-150",
        "color": "white", "body_type": "pickup", "features": [],
        "image_sha256": f"{index:064x}", "image_size": 10,
        "crop_sha256": f"{index + 10**9:064x}", "crop_size": 10,
    }  # fmt: skip


def _seed(database: Database, settings: HubSettings, reads: int) -> str:
    now = to_ms(datetime.now(UTC))
    secret = pyotp.random_base32()
    with database.write() as connection:
        user_id = create_user(
            connection, PasswordService(settings), username="detective", password=PASSWORD,
            role=Role.DETECTIVE, totp_secret=secret, now=now,
            training_valid_until=now.date() + timedelta(days=365),
        )  # fmt: skip
        create_case(
            connection, case_number=CASE, title="Robbery", offense_category="robbery",
            now=now, pattern=settings.case_number_pattern, assigned_user_ids=[user_id],
        )  # fmt: skip
        add_camera(
            connection,
            CameraPublic(
                camera_id="CAM-001", name="Camera 1", agency="Bench PD", latitude=41.14,
                longitude=-104.82, direction="NB", active=True,
            ),
        )  # fmt: skip
        insert_reads(connection, [_read(index, now) for index in range(reads)], now=now)
    return secret


def run(db_url: str | None, *, runs: int, page: int, reads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="platedesk-bench-session-") as tmp:
        settings = HubSettings(
            data_dir=Path(tmp),
            database_url=db_url,
            argon2_time_cost=1,
            argon2_memory_cost=8192,
            argon2_parallelism=1,
            retention_job=False,
        )
        create_secret(settings.secret_path)
        database = Database(settings.sqlalchemy_url)
        migrate(database)
        secret = _seed(database, settings, reads)
        app = create_app(settings, database=database)
        with TestClient(app) as client:
            login = client.post(
                f"{API_PREFIX}/auth/login",
                json={
                    "username": "detective",
                    "password": PASSWORD,
                    "totp": pyotp.TOTP(secret).now(),
                },
            )
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            now = datetime.now(UTC)
            created = client.post(
                f"{API_PREFIX}/slices",
                json={
                    "case_number": CASE, "purpose": "robbery",
                    "justification": "Suspect vehicle seen leaving the robbery scene.",
                    "time_from": (now - timedelta(days=2)).isoformat(),
                    "time_to": now.isoformat(),
                },
                headers=headers,
            )  # fmt: skip
            assert created.status_code == 201, created.text
            feed = f"{API_PREFIX}/slices/{created.json()['slice_id']}/changes"
            context = app.state.hub
            claims = context.tokens.check(token, now=context.clock())
            assert claims is not None

            def check() -> None:
                SESSIONS.check(database, claims, device_header=None, now=context.clock())

            def cold_check() -> None:
                SESSIONS.invalidate()
                check()

            check_warm = _timed(check, runs)
            check_cold = _timed(cold_check, runs)

            def unchecked_user(
                credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(deps._bearer)],
            ) -> Caller:
                assert credentials is not None
                found = context.tokens.check(credentials.credentials, now=context.clock())
                assert found is not None
                return Caller(found.user_id, found.username, Role.DETECTIVE, found.session_id)

            def page_get() -> None:
                reply = client.get(feed, params={"limit": page}, headers=headers)
                assert reply.status_code == 200, reply.text

            for _ in range(20):
                page_get()  # warm up
            with_checks: list[float] = []
            without_checks: list[float] = []
            for _ in range(runs):
                with_checks += _timed(page_get, 1)
                app.dependency_overrides[deps.get_current_user] = unchecked_user
                without_checks += _timed(page_get, 1)
                app.dependency_overrides.clear()
        database.dispose()
    with_p95 = _ms(with_checks)["p95_ms"]
    without_p95 = _ms(without_checks)["p95_ms"]
    return {
        "check_warm": _ms(check_warm),
        "check_cold": _ms(check_cold),
        "feed_with_checks": _ms(with_checks),
        "feed_without_checks": _ms(without_checks),
        "added_p95_ms": round(with_p95 - without_p95, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=500, help="timed calls per figure")
    parser.add_argument("--page", type=int, default=250, help="reads per feed page")
    parser.add_argument("--reads", type=int, default=2000, help="reads in the slice")
    parser.add_argument(
        "--db", default=None, help="also run on this postgresql://... server (scratch database)"
    )
    args = parser.parse_args()
    options = {"runs": args.runs, "page": args.page, "reads": args.reads}
    result: dict[str, Any] = {"options": options, "sqlite": run(None, **options)}
    if args.db:
        with scratch_database(args.db) as url:
            result["postgresql"] = run(url, **options)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
