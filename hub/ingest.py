"""Camera ingest: a read with its scene and plate-crop JPEGs, idempotent by read id.

Reads come as JSON (the JPEGs base64-encoded: POST /ingest/reads and
/ingest/reads:batch) or as a binary read batch (a JSON header, then the JPEGs raw:
POST /ingest/reads:batch-binary, see parse_read_batch), which spares the camera and
the hub the base64 and a quarter of the bytes.

A read is checked before anything is stored: its capture time (not ahead of the
hub's clock by more than the clock-skew allowance, not older than the retention
period), then its images: base64, the JPEG start (SOI) and end (EOI) markers, the
marker structure, the frame size (at most MAX_JPEG_PIXELS), and a strict decode
(libjpeg-turbo through simplejpeg, scaled to 1/8: every entropy-coded block is
decoded, and any corrupt data, which libjpeg would otherwise paper over with grey,
refuses the image). An image is kept as an evidence original, so a damaged one
never gets in. They go to the content-addressed store (a file named by its SHA-256 is never
rewritten) on the store's threads, all stored before the commit: for one read
while its row goes in, for a batch before the write transaction begins (see
ingest_batch). The read and its read_changes row are written in one transaction.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import json
import re
import struct
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import pybase64
import simplejpeg
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from app.core.canonical import utc_iso
from app.core.plates import MAX_PLATE_LENGTH, normalize_plate
from app.core.policy import RETENTION
from app.core.schemas import (
    IngestBatchItemPublic,
    IngestBatchPublic,
    IngestPublic,
    ReadFramedCreate,
    ReadIngestCreate,
    ReadIngestFields,
)
from hub.db.lists import among, by_dialect
from hub.db.tables import cameras, reads
from hub.db.types import to_ms
from hub.errors import HubError
from hub.hotlists import record_hits
from hub.image_leases import leasing, release
from hub.images import ImageStore
from hub.reads import READ_COLUMNS, insert_reads, lock_change_log

JPEG_SOI = b"\xff\xd8\xff"
JPEG_EOI = b"\xff\xd9"
CREATED = "created"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
REFUSED = "refused"
MAX_BATCH_READS = 500
MAX_JPEG_PIXELS = 50_000_000  # 50 megapixels: far above any ALPR camera's frame
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class CaptureLimits:
    """The capture times a read may have: from `now - retention` to `now + skew`."""

    now: datetime
    retention: timedelta = RETENTION
    skew: timedelta = DEFAULT_CLOCK_SKEW


def check_captured_at(captured_at: datetime, limits: CaptureLimits) -> None:
    """Refuse a capture time ahead of the hub's clock (beyond the skew allowance) or
    older than the retention period (the purge would take it, or miss it); 422."""
    if captured_at > limits.now + limits.skew:
        raise HubError(
            422,
            f"captured_at {utc_iso(captured_at)} is ahead of the hub's clock "
            f"({utc_iso(limits.now)}) by more than the {_span(limits.skew)} allowed for "
            "clock skew; set the camera's clock right and send the read again.",
        )
    oldest = limits.now - limits.retention
    if captured_at < oldest:
        raise HubError(
            422,
            f"captured_at {utc_iso(captured_at)} is older than the {limits.retention.days}-day "
            f"retention period (before {utc_iso(oldest)}); the hub keeps no read that old. "
            "Check the camera's clock.",
        )


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} seconds"


@dataclass(frozen=True)
class CheckedRead:
    """A read whose images passed the checks: its row (READ_COLUMNS) and the JPEG bytes."""

    row: dict[str, Any]
    image: bytes
    crop: bytes


def decode_base64(text: str, *, field: str) -> bytes:
    # pybase64 (SIMD; some 40 times faster than binascii on a 40 KiB image, which was
    # a quarter of a batch's CPU) with validate=True refuses characters outside the
    # alphabet (whitespace too), bad padding and data after it; a str must be ASCII.
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise HubError(422, f"{field} is not valid base64.") from None


_SCAN_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_BASELINE_SOF = (0xC0, 0xC1)
_OTHER_SOF = frozenset({0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
UNSURE = "unsure"


def jpeg_structure(data: bytes) -> str | None:
    """Walk a JPEG's markers without decoding it: None when it is a whole baseline JPEG.

    Checks the segment chain from SOI to the first SOS (every length inside the data,
    a frame header with non-zero size and 1..4 components, quantization and Huffman
    tables), then that the entropy-coded data holds only stuffed bytes and restart
    markers up to the final EOI. Returns a problem, or UNSURE for what this walk does
    not cover (progressive or multi-scan files): the strict decode judges those.
    """
    size = len(data)
    pos = 2
    frame = tables = huffman = False
    while True:
        if pos + 4 > size or data[pos] != 0xFF:
            return "the marker chain is broken"
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if marker in (0xD8, 0xD9, 0x00):
            return "a marker is out of place"
        length = (data[pos + 2] << 8) | data[pos + 3]
        end = pos + 2 + length
        if length < 2 or end > size - 2:
            return "a segment runs past the end of the data"
        if marker in _OTHER_SOF:
            return UNSURE
        if marker in _BASELINE_SOF:
            if length < 8:
                return "the frame header is too short"
            height = (data[pos + 5] << 8) | data[pos + 6]
            width = (data[pos + 7] << 8) | data[pos + 8]
            components = data[pos + 9]
            if not height or not width or not 1 <= components <= 4:
                return "the frame header is invalid"
            if length != 8 + 3 * components:
                return "the frame header is invalid"
            frame = True
        elif marker == 0xDB:
            tables = True
        elif marker == 0xC4:
            huffman = True
        elif marker == 0xDA:
            if not frame or not tables:
                return "the image data comes before its frame header or tables"
            if not huffman:
                return UNSURE  # default (MJPEG) Huffman tables: let the decoder judge
            if end >= size - 2:
                return "there is no image data"
            if _SCAN_MARKER.search(data, end, size - 2) is not None:
                return UNSURE  # more scans or tables follow: let the decoder judge
            return None
        pos = end


_CMYK = frozenset({"CMYK", "YCCK"})


def check_jpeg(data: bytes, *, field: str) -> None:
    """Refuse anything but a whole, decodable JPEG; the message names the problem.

    The markers first (cheap), then the frame size from the header, then a strict
    decode: libjpeg-turbo reduced to 1/8 and grey (the inverse DCT of the DC term
    only, but every Huffman-coded block read), with libjpeg's warnings (corrupt data,
    premature end of data, bad Huffman code) as errors. A JPEG cut short with an EOI
    appended, or random entropy data, decodes "fine" without that: libjpeg fills
    what is missing with grey.
    """
    if not data.startswith(JPEG_SOI):
        raise HubError(422, f"{field} is not a JPEG: it does not start with the SOI marker.")
    if not data.endswith(JPEG_EOI):
        raise HubError(422, f"{field} is truncated: the JPEG does not end with the EOI marker.")
    problem = jpeg_structure(data)
    if problem is not None and problem != UNSURE:
        raise HubError(422, f"{field} is damaged: {problem}.")
    try:
        height, width, colorspace, _subsampling = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        raise HubError(
            422, f"{field} is damaged: its frame header cannot be read (size or sampling)."
        ) from None
    if height * width > MAX_JPEG_PIXELS:
        raise HubError(
            422,
            f"{field} claims {width}x{height} pixels, over the limit of "
            f"{MAX_JPEG_PIXELS // 1_000_000} megapixels for a camera image.",
        )
    try:
        simplejpeg.decode_jpeg(
            data,
            colorspace="CMYK" if colorspace in _CMYK else "GRAY",
            strict=True,
            min_height=1,
            min_width=1,
        )
    except ValueError as exc:
        reason = " ".join(str(exc).split())[:120] or "it does not decode"
        raise HubError(422, f"{field} is damaged: {reason}.") from None


def check_read(body: ReadIngestCreate, limits: CaptureLimits) -> CheckedRead:
    """Decode and check one posted read; HubError (422) naming the first problem."""
    plate = _checked_fields(body, limits)
    image = decode_base64(body.image_jpeg, field="image_jpeg")
    crop = decode_base64(body.crop_jpeg, field="crop_jpeg")
    return _checked(body, plate, image, crop)


def check_framed_read(
    body: ReadIngestFields, image: bytes, crop: bytes, limits: CaptureLimits
) -> CheckedRead:
    """Check one read of a binary batch and its raw JPEGs; HubError (422) as check_read."""
    return _checked(body, _checked_fields(body, limits), image, crop)


def _checked_fields(body: ReadIngestFields, limits: CaptureLimits) -> str:
    """The normalized plate, once the plate and the capture time pass."""
    check_captured_at(to_ms(body.captured_at), limits)
    plate = normalize_plate(body.plate)
    if not plate:
        raise HubError(422, "plate holds no letter or digit.")
    if len(plate) > MAX_PLATE_LENGTH:
        raise HubError(422, f"plate has more than {MAX_PLATE_LENGTH} letters and digits.")
    return plate


def _checked(body: ReadIngestFields, plate: str, image: bytes, crop: bytes) -> CheckedRead:
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


def hashed_row(checked: CheckedRead) -> dict[str, Any]:
    """The full read row: the checked fields plus its images' SHA-256 and sizes."""
    row = dict(checked.row)
    row["image_sha256"] = hashlib.sha256(checked.image).hexdigest()
    row["image_size"] = len(checked.image)
    row["crop_sha256"] = hashlib.sha256(checked.crop).hexdigest()
    row["crop_size"] = len(checked.crop)
    return row


