"""The content-addressed image store: DATA/images/<sha[:2]>/<sha>.jpg plus the images table."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from hub.alerts import recipient_condition
from hub.db.tables import alerts, images, reads, slices
from hub.slices import Caller, attributes_match, slice_attributes, slice_cameras, slice_pattern

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
JPEG = "image/jpeg"
WRITER_THREADS = 4  # file creation waits on the file system, not on the GIL


class ImageStore:
    """Files named by their SHA-256, written atomically (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if not SHA256_RE.match(sha256):
            raise ValueError("an image is named by 64 lower-case hex characters")
        return self.root / sha256[:2] / f"{sha256}.jpg"

    def put(self, data: bytes) -> str:
        """Store the bytes (once) and return their SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        folder = os.path.join(self.root, sha[:2])
        target = os.path.join(folder, f"{sha}.jpg")
        if os.path.exists(target):
            return sha
        temp_name = os.path.join(folder, f".tmp-{sha}-{os.getpid()}-{threading.get_ident()}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(temp_name, flags, 0o644)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(temp_name, flags, 0o644)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return sha

    @contextlib.contextmanager
    def storing(self, files: Mapping[str, bytes]) -> Iterator[None]:
        """Store files (SHA-256 -> bytes) on a few threads while the block runs.

        The block (the transaction that records the files) overlaps the writing; on
        leaving it every file is stored and named by its own SHA-256, or the first
        failure is raised. When the block fails, the writes still finish (no file is
        left half written) and the block's error is raised.
        """
        workers = min(WRITER_THREADS, len(files)) or 1
        with ThreadPoolExecutor(workers, thread_name_prefix="image-store") as pool:
            writes = {sha: pool.submit(self.put, data) for sha, data in files.items()}
            yield
            for sha, write in writes.items():
                if write.result() != sha:
                    raise ValueError("an image was announced under another SHA-256 than its own")

    def open(self, sha256: str) -> BinaryIO:
        return self.path_of(sha256).open("rb")

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as handle:
            return handle.read()

    def remove(self, sha256: str) -> bool:
        """Unlink an image's file; False when there was none (or the name is no sha256)."""
        if not SHA256_RE.match(sha256):
            return False
        try:
            os.unlink(os.path.join(self.root, sha256[:2], f"{sha256}.jpg"))
        except FileNotFoundError:
            return False
        return True

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()


def register_image(
    connection: Connection, sha256: str, size: int, *, now: datetime, content_type: str = JPEG
) -> None:
    """Record a stored image in the images table (no-op when it is there)."""
    register_images(connection, [(sha256, size)], now=now, content_type=content_type)


def register_images(
    connection: Connection,
    items: list[tuple[str, int]],
    *,
    now: datetime,
    content_type: str = JPEG,
) -> None:
    """Record stored images (sha256, size) in one statement; known ones are skipped."""
    if not items:
        return
    rows = [
        {"sha256": sha, "size": size, "content_type": content_type, "created_at": now}
        for sha, size in dict(items).items()
    ]
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(
        dialect_insert(images).on_conflict_do_nothing(index_elements=["sha256"]), rows
    )


def store_image(store: ImageStore, connection: Connection, data: bytes, *, now: datetime) -> str:
    sha = store.put(data)
    register_image(connection, sha, len(data), now=now)
    return sha


def image_row(connection: Connection, sha256: str) -> Any:
    return connection.execute(
        sa.select(images.c.sha256, images.c.size, images.c.content_type).where(
            images.c.sha256 == sha256
        )
    ).first()


def image_visible_to(connection: Connection, *, sha256: str, user_id: int, now: datetime) -> bool:
    """Whether the image belongs to a read inside one of the user's active slices."""
    candidates = connection.execute(
        sa.select(
            reads.c.plate,
            reads.c.captured_at,
            reads.c.camera_id,
            reads.c.make,
            reads.c.model,
            reads.c.color,
            reads.c.body_type,
            reads.c.features,
        )
        .where(sa.or_(reads.c.image_sha256 == sha256, reads.c.crop_sha256 == sha256))
        .limit(100)
    ).all()
    if not candidates:
        return False
    active = connection.execute(
        sa.select(slices).where(
            slices.c.user_id == user_id,
            slices.c.revoked_at.is_(None),
            slices.c.expires_at > now,
        )
    ).all()
    for slice_row in active:
        cameras = slice_cameras(slice_row)
        pattern = slice_pattern(slice_row)
        wanted = slice_attributes(slice_row)
        for read in candidates:
            if not slice_row.time_from <= read.captured_at < slice_row.time_to:
                continue
            if cameras is not None and read.camera_id not in cameras:
                continue
            if pattern is not None and not pattern.matches(read.plate):
                continue
            if not attributes_match(wanted, read):
                continue
            return True
    return False


def alert_image_visible_to(connection: Connection, *, sha256: str, caller: Caller) -> bool:
    """Whether the image (scene or crop) is of a read behind an alert addressed to the
    caller: the policy's visual confirmation needs it, slice or no slice."""
    found = connection.execute(
        sa.select(alerts.c.alert_id)
        .select_from(alerts.join(reads, reads.c.read_id == alerts.c.read_id))
        .where(
            sa.or_(reads.c.image_sha256 == sha256, reads.c.crop_sha256 == sha256),
            recipient_condition(connection, caller),
        )
        .limit(1)
    ).first()
    return found is not None
