"""Post simulated reads to a hub's ingest API, as a camera feed would."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from app.core.errors import KnownError
from app.core.schemas import API_PREFIX
from hub.db.types import to_ms


def ingest_body(row: dict[str, Any], image: bytes, crop: bytes) -> dict[str, Any]:
    """The JSON body of POST /api/v1/ingest/reads for one simulated read."""
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
        "image_jpeg": base64.b64encode(image).decode("ascii"),
        "crop_jpeg": base64.b64encode(crop).decode("ascii"),
    }


def post_reads(
    url: str,
    token: str,
    items: Iterable[tuple[dict[str, Any], bytes, bytes]],
    *,
    concurrency: int = 4,
) -> dict[str, int]:
    """POST every read; counts of "created" and "duplicate". KnownError on any refusal."""
    counts = {"created": 0, "duplicate": 0}
    endpoint = url.rstrip("/") + f"{API_PREFIX}/ingest/reads"
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30.0, headers=headers) as client:

        def post(item: tuple[dict[str, Any], bytes, bytes]) -> str:
            row, image, crop = item
            try:
                reply = client.post(endpoint, json=ingest_body(row, image, crop))
            except httpx.HTTPError as exc:
                raise KnownError(f"Cannot reach the hub at {url}: {exc}.") from None
            if reply.status_code not in (200, 201):
                try:
                    detail = reply.json().get("detail", reply.text)
                except ValueError:
                    detail = reply.text
                raise KnownError(
                    f"The hub refused read {row['read_id']} ({reply.status_code}): {detail}"
                )
            return str(reply.json()["status"])

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for status in pool.map(post, items):
                counts[status] = counts.get(status, 0) + 1
    return counts
