"""Camera ingest: a read with its scene and plate-crop JPEGs, idempotent by read id.

The images are checked before anything is stored: base64, the JPEG start (SOI)
and end (EOI) markers, then a full decode with OpenCV. They go to the
content-addressed store (a file named by its SHA-256 is never rewritten); the
read and its read_changes row are written in one transaction.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.plates import MAX_PLATE_LENGTH, normalize_plate
from app.core.schemas import IngestPublic, ReadIngestCreate
from hub.db.tables import cameras, reads
from hub.db.types import to_ms
from hub.errors import HubError
from hub.images import ImageStore, register_images
from hub.reads import READ_COLUMNS, insert_reads

JPEG_SOI = b"\xff\xd8\xff"
JPEG_EOI = b"\xff\xd9"
CREATED = "created"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class CheckedRead:
    """A read whose images passed the checks: its row (READ_COLUMNS) and the JPEG bytes."""

    row: dict[str, Any]
    image: bytes
    crop: bytes


def decode_base64(text: str, *, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise HubError(422, f"{field} is not valid base64.") from None


def check_jpeg(data: bytes, *, field: str) -> None:
    """Refuse anything but a whole, decodable JPEG; the message names the problem."""
    import cv2
    import numpy as np

    if not data.startswith(JPEG_SOI):
        raise HubError(422, f"{field} is not a JPEG: it does not start with the SOI marker.")
    if not data.endswith(JPEG_EOI):
        raise HubError(422, f"{field} is truncated: the JPEG does not end with the EOI marker.")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if image is None or image.size == 0:
        raise HubError(422, f"{field} is damaged: OpenCV cannot decode the JPEG.")


def check_read(body: ReadIngestCreate) -> CheckedRead:
    """Decode and check one posted read; HubError (422) naming the first problem."""
    plate = normalize_plate(body.plate)
    if not plate:
        raise HubError(422, "plate holds no letter or digit.")
    if len(plate) > MAX_PLATE_LENGTH:
        raise HubError(422, f"plate has more than {MAX_PLATE_LENGTH} letters and digits.")
    image = decode_base64(body.image_jpeg, field="image_jpeg")
    crop = decode_base64(body.crop_jpeg, field="crop_jpeg")
    check_jpeg(image, field="image_jpeg")
    check_jpeg(crop, field="crop_jpeg")
    attributes = body.attributes
    row = {
        "read_id": body.read_id.hex,
        "plate": plate,
        "state": body.state.upper(),
        "confidence": body.confidence,
        "captured_at": to_ms(body.captured_at),
        "camera_id": body.camera_id,
        "direction": body.direction,
        "make": attributes.make,
        "model": attributes.model,
        "color": attributes.color,
        "body_type": attributes.body_type,
        "features": list(attributes.features),
    }
    return CheckedRead(row=row, image=image, crop=crop)


def _same(stored: Any, row: dict[str, Any]) -> bool:
    for name in READ_COLUMNS:
        value = getattr(stored, name)
        if name == "features":
            value = json.loads(value)
        if value != row[name]:
            return False
    return True


def existing_outcome(connection: Connection, row: dict[str, Any]) -> IngestPublic | None:
    """A duplicate reply when this read is stored already; 409 when it differs."""
    stored = connection.execute(
        sa.select(*(reads.c[name] for name in READ_COLUMNS)).where(
            reads.c.read_id == row["read_id"]
        )
    ).first()
    if stored is None:
        return None
    if not _same(stored, row):
        raise HubError(
            409,
            f"A different read is already stored under read_id {row['read_id']}; "
            "a read id names one read only.",
        )
    return IngestPublic(
        read_id=row["read_id"],
        status=DUPLICATE,
        image_sha256=row["image_sha256"],
        crop_sha256=row["crop_sha256"],
    )


def check_camera(connection: Connection, camera_id: str, *, allowed: str | None) -> None:
    if allowed is not None and camera_id != allowed:
        raise HubError(
            403, f"This feed token is for camera {allowed}; it may not post reads of {camera_id}."
        )
    active = connection.execute(
        sa.select(cameras.c.active).where(cameras.c.camera_id == camera_id)
    ).first()
    if active is None:
        raise HubError(422, f"Unknown camera {camera_id}; an administrator must register it.")
    if not active[0]:
        raise HubError(409, f"Camera {camera_id} is not active; its reads are not accepted.")


def stored_row(store: ImageStore, checked: CheckedRead) -> dict[str, Any]:
    """Put the read's images in the content-addressed store; the full read row."""
    row = dict(checked.row)
    row["image_sha256"] = store.put(checked.image)
    row["image_size"] = len(checked.image)
    row["crop_sha256"] = store.put(checked.crop)
    row["crop_size"] = len(checked.crop)
    return row


def insert_read(
    connection: Connection, row: dict[str, Any], *, allowed_camera: str | None, now: datetime
) -> IngestPublic:
    """Record one read (images, read, change row) unless it is there already."""
    check_camera(connection, row["camera_id"], allowed=allowed_camera)
    duplicate = existing_outcome(connection, row)
    if duplicate is not None:
        return duplicate
    register_images(
        connection,
        [(row["image_sha256"], row["image_size"]), (row["crop_sha256"], row["crop_size"])],
        now=now,
    )
    insert_reads(connection, [row], now=now)
    return IngestPublic(
        read_id=row["read_id"],
        status=CREATED,
        image_sha256=row["image_sha256"],
        crop_sha256=row["crop_sha256"],
    )