def image_files(row: dict[str, Any], checked: CheckedRead) -> dict[str, bytes]:
    """The read's images by SHA-256, for ImageStore.storing."""
    return {row["image_sha256"]: checked.image, row["crop_sha256"]: checked.crop}


def insert_read(
    connection: Connection, row: dict[str, Any], *, allowed_camera: str | None, now: datetime
) -> IngestPublic:
    """Record one read (read and change row) unless it is there already."""
    lock_change_log(connection)  # before reading `reads`: see _record_batch
    check_camera(connection, row["camera_id"], allowed=allowed_camera)
    duplicate = existing_outcome(connection, row)
    if duplicate is not None:
        return duplicate
    insert_reads(connection, [row], now=now)
    record_hits(connection, [row], now=now)  # hotlist alerts, same transaction
    return IngestPublic(
        read_id=row["read_id"],
        status=CREATED,
        image_sha256=row["image_sha256"],
        crop_sha256=row["crop_sha256"],
    )


# --- Batches: POST /ingest/reads:batch ------------------------------------------------


def _conflict_reason(read_id: str) -> str:
    return f"A different read is already stored under read_id {read_id}; a read id names one read only."


def _validation_reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the read"
    return f"{where}: {first['msg']}"


@dataclass
class _Pending:
    index: int
    row: dict[str, Any]
    image: bytes
    crop: bytes


