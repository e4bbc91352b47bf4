"""Reads in the cache: applying change-feed pages, looking reads up, and their images."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.cache.connection import MIRROR, Database
from app.core.canonical import parse_utc, utc_iso
from app.core.plates import fold_plate
from app.core.records import ReadRecord
from app.core.schemas import ReadPublic

READ_COLUMNS = (
    "read_id, plate, plate_folded, state, confidence, captured_at, camera_id, latitude, longitude, direction,"
    " make, model, color, body_type, features, image_sha256, image_size, crop_sha256, crop_size"
)


_UTC_OFFSET = timedelta(0)
# Reads per upsert statement. One statement per chunk, not one per read: SQLite opens a
# statement savepoint for each, and the plate index (FTS5) writes its pending terms out
# at every savepoint, so per-read statements leave a tiny index segment per read.
UPSERT_CHUNK = 500


@functools.lru_cache(maxsize=8)
def _upsert_sql(rows: int) -> str:
    values = ", ".join([f"({', '.join('?' * 19)})"] * rows)
    return (
        f"INSERT INTO reads ({READ_COLUMNS}) VALUES {values}"
        " ON CONFLICT (read_id) DO UPDATE SET plate = excluded.plate,"
        " plate_folded = excluded.plate_folded,"
        " state = excluded.state, confidence = excluded.confidence,"
        " make = excluded.make, model = excluded.model, color = excluded.color,"
        " body_type = excluded.body_type, features = excluded.features"
    )


# A read as the cache stores it: the values of READ_COLUMNS, in order.
CacheRow = tuple[Any, ...]


@dataclass(frozen=True)
class AppliedPage:
    upserted: int
    deleted: int
    added: int = 0  # reads the slice did not hold before (upserted counts updates too)


class ReadRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def apply_page(
        self,
        *,
        slice_id: str,
        reads: Sequence[ReadPublic],
        tombstones: Sequence[str],
        next_cursor: str,
        complete: bool,
    ) -> AppliedPage:
        """Apply one feed page and advance the slice's cursor, in the caller's transaction."""
        return self.apply_rows(
            slice_id=slice_id,
            rows=[cache_row(read) for read in reads],
            tombstones=tombstones,
            next_cursor=next_cursor,
            complete=complete,
        )

    def apply_rows(
        self,
        *,
        slice_id: str,
        rows: Sequence[CacheRow],
        tombstones: Sequence[str],
        next_cursor: str | None,
        complete: bool,
    ) -> AppliedPage:
        """apply_page for reads already in cache form (cache_row), in one transaction.

        `next_cursor` None keeps the slice's cursor: the first parts of a page applied
        in parts (the cursor moves with the last part; applying a part again, after a
        crash between parts, changes nothing)."""
        with self.db.atomic(only=MIRROR):
            for start in range(0, len(rows), UPSERT_CHUNK):
                chunk = rows[start : start + UPSERT_CHUNK]
                self.db.execute(_upsert_sql(len(chunk)), [v for row in chunk for v in row])
            added = self.db.executemany(
                "INSERT OR IGNORE INTO slice_reads (slice_id, read_id) VALUES (?, ?)",
                [(slice_id, row[0]) for row in rows],
            ).rowcount
            deleted = removed = 0
            for read_id in tombstones:
                removed += self.db.execute(
                    "DELETE FROM slice_reads WHERE slice_id = ? AND read_id = ?",
                    (slice_id, read_id),
                ).rowcount
                deleted += self.delete_if_orphan(read_id)
            self.db.execute(
                "UPDATE slices SET cursor = coalesce(?, cursor), synced_reads = synced_reads + ?,"
                " last_synced_at = ?, complete = complete OR ? WHERE slice_id = ?",
                (next_cursor, added - removed, utc_iso(datetime.now(UTC)), int(complete), slice_id),
            )
        return AppliedPage(upserted=len(rows), deleted=deleted, added=added)

    def put_reads(self, reads: Sequence[ReadPublic]) -> None:
        """Keep reads fetched outside any slice (the evidence grant): no slice holds them,
        so local searches, which go through slices, do not see them."""
        rows = [cache_row(read) for read in reads]
        with self.db.atomic(only=MIRROR):
            for start in range(0, len(rows), UPSERT_CHUNK):
                chunk = rows[start : start + UPSERT_CHUNK]
                self.db.execute(_upsert_sql(len(chunk)), [v for row in chunk for v in row])

    def missing(self, read_ids: Sequence[str]) -> list[str]:
        """The read ids not in the cache, in the order given."""
        present: set[str] = set()
        for start in range(0, len(read_ids), 500):
            chunk = list(read_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            present.update(
                row[0]
                for row in self.db.execute(
                    f"SELECT read_id FROM reads WHERE read_id IN ({marks})", chunk
                )
            )
        return [read_id for read_id in read_ids if read_id not in present]

    def delete_if_orphan(self, read_id: str) -> int:
        """Delete a read no slice holds any more, with images no other read uses."""
        if self.db.scalar("SELECT 1 FROM slice_reads WHERE read_id = ? LIMIT 1", (read_id,)):
            return 0
        row = self.db.one(
            "SELECT image_sha256, crop_sha256 FROM reads WHERE read_id = ?", (read_id,)
        )
        if row is None:
            return 0
        self.db.execute("DELETE FROM reads WHERE read_id = ?", (read_id,))
        for sha in (row["image_sha256"], row["crop_sha256"]):
            in_use = self.db.scalar(
                "SELECT 1 FROM reads WHERE image_sha256 = ? OR crop_sha256 = ? LIMIT 1", (sha, sha)
            )
            if not in_use:
                self.db.execute("DELETE FROM images WHERE sha256 = ?", (sha,))
        return 1

    def purge_expired(self, *, cutoff: str) -> tuple[int, int]:
        """Delete reads captured before `cutoff` unless marked as evidence; (purged, kept)."""
        with self.db.atomic(only=MIRROR):
            kept = int(
                self.db.scalar(
                    "SELECT count(*) FROM reads WHERE captured_at < ? AND read_id IN"
                    " (SELECT read_id FROM review_marks WHERE kind = 'evidence')",
                    (cutoff,),
                )
            )
            stale = [
                row[0]
                for row in self.db.execute(
                    "SELECT read_id FROM reads WHERE captured_at < ? AND read_id NOT IN"
                    " (SELECT read_id FROM review_marks WHERE kind = 'evidence')",
                    (cutoff,),
                )
            ]
            self.db.executemany("DELETE FROM slice_reads WHERE read_id = ?", [(r,) for r in stale])
            purged = sum(self.delete_if_orphan(read_id) for read_id in stale)
        return purged, kept

    def get(self, read_id: str) -> ReadRecord | None:
        row = self.db.one(
            "SELECT r.*, coalesce(c.name, r.camera_id) AS camera_name FROM reads r"
            " LEFT JOIN cameras c ON c.camera_id = r.camera_id WHERE r.read_id = ?",
            (read_id,),
        )
        return None if row is None else read_record(row)

    def count(self) -> int:
        return int(self.db.scalar("SELECT count(*) FROM reads"))

    def uses_image(self, read_id: str, sha256: str) -> bool:
        return bool(
            self.db.scalar(
                "SELECT 1 FROM reads WHERE read_id = ? AND (image_sha256 = ? OR crop_sha256 = ?)",
                (read_id, sha256, sha256),
            )
        )

    def crop_sha256(self, read_id: str) -> str | None:
        value = self.db.scalar("SELECT crop_sha256 FROM reads WHERE read_id = ?", (read_id,))
        return None if value is None else str(value)

    def image(self, sha256: str) -> bytes | None:
        data = self.db.scalar("SELECT data FROM images WHERE sha256 = ?", (sha256,))
        return None if data is None else bytes(data)

    def has_image(self, sha256: str) -> bool:
        """Whether the image is cached (without reading it)."""
        return self.db.scalar("SELECT 1 FROM images WHERE sha256 = ?", (sha256,)) is not None

    def put_image(self, sha256: str, data: bytes) -> None:
        with self.db.atomic(only=MIRROR):
            self.db.execute(
                "INSERT OR IGNORE INTO images (sha256, data, fetched_at) VALUES (?, ?, ?)",
                (sha256, data, utc_iso(datetime.now(UTC))),
            )

    def missing_images(self, *, slice_id: str, limit: int) -> list[str]:
        """Images and plate crops of the slice's reads not in the cache (whenever those
        reads were synced), at most `limit`."""
        rows = self.db.execute(_MISSING_IMAGES + " LIMIT ?", (slice_id, slice_id, limit)).fetchall()
        return [row[0] for row in rows]

    def put_images(self, images: Mapping[str, bytes]) -> None:
        """Keep these images (checked by the caller), in one transaction."""
        fetched_at = utc_iso(datetime.now(UTC))
        with self.db.atomic(only=MIRROR):
            self.db.executemany(
                "INSERT OR IGNORE INTO images (sha256, data, fetched_at) VALUES (?, ?, ?)",
                [(sha, data, fetched_at) for sha, data in images.items()],
            )

    def missing_images_crops_first(self, *, slice_id: str) -> list[str]:
        """Every image of the slice's reads not in the cache: the plate crops (small,
        what a reviewer looks at first), then the scenes."""
        crops, scenes = self.missing_images_by_kind(slice_id=slice_id)
        return crops + scenes

    def missing_images_by_kind(self, *, slice_id: str) -> tuple[list[str], list[str]]:
        """The plate crops and the scenes of the slice's reads not in the cache."""
        crops = [row[0] for row in self.db.execute(_MISSING_OF.format("crop"), (slice_id,))]
        seen = set(crops)
        scenes = [
            row[0]
            for row in self.db.execute(_MISSING_OF.format("image"), (slice_id,))
            if row[0] not in seen
        ]
        return crops, scenes

    def missing_images_since(self, rowid: int) -> tuple[list[str], list[str], int]:
        """The crops and the scenes, not in the cache, of the reads stored (or stored
        again) after row `rowid`, and the last row: what a sync page just brought."""
        rows = self.db.execute(
            "SELECT rowid, crop_sha256, image_sha256 FROM reads WHERE rowid > ? ORDER BY rowid",
            (rowid,),
        ).fetchall()
        if not rows:
            return [], [], rowid
        cached = {
            row[0]
            for row in self.db.execute(
                "SELECT sha256 FROM images WHERE sha256 IN (SELECT value FROM json_each(?))",
                (json.dumps([sha for row in rows for sha in row[1:]]),),
            )
        }
        crops = [row[1] for row in rows if row[1] not in cached]
        scenes = [row[2] for row in rows if row[2] not in cached]
        return crops, scenes, int(rows[-1][0])

    def last_read_row(self) -> int:
        return int(self.db.scalar("SELECT coalesce(max(rowid), 0) FROM reads"))

    def missing_image_count(self, *, slice_id: str) -> int:
        """How many of the slice's images and plate crops are not in the cache yet."""
        return int(
            self.db.scalar(f"SELECT count(*) FROM ({_MISSING_IMAGES})", (slice_id, slice_id))
        )


