"""Write latency for signed-in users while anonymous clients flood /auth/login with
failed sign-ins, next to the quiet baseline measured in the same run.

A real `platedesk-hub serve` on loopback (a fresh data folder; SQLite, and with --db
a scratch PostgreSQL database), with the product's argon2 cost. --writers users,
signed in beforehand, each request slices (POST /api/v1/slices: a write transaction
with its audit event and flag checks) back to back:

- quiet: for --seconds, nothing else runs: the baseline;
- flood: for --seconds, --flooders client loops (4) at the same time post sign-ins
  with unknown names and wrong passwords, each attempt from a fresh loopback source
  address (127.0.x.y) once the last one has made its MAX_FAILED_PER_ADDRESS tries, so
  no address is throttled and every attempt costs a full password hash: the worst
  case the throttle leaves. Halfway through the flood, --signins other users sign in
  for real (correct password and code), one after the other: their latency and status
  are reported too, and the flood lasts until they are done (`seconds`).

Each phase reports the writes' p50/p95/max latency (ms) and count, and any write that
failed (e.g. 500 "database is locked"). `flood_p95_over_quiet` is the ratio the
target (<= 2) is about. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
from bench_hub_ingest import _serving  # bench/ is the script's own folder
from bench_hub_search import scratch_database

from app.core.schemas import API_PREFIX, CameraPublic, Role
from hub.catalog import add_camera, create_case
from hub.core.config import HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.core.security import PasswordService
from hub.db.types import to_ms
from hub.sign_in_throttle import MAX_FAILED_PER_ADDRESS
from hub.users import create_user

CASE = "2026-004211"
PASSWORD = "correct-horse-battery"  # noqa: S105 (the bench users' password)


def _prepare(folder: Path, db_url: str | None, *, users: int) -> dict[str, str]:
    """A migrated hub with `users` detectives assigned to CASE; their TOTP secrets."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = HubSettings(data_dir=folder, database_url=db_url)
    create_secret(settings.secret_path)
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    passwords = PasswordService(settings)
    now = to_ms(datetime.now(UTC))
    secrets: dict[str, str] = {}
    with database.write() as connection:
        ids = []
        for index in range(users):
            name = f"detective{index}"
            secrets[name] = pyotp.random_base32()
            ids.append(
                create_user(
                    connection, passwords, username=name, password=PASSWORD,
                    role=Role.DETECTIVE, totp_secret=secrets[name], now=now,
                    training_valid_until=now.date() + timedelta(days=365),
                )
            )  # fmt: skip
        create_case(
            connection, case_number=CASE, title="Robbery", offense_category="robbery",
            now=now, pattern=settings.case_number_pattern, assigned_user_ids=ids,
        )  # fmt: skip
        add_camera(
            connection,
            CameraPublic(
                camera_id="CAM-001", name="Camera 1", agency="Bench PD", latitude=41.14,
                longitude=-104.82, direction="NB", active=True,
            ),
        )  # fmt: skip
    database.dispose()
    return secrets


def _sign_in(client: httpx.Client, name: str, secret: str) -> tuple[int, float, str]:
    started = time.perf_counter()
    reply = client.post(
        "/auth/login",
        json={"username": name, "password": PASSWORD, "totp": pyotp.TOTP(secret).now()},
    )
    token = reply.json().get("access_token", "") if reply.status_code == 200 else ""
    return reply.status_code, time.perf_counter() - started, token


def _slice_body() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "case_number": CASE,
        "purpose": "robbery",
        "justification": "Suspect vehicle seen leaving the robbery scene on Lincolnway.",
        "time_from": (now - timedelta(days=2)).isoformat(),
        "time_to": now.isoformat(),
    }


def _writer(url: str, token: str, stop: threading.Event) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url + API_PREFIX, timeout=120) as client:
        while not stop.is_set():
            started = time.perf_counter()
            reply = client.post("/slices", json=_slice_body(), headers=headers)
            latencies.append(time.perf_counter() - started)
            statuses[reply.status_code] += 1
    return latencies, statuses


def _flooder(url: str, addresses: Callable[[], str], stop: threading.Event) -> Counter[int]:
    statuses: Counter[int] = Counter()
    while not stop.is_set():
        transport = httpx.HTTPTransport(local_address=addresses())
        with httpx.Client(base_url=url + API_PREFIX, timeout=120, transport=transport) as client:
            for _ in range(MAX_FAILED_PER_ADDRESS):
                if stop.is_set():
                    break
                attempt = {
                    "username": f"nobody-{uuid.uuid4().hex[:12]}",
                    "password": "not-the-password",
                    "totp": "000000",
                }
                statuses[client.post("/auth/login", json=attempt).status_code] += 1
    return statuses