_HEADER_LENGTH = struct.Struct(">I")


def parse_read_batch(body: bytes) -> tuple[list[Any], list[tuple[bytes, bytes]]]:
    """Split a binary read batch into its header's reads (not validated yet) and each
    read's (scene, crop) JPEG bytes; HubError (422, 413) when it cannot be split.

    The body: 4 bytes, the header's length (unsigned, big-endian); the header, a
    UTF-8 JSON array of reads, each with the byte counts of its JPEGs (`image_size`,
    `crop_size`); then the JPEGs raw, read by read (scene, then crop), ending with
    the last read's crop. A read whose byte counts are missing refuses the whole
    batch (the JPEGs after it cannot be found); any other problem of a read is that
    read's outcome (ingest_batch).
    """
    size = len(body)
    if size < _HEADER_LENGTH.size:
        raise HubError(422, "The body is not a read batch: it is shorter than its header length.")
    (length,) = _HEADER_LENGTH.unpack_from(body)
    start = _HEADER_LENGTH.size + length
    if start > size:
        raise HubError(
            422,
            f"The body is not a read batch: its header length ({length} bytes) "
            "runs past the end of the body.",
        )
    try:
        items = json.loads(body[_HEADER_LENGTH.size : start])
    except ValueError:  # UnicodeDecodeError too
        raise HubError(422, "The read batch's header is not valid JSON.") from None
    if not isinstance(items, list):
        raise HubError(422, "The read batch's header is not a JSON array of reads.")
    check_batch_size(len(items))
    jpegs: list[tuple[bytes, bytes]] = []
    for index, item in enumerate(items):
        image_size = _byte_count(item, "image_size", index=index)
        crop_size = _byte_count(item, "crop_size", index=index)
        middle = start + image_size
        end = middle + crop_size
        if end > size:
            raise HubError(
                422,
                f"The read batch is cut short: the JPEGs of read {index} run past the end "
                f"of the body ({size} bytes).",
            )
        jpegs.append((body[start:middle], body[middle:end]))
        start = end
    if start != size:
        raise HubError(
            422,
            f"The read batch has {size - start} bytes after the last read's JPEGs; "
            "the header's byte counts do not match the body.",
        )
    return items, jpegs


