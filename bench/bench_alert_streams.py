"""1,000 idle alert streams on one hub node on PostgreSQL: the hub's CPU while nothing
happens, and how soon an alert reaches every stream; streams that poll (the baseline:
listen_for_changes off, as on SQLite) against streams woken by LISTEN/NOTIFY
(hub.notify), in the same run. Prints one JSON object.

A demo hub is seeded into a fresh PostgreSQL database with one hotlist entry; the
demo detective signs in once and --streams streams are opened with that session's
token (one connection each, httpx on asyncio). For each mode a fresh `platedesk-hub
serve` process starts; once every stream said `ready`:

- idle: the hub process's CPU (user + system, /proc) over --idle seconds, per second;
- latency: --alerts reads that hit the hotlist are posted one after another; for each,
  the time from its post until each stream receives the alert: p50, p95 and max over
  every stream and alert.

With --baseline-src DIR (a checkout of the hub as it was, e.g. `git archive` of an
earlier commit), a third mode runs that code's hub with LISTEN/NOTIFY too
(`notify_baseline_*`), for a before/after of the pushed streams in the same run.
Each mode records the 1-minute load average when its idle measurement ends.

The streams share one session, so the polling streams' session checks hit the
session cache (per process, 2 s); workstations with a session each would cost the
polling hub a database query per stream every 2 s besides the 4 polls a second.
Everything shares this machine's cores: the client's own CPU to read 1,000 streams
is in the latency figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from app.demo import case_of, running_hub, seed_hub, totp_now, user_of
from bench.baseline_source import code_from
from tests.hub.hub_support import real_jpeg

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
PLATE = "BENCH42"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hub_cli(data: Path, db: str, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args, "--data", str(data), "--db", db],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _import_hotlist(hub_url: str, admin: dict[str, Any], case: str) -> None:
    """One hotlist entry for PLATE, imported by the demo administrator (the API)."""
    login = httpx.post(
        f"{hub_url}/api/v1/auth/login",
        json={
            "username": admin["username"],
            "password": admin["password"],
            "totp": totp_now(admin["totp_secret"]),
        },
        timeout=30,
    )
    login.raise_for_status()
    expires = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    httpx.post(
        f"{hub_url}/api/v1/hotlists/import",
        content=(
            "plate,state,reason,source,case_number,expires_at\n"
            f"{PLATE},WY,Bench,NCIC stolen vehicle,{case},{expires}\n"
        ).encode(),
        headers={
            "Authorization": f"Bearer {login.json()['access_token']}",
            "Content-Type": "text/csv",
        },
        timeout=30,
    ).raise_for_status()


def _read_body(camera_id: str) -> dict[str, Any]:
    return {
        "read_id": uuid.uuid4().hex, "plate": PLATE, "state": "WY", "confidence": 0.93,
        "captured_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
        "camera_id": camera_id, "direction": "NB",
        "attributes": {
            "make": "Ford", "model": "F-150", "color": "red", "body_type": "pickup",
            "features": [],
        },
        "image_jpeg": base64.b64encode(real_jpeg(7)).decode(),
        "crop_jpeg": base64.b64encode(real_jpeg(8, (20, 40))).decode(),
    }  # fmt: skip


async def _stream(
    client: httpx.AsyncClient,
    url: str,
    token: str,
    ready: asyncio.Event,
    counter: list[int],
    total: int,
    arrivals: dict[str, list[float]],
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    params = {"max_seconds": "3600", "ping": "60"}
    async with client.stream("GET", url, headers=headers, params=params) as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "ready":
                counter[0] += 1
                if counter[0] == total:
                    ready.set()
            elif line.startswith("data:") and event == "alert":
                read_id = json.loads(line[5:])["read_id"]
                arrivals.setdefault(read_id, []).append(time.perf_counter())


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _measure(
    hub_url: str, pid: int, token: str, feed: str, camera: str, args: argparse.Namespace
) -> dict[str, float]:
    ready = asyncio.Event()
    counter = [0]
    arrivals: dict[str, list[float]] = {}
    limits = httpx.Limits(max_connections=args.streams + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None), limits=limits) as client:
        url = f"{hub_url}/api/v1/alerts/stream"
        tasks = [
            asyncio.create_task(_stream(client, url, token, ready, counter, args.streams, arrivals))
            for _ in range(args.streams)
        ]
        await asyncio.wait_for(ready.wait(), timeout=300)
        await asyncio.sleep(args.settle)  # let the last streams settle into their loops
        cpu = _cpu_seconds(pid)
        await asyncio.sleep(args.idle)
        idle_cpu = (_cpu_seconds(pid) - cpu) / args.idle
        load = os.getloadavg()[0]
        latencies: list[float] = []
        for _ in range(args.alerts):
            body = _read_body(camera)
            posted = time.perf_counter()
            reply = await client.post(
                f"{hub_url}/api/v1/ingest/reads",
                json=body,
                headers={"Authorization": f"Bearer {feed}"},
            )
            assert reply.status_code == 201, reply.text
            deadline = time.monotonic() + 60
            while len(arrivals.get(body["read_id"], [])) < args.streams:
                assert time.monotonic() < deadline, "not every stream got the alert"
                await asyncio.sleep(0.005)
            latencies += [(at - posted) * 1000 for at in arrivals[body["read_id"]]]
            await asyncio.sleep(0.5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "idle_hub_cpu_seconds_per_s": round(idle_cpu, 3),
        "load_average_1m": round(load, 2),
        "alert_latency_p50_ms": round(_percentile(latencies, 0.5), 1),
        "alert_latency_p95_ms": round(_percentile(latencies, 0.95), 1),
        "alert_latency_max_ms": round(max(latencies), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="seconds between the last stream's ready and the idle measurement",
    )
    parser.add_argument("--alerts", type=int, default=5)
    parser.add_argument("--admin-db", default=ADMIN_URL)
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="a source tree of the hub as it was: also measure its pushed streams",
    )
    args = parser.parse_args()
    name = f"platedesk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_db, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = args.admin_db.rsplit("/", 1)[0] + f"/{name}"
    figures: dict[str, Any] = {"streams": args.streams, "alerts": args.alerts}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "hub"
            seeded = seed_hub(data, db=db, extra=["--cameras", "1", "--days", "1"])
            detective = user_of(seeded, "detective")
            case = case_of(seeded, detective["username"])
            feed = _hub_cli(data, db, "feed", "add", "--name", "bench")["token"]
            token = ""
            modes: list[tuple[str, str, Path | None]] = [
                ("polling", "false", None),
                ("notify", "true", None),
            ]
            if args.baseline_src is not None:
                modes.append(("notify_baseline", "true", args.baseline_src.resolve()))
            for mode, listen, source in modes:
                os.environ["PLATEDESK_HUB_LISTEN_FOR_CHANGES"] = listen
                with code_from(source), running_hub(data, db=db) as hub:
                    if not token:
                        _import_hotlist(hub.url, user_of(seeded, "admin"), case)
                        login = httpx.post(
                            f"{hub.url}/api/v1/auth/login",
                            json={
                                "username": detective["username"],
                                "password": detective["password"],
                                "totp": totp_now(detective["totp_secret"]),
                            },
                            timeout=30,
                        )
                        login.raise_for_status()
                        token = login.json()["access_token"]
                    cameras = httpx.get(
                        f"{hub.url}/api/v1/cameras",
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=30,
                    ).json()
                    measured = asyncio.run(
                        _measure(
                            hub.url, hub.process.pid, token, feed, cameras[0]["camera_id"], args
                        )
                    )
                figures.update({f"{mode}_{key}": value for key, value in measured.items()})
    finally:
        with psycopg.connect(args.admin_db, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