def _figures(latencies: list[float], statuses: Counter[int]) -> dict[str, Any]:
    ms = sorted(value * 1000 for value in latencies)
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else (ms[0] if ms else 0.0)
    return {
        "writes": len(ms),
        "p50_ms": round(statistics.median(ms), 2) if ms else 0.0,
        "p95_ms": round(p95, 2),
        "max_ms": round(ms[-1], 2) if ms else 0.0,
        "statuses": {str(code): count for code, count in sorted(statuses.items())},
    }


def _phase(
    url: str, tokens: list[str], seconds: float, *, flooders: int, signins: dict[str, str]
) -> dict[str, Any]:
    stop = threading.Event()
    counter = itertools.count(1)
    lock = threading.Lock()

    def next_address() -> str:
        with lock:
            index = next(counter)
        return f"127.0.{index // 250 % 250 + 1}.{index % 250 + 2}"

    started = time.perf_counter()
    with ThreadPoolExecutor(len(tokens) + flooders) as pool:
        writes = [pool.submit(_writer, url, token, stop) for token in tokens]
        floods = [pool.submit(_flooder, url, next_address, stop) for _ in range(flooders)]
        signed: list[tuple[int, float, str]] = []
        if signins:
            time.sleep(seconds / 2)  # the flood is under way
            with httpx.Client(
                base_url=url + API_PREFIX,
                timeout=120,
                transport=httpx.HTTPTransport(local_address="127.0.0.200"),
            ) as client:
                signed = [_sign_in(client, name, secret) for name, secret in signins.items()]
            time.sleep(max(0.0, seconds / 2 - sum(item[1] for item in signed)))
        else:
            time.sleep(seconds)
        stop.set()
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        for future in writes:
            done, codes = future.result()
            latencies += done
            statuses += codes
        flood_statuses: Counter[int] = Counter()
        for flood in floods:
            flood_statuses += flood.result()
    result = {"seconds": round(time.perf_counter() - started, 1), **_figures(latencies, statuses)}
    if flooders:
        result["flood_attempts"] = sum(flood_statuses.values())
        result["flood_statuses"] = {str(code): n for code, n in sorted(flood_statuses.items())}
    if signed:
        result["signins"] = {
            "statuses": dict(Counter(str(code) for code, _, _ in signed)),
            "max_ms": round(max(item[1] for item in signed) * 1000, 1),
        }
    return result


def run(db_url: str | None, *, seconds: float, writers: int, flooders: int, signins: int) -> Any:
    with tempfile.TemporaryDirectory(prefix="platedesk-bench-flood-") as tmp:
        folder = Path(tmp) / "data"
        secrets = _prepare(folder, db_url, users=writers + signins)
        names = sorted(secrets)
        writer_names, signin_names = names[:writers], names[writers:]
        with _serving(folder, db_url, workers=1) as (url, _pid):
            with httpx.Client(base_url=url + API_PREFIX, timeout=120) as client:
                tokens = []
                for name in writer_names:
                    status, _, token = _sign_in(client, name, secrets[name])
                    assert status == 200, status
                    tokens.append(token)
            quiet = _phase(url, tokens, seconds, flooders=0, signins={})
            flood = _phase(
                url,
                tokens,
                seconds,
                flooders=flooders,
                signins={name: secrets[name] for name in signin_names},
            )
    ratio = flood["p95_ms"] / quiet["p95_ms"] if quiet["p95_ms"] else 0.0
    return {
        "quiet": quiet,
        "flood": flood,
        "flood_p95_over_quiet": round(ratio, 2),
        "within_2x": ratio <= 2.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=90.0, help="length of each phase")
    parser.add_argument("--writers", type=int, default=2, help="signed-in users writing")
    parser.add_argument("--flooders", type=int, default=4, help="failed sign-in loops")
    parser.add_argument("--signins", type=int, default=4, help="real sign-ins during the flood")
    parser.add_argument(
        "--db", default=None, help="also run on this postgresql://... server (scratch database)"
    )
    args = parser.parse_args()
    options = {
        "seconds": args.seconds,
        "writers": args.writers,
        "flooders": args.flooders,
        "signins": args.signins,
    }
    result: dict[str, Any] = {"options": options, "sqlite": run(None, **options)}
    if args.db:
        with scratch_database(args.db) as url:
            result["postgresql"] = run(url, **options)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
