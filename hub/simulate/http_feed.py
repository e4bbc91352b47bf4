"""Post simulated reads to a hub's ingest API, as a camera feed would: binary read
batches (POST /api/v1/ingest/reads:batch-binary, the JPEGs raw), the fast path."""

from __future__ import annotations

import base64
import itertools
import json
import struct
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from app.core.errors import KnownError
from app.core.schemas import API_PREFIX, READ_BATCH_MEDIA_TYPE
from hub.db.types import to_ms

BATCH_READS = 100  # reads per binary batch: some 4 MiB of JPEGs, under the 16 MiB limit
BATCH_BYTES = 8 * 1024 * 1024  # a batch of larger images is cut sooner


def read_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A simulated read's JSON fields, all but its JPEGs."""
    return {
        "read_id": row["read_id"],
        "plate": row["plate"],
        "state": row["state"],
        "confidence": row["confidence"],
        "captured_at": to_ms(row["captured_at"]).isoformat(),
        "camera_id": row["camera_id"],
        "direction": row["direction"],
        "attributes": {
            "make": row["make"],
            "model": row["model"],
            "color": row["color"],
            "body_type": row["body_type"],
            "features": list(row["features"]),
        },
    }


def ingest_body(row: dict[str, Any], image: bytes, crop: bytes) -> dict[str, Any]:
    """The JSON body of POST /api/v1/ingest/reads for one simulated read."""
    return {
        **read_fields(row),
        "image_jpeg": base64.b64encode(image).decode("ascii"),
        "crop_jpeg": base64.b64encode(crop).decode("ascii"),
    }


def binary_batch(reads: Sequence[tuple[dict[str, Any], bytes, bytes]]) -> bytes:
    """The body of POST /api/v1/ingest/reads:batch-binary for reads given as (JSON
    fields, scene JPEG, crop JPEG): the header's length (4 bytes, big-endian), the
    header (a JSON array of the reads with their JPEGs' byte counts), the JPEGs."""
    header = json.dumps(
        [
            {**fields, "image_size": len(image), "crop_size": len(crop)}
            for fields, image, crop in reads
        ]
    ).encode()
    parts = [struct.pack(">I", len(header)), header]
    for _fields, image, crop in reads:
        parts += (image, crop)
    return b"".join(parts)


def _batches(
    items: Iterable[tuple[dict[str, Any], bytes, bytes]],
) -> Iterator[list[tuple[dict[str, Any], bytes, bytes]]]:
    batch: list[tuple[dict[str, Any], bytes, bytes]] = []
    size = 0
    for row, image, crop in items:
        if batch and (len(batch) == BATCH_READS or size + len(image) + len(crop) > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((read_fields(row), image, crop))
        size += len(image) + len(crop)
    if batch:
        yield batch


def post_reads(
    url: str,
    token: str,
    items: Iterable[tuple[dict[str, Any], bytes, bytes]],
    *,
    concurrency: int = 4,
) -> dict[str, int]:
    """POST every read, in binary batches; counts of "created" and "duplicate".
    KnownError on any refusal or conflict, naming the read."""
    counts = {"created": 0, "duplicate": 0}
    endpoint = url.rstrip("/") + f"{API_PREFIX}/ingest/reads:batch-binary"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": READ_BATCH_MEDIA_TYPE}
    with httpx.Client(timeout=120.0, headers=headers) as client:

        def post(batch: list[tuple[dict[str, Any], bytes, bytes]]) -> dict[str, Any]:
            try:
                reply = client.post(endpoint, content=binary_batch(batch))
            except httpx.HTTPError as exc:
                raise KnownError(f"Cannot reach the hub at {url}: {exc}.") from None
            if reply.status_code != 200:
                try:
                    detail = reply.json().get("detail", reply.text)
                except ValueError:
                    detail = reply.text
                raise KnownError(
                    f"The hub refused a batch of reads ({reply.status_code}): {detail}"
                )
            outcome: dict[str, Any] = reply.json()
            return outcome

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            # At most 2 batches per thread rendered ahead: the items may be a generator.
            batches = _batches(items)
            while chunk := list(itertools.islice(batches, 2 * concurrency)):
                for outcome in pool.map(post, chunk):
                    for result in outcome["results"]:
                        if result["status"] not in counts:
                            raise KnownError(
                                f"The hub refused read {result['read_id']} "
                                f"({result['status']}): {result['reason']}"
                            )
                        counts[result["status"]] += 1
    return counts