_MISSING_IMAGES = (
    "SELECT DISTINCT sha FROM ("
    " SELECT r.image_sha256 AS sha FROM reads r JOIN slice_reads s USING (read_id)"
    " WHERE s.slice_id = ? UNION"
    " SELECT r.crop_sha256 AS sha FROM reads r JOIN slice_reads s USING (read_id)"
    " WHERE s.slice_id = ?) WHERE sha NOT IN (SELECT sha256 FROM images)"
)

_MISSING_OF = (
    "SELECT DISTINCT r.{0}_sha256 FROM reads r JOIN slice_reads s USING (read_id)"
    " WHERE s.slice_id = ? AND r.{0}_sha256 NOT IN (SELECT sha256 FROM images)"
)


def cache_row(read: ReadPublic) -> CacheRow:
    """A read from the feed in the cache's form (READ_COLUMNS)."""
    return (
        read.read_id,
        read.plate,
        fold_plate(read.plate),
        read.state,
        read.confidence,
        _utc_text(read.captured_at),
        read.camera_id,
        read.latitude,
        read.longitude,
        read.direction,
        read.make,
        read.model,
        read.color,
        read.body_type,
        _features_text(tuple(read.features)),
        read.image_sha256,
        read.image_size,
        read.crop_sha256,
        read.crop_size,
    )


def _utc_text(moment: datetime) -> str:
    """utc_iso(moment), without strftime for a time already in UTC (as the feed's are)."""
    if moment.utcoffset() == _UTC_OFFSET and moment.year >= 1000:
        return moment.isoformat(timespec="milliseconds")[:23] + "Z"
    return utc_iso(moment)


@functools.lru_cache(maxsize=1024)
def _features_text(features: tuple[str, ...]) -> str:
    # Few distinct feature lists exist: each is encoded once.
    return json.dumps(list(features))


def read_record(row: Any) -> ReadRecord:
    return ReadRecord(
        read_id=row["read_id"],
        plate=row["plate"],
        state=row["state"],
        confidence=row["confidence"],
        captured_at=parse_utc(row["captured_at"]),
        camera_id=row["camera_id"],
        camera_name=row["camera_name"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        direction=row["direction"],
        make=row["make"],
        model=row["model"],
        color=row["color"],
        body_type=row["body_type"],
        features=tuple(json.loads(row["features"])),
        image_sha256=row["image_sha256"],
        crop_sha256=row["crop_sha256"],
    )
