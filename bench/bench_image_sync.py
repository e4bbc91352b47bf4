"""Image sync over loopback: the workstation fetching a slice's images from a real
`platedesk-hub serve` process, in batches (POST /images:batch, several requests in
flight, app.sync.images) against one request per image (GET /images/{sha256}, the
path before: the baseline), in the same run. Prints one JSON object.

A demo hub on SQLite gets --reads more reads, each with a scene (--scene-bytes) and a
plate crop (--crop-bytes) in its image store (random bytes behind a JPEG marker: the
workstation checks each image's SHA-256, not its pixels). The demo detective signs
in, requests a slice covering them and syncs its reads; then:

- one_request_per_image: the first --baseline images, crops first, each fetched
  alone, checked and kept in the cache (SQLCipher) one at a time, as the image sync
  did before; then those images leave the cache again;
- batched: every image of the slice, as `platedesk sync --images` now fetches them
  (app.sync.images: crops first, 256 a request, 4 requests in flight, each batch kept
  in one transaction);
- sync_with_images_overlapped_s against sync_reads_then_images_s: a second
  workstation syncs the slice's reads and images in one `sync --images` (the images
  travel while the feed's pages are pulled) against the first's reads sync plus its
  batched image fetch, one after the other.

Figures: images per second and MB per second (wall clock), and the speedup. The hub
runs on this machine's cores beside the workstation; target (issue 25): >= 1,000
images per second.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import tempfile
import time
from pathlib import Path

from bench_engine_sync import _rows, signed_in_slice  # bench/ is the script's own folder

from app.cache.reads import ReadRepository
from app.demo import running_hub, seed_hub
from app.sync.images import fetch_images
from hub.core.db import Database
from hub.images import FolderImageStore
from hub.reads import insert_reads


def _image(size: int, rng: random.Random) -> bytes:
    return b"\xff\xd8\xff\xe0" + rng.randbytes(size - 4)


def hub_with_images(folder: Path, count: int, scene: int, crop: int) -> tuple[Path, dict, int]:
    """A demo hub with `count` more reads and their images: (data folder, what
    demo-seed printed, the bytes of the added images)."""
    rng = random.Random(25)
    data = folder / "hub"
    seeded = seed_hub(data, extra=["--cameras", "2", "--days", "1", "--reads-per-day", "10"])
    database = Database(f"sqlite:///{data / 'hub.sqlite3'}")
    store = FolderImageStore(data / "images")
    with database.read() as connection:
        cameras = [row[0] for row in connection.exec_driver_sql("SELECT camera_id FROM cameras")]
    rows = _rows(count, cameras, rng)
    total = 0
    for row in rows:
        for key, size in (("image", scene), ("crop", crop)):
            data_bytes = _image(size, rng)
            row[f"{key}_sha256"] = store.put(data_bytes)
            row[f"{key}_size"] = size
            total += size
    with database.write() as connection:
        insert_reads(connection, rows, now=max(row["captured_at"] for row in rows))
    database.dispose()
    return data, seeded, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--scene-bytes", type=int, default=60_000)
    parser.add_argument("--crop-bytes", type=int, default=6_000)
    parser.add_argument("--baseline", type=int, default=600, help="images fetched one by one")
    args = parser.parse_args()
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    figures: dict[str, float | int] = {"reads": args.reads}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["XDG_DATA_HOME"] = str(folder / "xdg")  # a private keyring file
        data, seeded, _total = hub_with_images(
            folder, args.reads, args.scene_bytes, args.crop_bytes
        )
        with running_hub(data) as hub:
            workstation, slice_id = signed_in_slice(
                hub.url, folder, seeded, "benchmark: image sync rate of a slice over loopback"
            )
            try:
                started = time.perf_counter()
                workstation.sync(slice_id=slice_id)
                reads_seconds = time.perf_counter() - started
                repo = ReadRepository(workstation.db())
                wanted = repo.missing_images_crops_first(slice_id=slice_id)
                figures["images"] = len(wanted)
                client = workstation.core.client

                started = time.perf_counter()
                size = 0
                for sha in wanted[: args.baseline]:
                    image = client.image(sha)  # checked against its SHA-256
                    repo.put_image(sha, image)
                    size += len(image)
                seconds = time.perf_counter() - started
                count = min(args.baseline, len(wanted))
                figures["one_request_per_image_images_per_s"] = round(count / seconds, 1)
                figures["one_request_per_image_mb_per_s"] = round(size / seconds / 1e6, 1)
                workstation.db().execute("DELETE FROM images")

                started = time.perf_counter()
                fetched = fetch_images(client, wanted, lambda batch: repo.put_images(batch.images))
                seconds = time.perf_counter() - started
                assert fetched == len(wanted), (fetched, len(wanted))
                assert repo.missing_image_count(slice_id=slice_id) == 0
                stored = workstation.db().scalar("SELECT sum(length(data)) FROM images")
                kept = workstation.db().execute("SELECT sha256, data FROM images LIMIT 50")
                assert all(hashlib.sha256(d).hexdigest() == s for s, d in kept)
                figures["batched_images_per_s"] = round(fetched / seconds, 1)
                figures["batched_mb_per_s"] = round(stored / seconds / 1e6, 1)
                figures["speedup"] = round(
                    figures["batched_images_per_s"] / figures["one_request_per_image_images_per_s"],
                    1,
                )
                figures["sync_reads_then_images_s"] = round(reads_seconds + seconds, 2)
            finally:
                workstation.close()
            # A second workstation syncs the same reads with their images in one go:
            # the images travel while the feed's pages are pulled.
            second, second_slice = signed_in_slice(
                hub.url, folder / "second", seeded, "benchmark: reads and images in one sync"
            )
            try:
                started = time.perf_counter()
                result = second.sync(slice_id=second_slice, images=True)
                figures["sync_with_images_overlapped_s"] = round(time.perf_counter() - started, 2)
                assert result.images_remaining == 0, result
            finally:
                second.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