def _byte_count(item: Any, field: str, *, index: int) -> int:
    count = item.get(field) if isinstance(item, dict) else None
    if type(count) is not int or count < 0:
        raise HubError(
            422,
            f"Read {index} of the batch has no valid {field}: every read gives the byte "
            "counts of its JPEGs, or the JPEGs after it cannot be found.",
        )
    return count


def check_batch_size(count: int) -> None:
    if count > MAX_BATCH_READS:
        raise HubError(
            413,
            f"A batch holds at most {MAX_BATCH_READS} reads; this one has {count}. "
            "Send them in smaller batches.",
        )


def ingest_batch(
    database: Any,
    store: ImageStore,
    items: list[Any],
    *,
    allowed_camera: str | None,
    now: datetime,
    jpegs: Sequence[tuple[bytes, bytes]] | None = None,
    limits: CaptureLimits | None = None,
) -> IngestBatchPublic:
    """Check every read, then record the good new ones in one transaction.

    `items` are the posted reads as JSON values: ReadIngestCreate (the JPEGs in
    base64), or, with `jpegs` (a binary batch: parse_read_batch), ReadFramedCreate,
    the JPEGs of items[i] being jpegs[i]. `limits` bounds the capture times (None: the
    default retention and clock-skew allowance around `now`).

    Each read gets its own outcome, in the order sent: created, duplicate (the same
    read is stored, or came earlier in this batch), conflict (another read holds its
    read_id) or refused (the reason: a check failed, the camera is unknown, inactive
    or not this feed's). Refused and conflicting reads store nothing.

    The images of the reads that look new (a quick look before the write transaction:
    camera known and active, read_id not stored) are leased (hub.image_leases) once
    every read is checked, then written (on the store's writer threads, if it has
    any), all before the write transaction begins: the write lock (SQLite's, and the
    change log's on PostgreSQL) is never held while files are created, and the lease
    keeps a purge from removing them meanwhile. The transaction drops the lease and looks
    again and records only what is new then; should a read turn out new only then,
    its files are written inside it, before the commit. (A read that another request
    stores differently between the look and the transaction, a conflict, may leave
    its files behind, named by no row.)
    """
    limits = limits or CaptureLimits(now=now)
    results: list[IngestBatchItemPublic | None] = [None] * len(items)
    first_of: dict[str, _Pending] = {}
    later: list[_Pending] = []  # a read_id seen earlier in this batch

    def refuse(index: int, read_id: str | None, reason: str) -> None:
        results[index] = IngestBatchItemPublic(
            index=index, read_id=read_id, status=REFUSED, reason=reason
        )

    model: type[ReadIngestFields] = ReadIngestCreate if jpegs is None else ReadFramedCreate
    bodies: list[tuple[int, ReadIngestFields]] = []
    for index, item in enumerate(items):
        raw_id = item.get("read_id") if isinstance(item, dict) else None
        try:
            body = model.model_validate(item)
        except ValidationError as error:
            refuse(index, raw_id if isinstance(raw_id, str) else None, _validation_reason(error))
            continue
        if allowed_camera is not None and body.camera_id != allowed_camera:
            refuse(
                index,
                body.read_id.hex,
                f"This feed token is for camera {allowed_camera}; "
                f"it may not post reads of {body.camera_id}.",
            )
            continue
        bodies.append((index, body))

    with database.read() as connection:
        fresh = _new_read_ids(connection, [body for _index, body in bodies])
    files: dict[str, bytes] = {}  # the images of the reads that look new
    for index, body in bodies:
        read_id = body.read_id.hex
        try:
            if jpegs is None:
                checked = check_read(cast(ReadIngestCreate, body), limits)
            else:
                checked = check_framed_read(body, *jpegs[index], limits)
        except HubError as error:
            refuse(index, read_id, error.message)
            continue
        pending = _Pending(index, hashed_row(checked), checked.image, checked.crop)
        if read_id in first_of:
            later.append(pending)
            continue
        first_of[read_id] = pending
        if read_id in fresh:
            files.update(image_files(pending.row, checked))

    # Leased before they are written, so no purge removes them before the reads
    # that name them are recorded (hub.image_leases).
    with leasing(database, files, now=now) as lease:
        writer = store.writer()
        try:
            writer.add(files, hashed=True)
        finally:
            writer.wait(raise_errors=sys.exc_info()[0] is None)
        for _attempt in range(2):
            try:
                with database.write() as connection:
                    outcomes = _record_batch(
                        connection, store, list(first_of.values()), written=files.keys(), now=now
                    )
                    release(connection, lease)
                lease.released = True
                break
            except sa.exc.IntegrityError:
                # A concurrent request stored one of these read ids first: look again.
                continue
        else:
            raise HubError(
                409, "Concurrent requests kept storing these reads; send the batch again."
            )
    for pending in first_of.values():
        results[pending.index] = outcomes[pending.index]
    for pending in later:
        first = first_of[pending.row["read_id"]]
        done = outcomes[first.index]
        row = pending.row
        if done.status == REFUSED:
            results[pending.index] = done.model_copy(update={"index": pending.index})
        elif all(row[name] == first.row[name] for name in READ_COLUMNS):
            results[pending.index] = _item(pending.index, row, DUPLICATE)
        else:
            results[pending.index] = IngestBatchItemPublic(
                index=pending.index,
                read_id=row["read_id"],
                status=CONFLICT,
                reason=_conflict_reason(row["read_id"]),
            )
    final = [result for result in results if result is not None]
    counts = {status: 0 for status in (CREATED, DUPLICATE, CONFLICT, REFUSED)}
    for result in final:
        counts[result.status] += 1
    return IngestBatchPublic(results=final, **counts)


