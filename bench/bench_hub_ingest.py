"""Camera ingest with images: reads per second through POST /api/v1/ingest/reads
(one read per request), POST /api/v1/ingest/reads:batch (--batch reads per request,
JSON and base64) and POST /api/v1/ingest/reads:batch-binary (the same batches as
binary read batches, the JPEGs raw: the cameras' fast path), each next to a baseline
measured in the same run.

Renders --reads distinct scenes (plate crops too) beforehand and encodes every request
body to JSON bytes before the clock starts (a camera does its own encoding), then
posts them to the hub app in process (FastAPI TestClient: the whole request path,
JSON + base64, JPEG checks, content-addressed store, read_changes rows): the first
--single reads one by one, the rest in batches (one transaction per batch), on SQLite
and, with --db, on PostgreSQL; then the same batches, binary, into a fresh hub
(`batch_binary`).

Baselines, same bodies, same run:
- parse_only: the same bodies posted through the same client, middleware and body
  limit to a route that only parses the JSON: the floor of the HTTP path;
- parse_only_binary (in batch_binary): the binary bodies through the same client to
  a route that only splits them into their reads and JPEGs (hub.ingest.parse_read_batch);
- decode_hash_write: no HTTP and no database, one thread: base64-decode both images,
  hash them and write them to an empty content-addressed store;
- hash_write: the same without the base64 (what a binary batch leaves to do).

Then, unless --serve-workers is empty, the same batches go through a real
`platedesk-hub serve --workers N` process on loopback (a fresh data folder and
database per N), posted by --clients threads at once (httpx, one connection each),
as a fleet of cameras would: the whole path including uvicorn and the sockets;
then the binary batches through a fresh one (`serve_workers_N_binary`).
Those figures give the hub's CPU (every process of `serve`: supervisor and workers,
from /proc) and the posting client's CPU per read apart; PostgreSQL's own CPU is
in neither.

Each figure is reads per second (wall clock) and CPU milliseconds per read (all
threads; steadier than the wall clock on a shared machine). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
from bench_hub_search import scratch_database  # bench/ is the script's own folder
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient

from app.core.schemas import API_PREFIX, READ_BATCH_MEDIA_TYPE, FeedTokenCreate
from hub.admin import create_feed_token
from hub.core.config import HubSettings, create_secret
from hub.core.db import Database, migrate
from hub.db.types import to_ms
from hub.images import FolderImageStore
from hub.ingest import parse_read_batch
from hub.main import create_app
from hub.simulate.http_feed import binary_batch, ingest_body, read_fields
from hub.simulate.traffic import default_workers, ensure_cameras, generate_traffic, render_scenes

# Under the ingest prefix, so the baseline routes get the ingest body limit.
PARSE_ONLY_PATH = f"{API_PREFIX}/ingest/bench-parse-only"
PARSE_ONLY_BINARY_PATH = f"{API_PREFIX}/ingest/bench-parse-only-binary"
BATCH_PATH = "/ingest/reads:batch"
BINARY_PATH = "/ingest/reads:batch-binary"


class Timer:
    """Wall-clock seconds and this process's CPU seconds (every thread, user + system)
    of a with block: the machine is shared, and CPU time varies less with the load."""

    def __enter__(self) -> Timer:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


def add_parse_only_route(app: FastAPI) -> None:
    """A route that parses the JSON body (as the ingest routes do) and nothing more."""

    @app.post(PARSE_ONLY_PATH)
    def parse_only(body: Annotated[Any, Body()]) -> dict[str, int]:
        return {"items": len(body) if isinstance(body, list) else 1}

    @app.post(PARSE_ONLY_BINARY_PATH)
    def parse_only_binary(
        body: Annotated[bytes, Body(media_type=READ_BATCH_MEDIA_TYPE)],
    ) -> dict[str, int]:
        items, _jpegs = parse_read_batch(body)
        return {"items": len(items)}


def encode_requests(
    bodies: list[dict[str, Any]], *, single: int, batch: int
) -> tuple[list[bytes], list[tuple[int, bytes]]]:
    """The single bodies and the batches (read count, body) as JSON bytes."""
    singles = [json.dumps(body).encode() for body in bodies[:single]]
    rest = bodies[single:]
    batches = [
        (len(rest[start : start + batch]), json.dumps(rest[start : start + batch]).encode())
        for start in range(0, len(rest), batch)
    ]
    return singles, batches


def encode_binary_batches(
    rows: list[dict[str, Any]], rendered: list[tuple[bytes, bytes]], *, single: int, batch: int
) -> list[tuple[int, bytes]]:
    """The reads after the single ones, in the same batches, as binary read batches."""
    reads = [
        (read_fields(row), image, crop) for row, (image, crop) in zip(rows, rendered, strict=True)
    ][single:]
    return [
        (len(reads[start : start + batch]), binary_batch(reads[start : start + batch]))
        for start in range(0, len(reads), batch)
    ]


def post_binary(
    client: TestClient, headers: dict[str, str], batches: list[tuple[int, bytes]], *, path: str
) -> Timer:
    """Post the binary batches to the ingest route or to the parse-only one."""
    headers = {**headers, "Content-Type": READ_BATCH_MEDIA_TYPE}
    parse_only = path == PARSE_ONLY_BINARY_PATH
    with Timer() as timer:
        for count, content in batches:
            reply = client.post(path, content=content, headers=headers)
            assert reply.status_code == 200, reply.text
            assert reply.json()["items" if parse_only else "created"] == count, reply.text[:500]
    return timer


def post_all(
    client: TestClient,
    headers: dict[str, str],
    singles: list[bytes],
    batches: list[tuple[int, bytes]],
    *,
    parse_only: bool,
) -> tuple[Timer, Timer]:
    """Post the single bodies one by one, then the batches, as a camera feed, to the
    ingest routes or to the parse-only route: (timer of the singles, of the batches)."""
    single_path = PARSE_ONLY_PATH if parse_only else f"{API_PREFIX}/ingest/reads"
    batch_path = PARSE_ONLY_PATH if parse_only else f"{API_PREFIX}/ingest/reads:batch"
    with Timer() as single_timer:
        for content in singles:
            reply = client.post(single_path, content=content, headers=headers)
            assert reply.status_code == (200 if parse_only else 201), reply.text
    with Timer() as batch_timer:
        for count, content in batches:
            reply = client.post(batch_path, content=content, headers=headers)
            assert reply.status_code == 200, reply.text
            done = reply.json()
            assert done["items" if parse_only else "created"] == count, reply.text[:500]
    return single_timer, batch_timer


def decode_hash_write(bodies: list[dict[str, Any]], root: Path) -> Timer:
    """Decode, hash and store both images of every body, in one thread."""
    store = FolderImageStore(root)
    with Timer() as timer:
        for body in bodies:
            store.put(base64.b64decode(body["image_jpeg"], validate=True))
            store.put(base64.b64decode(body["crop_jpeg"], validate=True))
    return timer


def hash_write(rendered: list[tuple[bytes, bytes]], root: Path) -> Timer:
    """Hash and store both images of every read as they are (no base64), in one thread."""
    store = FolderImageStore(root)
    with Timer() as timer:
        for image, crop in rendered:
            store.put(image)
            store.put(crop)
    return timer


def _figures(reads: int, timer: Timer) -> dict[str, float]:
    return {
        "reads_per_s": round(reads / timer.seconds, 1) if timer.seconds > 0 else 0.0,
        "cpu_ms_per_read": round(timer.cpu_seconds * 1000 / reads, 3) if reads else 0.0,
    }


def _hub(folder: Path, db_url: str | None, now: datetime) -> tuple[HubSettings, str, list[str]]:
    """A fresh hub in `folder` (schema, 6 cameras, a feed token): settings, token, camera ids."""
    settings = HubSettings(data_dir=folder, database_url=db_url)
    create_secret(settings.secret_path)
    database = Database(settings.sqlalchemy_url)
    try:
        migrate(database)
        with database.write() as connection:
            camera_ids = ensure_cameras(connection, random.Random(5), 6)
            token = create_feed_token(
                connection, FeedTokenCreate(name="bench"), by="bench", now=now
            ).token
    finally:
        database.dispose()
    return settings, token, camera_ids


def _run(
    fresh_db: Callable[[], AbstractContextManager[str | None]],
    count: int,
    single: int,
    batch: int,
    *,
    scratch: str,
    serve_workers: list[int],
    clients: int,
) -> dict[str, Any]:
    folder = tempfile.mkdtemp(dir=scratch)
    with fresh_db() as db_url:
        now = to_ms(datetime.now(UTC))
        settings, token, camera_ids = _hub(Path(folder) / "in-process", db_url, now)
        database = Database(settings.sqlalchemy_url)
        rng = random.Random(5)
        per_day = max(1, count // len(camera_ids))
        rows, specs = generate_traffic(rng, camera_ids, days=1, reads_per_day=per_day, now=now)
        rendered = render_scenes(specs, default_workers())
        bodies = [
            ingest_body(row, image, crop) for row, (image, crop) in zip(rows, rendered, strict=True)
        ]
        singles, batches = encode_requests(bodies, single=single, batch=batch)
        binary = encode_binary_batches(rows, rendered, single=single, batch=batch)
        batch_reads = sum(reads for reads, _ in batches)
        app = create_app(settings, database=database, clock=lambda: now + timedelta(seconds=1))
        add_parse_only_route(app)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with TestClient(app) as client:
            parse_single, parse_batch = post_all(client, headers, singles, batches, parse_only=True)
            single_timer, batch_timer = post_all(
                client, headers, singles, batches, parse_only=False
            )
        database.dispose()
        with fresh_db() as binary_db_url:  # the same reads again: a fresh hub
            settings, token, _cameras = _hub(Path(folder) / "in-process-binary", binary_db_url, now)
            database = Database(settings.sqlalchemy_url)
            app = create_app(settings, database=database, clock=lambda: now + timedelta(seconds=1))
            add_parse_only_route(app)
            headers = {"Authorization": f"Bearer {token}"}
            with TestClient(app) as client:
                parse_binary = post_binary(client, headers, binary, path=PARSE_ONLY_BINARY_PATH)
                binary_timer = post_binary(client, headers, binary, path=API_PREFIX + BINARY_PATH)
            database.dispose()
        raw_timer = decode_hash_write(bodies, Path(folder) / "baseline-store")
        raw_binary_timer = hash_write(rendered[single:], Path(folder) / "baseline-store-binary")
        image_bytes = sum(len(image) + len(crop) for image, crop in rendered)
    result: dict[str, Any] = {
        "mean_image_kib": round(image_bytes / len(bodies) / 1024, 1),
        "single": {
            "reads": single,
            "seconds": round(single_timer.seconds, 2),
            **_figures(single, single_timer),
            "parse_only": _figures(single, parse_single),
        },
        "batch": {
            "reads": batch_reads,
            "batch_size": batch,
            "seconds": round(batch_timer.seconds, 2),
            **_figures(batch_reads, batch_timer),
            "parse_only": _figures(batch_reads, parse_batch),
        },
        "batch_binary": {
            "reads": batch_reads,
            "batch_size": batch,
            "mean_body_mib": round(sum(len(body) for _, body in binary) / len(binary) / 2**20, 2),
            "json_mean_body_mib": round(
                sum(len(body) for _, body in batches) / len(batches) / 2**20, 2
            ),
            "seconds": round(binary_timer.seconds, 2),
            **_figures(batch_reads, binary_timer),
            "parse_only_binary": _figures(batch_reads, parse_binary),
        },
        "decode_hash_write": _figures(len(bodies), raw_timer),
        "hash_write": _figures(len(rendered) - single, raw_binary_timer),
    }
    for workers in serve_workers:
        for name, path, posted in (
            (f"serve_workers_{workers}", BATCH_PATH, batches),
            (f"serve_workers_{workers}_binary", BINARY_PATH, binary),
        ):
            with fresh_db() as db_url:
                result[name] = _serve_run(
                    Path(tempfile.mkdtemp(dir=scratch)), db_url, now, singles, posted, path=path,
                    workers=workers, clients=clients,
                )  # fmt: skip
    return result


# --- Through a real `platedesk-hub serve` process -------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process and all its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        pending.extend(int(child) for child in children)
    return total


@contextmanager
def _serving(data: Path, db_url: str | None, *, workers: int) -> Iterator[tuple[str, int]]:
    """`platedesk-hub serve --workers N` on a free loopback port: (base URL, its pid)."""
    port = _free_port()
    command = [sys.executable, "-m", "hub.cli", "serve", "--data", str(data)]
    command += ["--port", str(port)]
    if workers > 1:  # left out for 1, so the bench also runs against a hub without --workers
        command += ["--workers", str(workers)]
    if db_url:
        command += ["--db", db_url]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            assert "listening" in line, "serve did not start"
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:  # every worker answers once the app is up
                try:
                    if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("serve did not answer within 60 s")
                time.sleep(0.2)
            yield url, server.pid
        finally:
            server.terminate()
            server.wait(timeout=60)


def _serve_run(
    folder: Path,
    db_url: str | None,
    now: datetime,
    singles: list[bytes],
    batches: list[tuple[int, bytes]],
    *,
    path: str,
    workers: int,
    clients: int,
) -> dict[str, Any]:
    """The batches through `serve --workers N` to `path` (the JSON or the binary batch
    route), posted by `clients` threads at once."""
    _settings, token, _cameras = _hub(folder, db_url, now)
    media_type = READ_BATCH_MEDIA_TYPE if path == BINARY_PATH else "application/json"
    local = threading.local()
    with _serving(folder, db_url, workers=workers) as (url, pid):

        def post(content: bytes, path: str, media_type: str) -> dict[str, Any]:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(base_url=url + API_PREFIX, timeout=120)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": media_type}
            reply = client.post(path, content=content, headers=headers)
            assert reply.status_code in (200, 201), reply.text[:500]
            done: dict[str, Any] = reply.json()
            return done

        with ThreadPoolExecutor(clients) as pool:
            # Warm up every worker and connection (imports, pools) on the single reads.
            list(pool.map(lambda body: post(body, "/ingest/reads", "application/json"), singles))
            server_cpu = _process_tree_cpu(pid)
            with Timer() as timer:
                replies = list(pool.map(lambda batch: post(batch[1], path, media_type), batches))
            server_cpu = _process_tree_cpu(pid) - server_cpu
    reads = sum(count for count, _ in batches)
    assert sum(reply["created"] for reply in replies) == reads, "not every read was created"
    figures = _figures(reads, timer)
    return {
        "workers": workers,
        "clients": clients,
        "reads": reads,
        "batch_size": batches[0][0] if batches else 0,
        "seconds": round(timer.seconds, 2),
        "reads_per_s": figures["reads_per_s"],
        "hub_cpu_ms_per_read": round(server_cpu * 1000 / reads, 3) if reads else 0.0,
        "client_cpu_ms_per_read": figures["cpu_ms_per_read"],
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
    parser.add_argument("--no-sqlite", action="store_true", help="run on --db only")
    parser.add_argument(
        "--serve-workers",
        default="1,2",
        help="comma-separated worker counts to measure through `platedesk-hub serve` "
        "(empty: in process only)",
    )
    parser.add_argument(
        "--clients", type=int, default=4, help="threads posting batches at once to `serve`"
    )
    parser.add_argument(
        "--scratch",
        default=None,
        help="folder for the hubs' scratch data folders (default: the system temp folder)",
    )
    args = parser.parse_args()
    serve_workers = [int(part) for part in args.serve_workers.split(",") if part.strip()]
    result: dict[str, Any] = {
        "bench": "hub_ingest",
        "target_reads_per_s": 2000,
        "cpus": os.cpu_count(),
    }
    # Every scratch folder (some 8,000 image files per hub) is removed at the end only:
    # on ext4 without a journal, creating a file skips over every inode deleted in the
    # last 1 to 6 minutes (ext4's recently_deleted, one buffer lookup each); removing
    # a run's files before the next would slow the next one's file creation manyfold.
    with tempfile.TemporaryDirectory(dir=args.scratch, prefix="bench-hub-ingest-") as scratch:
        options: dict[str, Any] = {
            "scratch": scratch,
            "serve_workers": serve_workers,
            "clients": args.clients,
        }
        if not args.no_sqlite:
            result["sqlite"] = _run(
                lambda: scratch_database(None), args.reads, args.single, args.batch, **options
            )
        if args.db:
            result["postgresql"] = _run(
                lambda: scratch_database(args.db), args.reads, args.single, args.batch, **options
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