def _new_read_ids(connection: Connection, bodies: list[ReadIngestFields]) -> set[str]:
    """The read ids among these that look new: camera known and active, id not stored."""
    if not bodies:
        return set()
    active = _active_cameras(connection, {body.camera_id for body in bodies})
    wanted = [body.read_id.hex for body in bodies if active.get(body.camera_id)]
    stored: set[str] = set()
    for chunk in range(0, len(wanted), _ID_CHUNK):
        stored.update(
            connection.execute(
                _STORED_IDS[connection.dialect.name],
                {"read_ids": wanted[chunk : chunk + _ID_CHUNK]},
            ).scalars()
        )
    return set(wanted) - stored


_ID_CHUNK = 500


_STORED_IDS = by_dialect(
    lambda dialect: sa.select(reads.c.read_id).where(among(reads.c.read_id, "read_ids", dialect))
)
_STORED_READS = by_dialect(
    lambda dialect: sa.select(*(reads.c[name] for name in READ_COLUMNS)).where(
        among(reads.c.read_id, "read_ids", dialect)
    )
)
_CAMERAS = by_dialect(
    lambda dialect: sa.select(cameras.c.camera_id, cameras.c.active).where(
        among(cameras.c.camera_id, "camera_ids", dialect)
    )
)


def _active_cameras(connection: Connection, camera_ids: set[str]) -> dict[str, bool]:
    """Each known camera among these and whether it is active."""
    rows = connection.execute(_CAMERAS[connection.dialect.name], {"camera_ids": sorted(camera_ids)})
    return {camera_id: bool(active) for camera_id, active in rows}


def _item(index: int, row: dict[str, Any], status: str) -> IngestBatchItemPublic:
    return IngestBatchItemPublic(
        index=index,
        read_id=row["read_id"],
        status=status,
        image_sha256=row["image_sha256"],
        crop_sha256=row["crop_sha256"],
    )


def _record_batch(
    connection: Connection,
    store: ImageStore,
    pending: list[_Pending],
    *,
    written: Collection[str],
    now: datetime,
) -> dict[int, IngestBatchItemPublic]:
    """Camera checks, duplicates, images, reads and change rows: all in this transaction.

    `written` names the files stored (and leased) already; any other file of a new
    read is written here, under the change-log lock, before the commit.
    """
    outcomes: dict[int, IngestBatchItemPublic] = {}
    if not pending:
        return outcomes
    # The change-log lock first, before this transaction reads `reads`: a writer that
    # holds it may create a day partition of reads (hub.partitions), which waits for
    # every reader of reads; taken later, the two would deadlock (PostgreSQL).
    lock_change_log(connection)
    active = _active_cameras(connection, {p.row["camera_id"] for p in pending})
    read_ids = [p.row["read_id"] for p in pending]
    stored: dict[str, Any] = {}
    for chunk in range(0, len(read_ids), _ID_CHUNK):
        for stored_read in connection.execute(
            _STORED_READS[connection.dialect.name],
            {"read_ids": read_ids[chunk : chunk + _ID_CHUNK]},
        ):
            stored[stored_read.read_id] = stored_read
    new: list[_Pending] = []
    for item in pending:
        row = item.row
        camera_id = row["camera_id"]
        if camera_id not in active:
            outcomes[item.index] = IngestBatchItemPublic(
                index=item.index,
                read_id=row["read_id"],
                status=REFUSED,
                reason=f"Unknown camera {camera_id}; an administrator must register it.",
            )
        elif not active[camera_id]:
            outcomes[item.index] = IngestBatchItemPublic(
                index=item.index,
                read_id=row["read_id"],
                status=REFUSED,
                reason=f"Camera {camera_id} is not active; its reads are not accepted.",
            )
        elif row["read_id"] in stored:
            if _same(stored[row["read_id"]], row):
                outcomes[item.index] = _item(item.index, row, DUPLICATE)
            else:
                outcomes[item.index] = IngestBatchItemPublic(
                    index=item.index,
                    read_id=row["read_id"],
                    status=CONFLICT,
                    reason=_conflict_reason(row["read_id"]),
                )
        else:
            new.append(item)
            outcomes[item.index] = _item(item.index, row, CREATED)
    if not new:
        return outcomes
    missing: dict[str, bytes] = {}
    for item in new:
        row = item.row
        for sha, data in ((row["image_sha256"], item.image), (row["crop_sha256"], item.crop)):
            if sha not in written:
                missing[sha] = data
    new_rows = [item.row for item in new]
    # Files not written yet (rare: a read that looked stored before) go in meanwhile.
    with store.storing(missing) if missing else contextlib.nullcontext():
        insert_reads(connection, new_rows, now=now)
        record_hits(connection, new_rows, now=now)  # hotlist alerts, same transaction
    return outcomes
