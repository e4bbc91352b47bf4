"""The content-addressed image store: DATA/images/<sha[:2]>/<sha>.jpg.

The store keeps no table of its own: a read names its scene's and crop's sha256
and size, and a file that no read names any more is unlinked by the purge
(hub.retention)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.alerts import recipient_condition
from hub.db.tables import alerts, reads, slices
from hub.slices import (
    Caller,
    attributes_match,
    case_access_condition,
    slice_attributes,
    slice_cameras,
    slice_pattern,
)

SHA256_RE = re.compile(r"[0-9a-f]{64}")  # use with fullmatch: "$" lets a trailing newline through
JPEG = "image/jpeg"
WRITE_CHUNK_FILES = 16  # files per task handed to a writer thread
_BINARY = getattr(os, "O_BINARY", 0)
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class ImageStore:
    """Files named by their SHA-256, each written once and never rewritten (see write_named)."""

    def __init__(self, root: Path, *, writer_threads: int = 0) -> None:
        self.root = root
        # Threads an ImageWriter writes on; 0: the caller's own thread. On a local disk
        # creating a file is CPU in the kernel, not a wait, and every os call of a
        # writer thread must win the GIL back from the request threads: measured on 2
        # cores, 4 threads cost 0.2-0.5 ms more CPU per read than none, for no more
        # throughput. A file system whose creates wait (a network share) may want some.
        self.writer_threads = writer_threads

    def path_of(self, sha256: str) -> Path:
        if not SHA256_RE.fullmatch(sha256):
            raise ValueError("an image is named by 64 lower-case hex characters")
        return self.root / sha256[:2] / f"{sha256}.jpg"

    def put(self, data: bytes) -> str:
        """Store the bytes (once) and return their SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        self.write_named(sha, data)
        return sha

    def write_named(self, sha: str, data: bytes) -> None:
        """Create the file named `sha` (its caller hashed `data`) unless it is there whole.

        The file is created under its own name (O_EXCL: one writer wins), which costs
        one directory entry instead of the two of a temp file and a rename; that is
        most of an ingest's file-system time. No committed row names a file that is
        being created (the commit waits for its writes), and a write that fails
        removes its file. A file that exists with another size (a crash mid-write, or
        a concurrent writer still busy) is written again by temp file and rename, so
        a reader never sees it partial.
        """
        folder, target = self._file(sha)
        try:
            fd = os.open(target, _CREATE_NEW, 0o644)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            try:
                fd = os.open(target, _CREATE_NEW, 0o644)
            except FileExistsError:
                fd = -1
        except FileExistsError:
            fd = -1
        if fd < 0:
            try:
                if os.stat(target).st_size == len(data):
                    return
            except FileNotFoundError:
                pass  # removed meanwhile: write it again
            self._replace(folder, target, sha, data)
            return
        try:
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(target)
            raise

    def _replace(self, folder: str, target: str, sha: str, data: bytes) -> None:
        temp_name = os.path.join(folder, f".tmp-{sha}-{os.getpid()}-{threading.get_ident()}")
        fd = os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o644)
        try:
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def writer(self) -> ImageWriter:
        """An ImageWriter on this store (its writer threads, or the caller's thread)."""
        return ImageWriter(self)

    @contextlib.contextmanager
    def storing(self, files: Mapping[str, bytes]) -> Iterator[None]:
        """Store files (SHA-256 -> bytes) around the block: before it, or on the writer
        threads while it runs (the block, the transaction that records the files,
        then overlaps the writing).

        On leaving it every file is stored and named by its own SHA-256, or the first
        failure is raised. When the block fails, the writes still finish (no file is
        left half written) and the block's error is raised.

        Run the block under the change-log lock (hub.reads.lock_change_log): once it
        is done every file is looked for again and written again if a purge unlinked
        it meanwhile (the purge unlinks under that lock: hub.retention).
        """
        writer = ImageWriter(self)
        try:
            writer.add(files)
            writer.flush()
            yield
        except BaseException:
            writer.wait(raise_errors=False)
            raise
        writer.wait()
        self.restore(files)

    def open(self, sha256: str) -> BinaryIO:
        return self.path_of(sha256).open("rb")

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as handle:
            return handle.read()

    def by_folder(self, shas: list[str]) -> dict[str, list[str]]:
        """The file names of these images (not sha256: skipped), by their folder's path."""
        folders: dict[str, list[str]] = {}
        for sha in shas:
            if SHA256_RE.fullmatch(sha):
                folders.setdefault(os.path.join(self.root, sha[:2]), []).append(f"{sha}.jpg")
        return folders

    def remove(self, shas: list[str]) -> int:
        """Unlink the files of these images (not sha256: skipped); how many were there."""
        return sum(
            self.remove_from(folder, names) for folder, names in self.by_folder(shas).items()
        )

    @staticmethod
    def remove_from(folder: str, names: list[str]) -> int:
        """Unlink these files of one folder (named relative to the folder's descriptor,
        which spares the kernel the walk from the root for each); how many were there."""
        try:
            descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except FileNotFoundError:
            return 0  # no folder, so none of its files
        removed = 0
        try:
            for name in names:
                try:
                    os.unlink(name, dir_fd=descriptor)
                except FileNotFoundError:
                    continue
                removed += 1
        finally:
            os.close(descriptor)
        return removed

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).exists()

    def restore(self, files: Mapping[str, bytes]) -> None:
        """Write again any of these files (SHA-256 -> bytes) that is gone, as a purge
        that found it orphaned leaves it. Call it under the change-log lock, before
        committing reads that name the files."""
        for sha, data in files.items():
            if not os.path.exists(self._file(sha)[1]):
                self.write_named(sha, data)

    def _file(self, sha: str) -> tuple[str, str]:
        """The folder and the path of the file named `sha` (checked by the caller)."""
        folder = os.path.join(self.root, sha[:2])
        return folder, os.path.join(folder, f"{sha}.jpg")


class ImageWriter:
    """Files handed over batch by batch, written on the store's writer threads, or at
    once in the caller's thread when the store has none (the default).

    `add` queues files (SHA-256 -> bytes) and writes them (or hands them to the
    threads) a few at a time, so with threads the caller goes on (decoding the next
    reads, say) while they are written; `wait` returns once every file handed over
    is written and raises the first failure.
    """

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self._pending: list[tuple[str, bytes, bool]] = []
        self._queued: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._tasks: list[Future[None]] = []
        self._failure: BaseException | None = None

    @property
    def names(self) -> frozenset[str]:
        """The SHA-256 of every file handed over so far."""
        return frozenset(self._queued)

    def add(self, files: Mapping[str, bytes], *, hashed: bool = False) -> None:
        """Queue files by SHA-256. With `hashed` the caller vouches that each name is
        its bytes' SHA-256 (computed from them just before), so they are not hashed
        again; otherwise a name that is not the bytes' SHA-256 fails the write."""
        for sha, data in files.items():
            if sha in self._queued:
                continue
            self._queued.add(sha)
            self._pending.append((sha, data, hashed))
        if len(self._pending) >= WRITE_CHUNK_FILES:
            self.flush()

    def flush(self) -> None:
        """Write the queued files now, or hand them to the threads."""
        if not self._pending:
            return
        chunk, self._pending = self._pending, []
        if not self.store.writer_threads:
            try:
                self._write_chunk(chunk)
            except Exception as exc:  # raised by wait(), as from a thread
                self._failure = self._failure or exc
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.store.writer_threads, thread_name_prefix="image-store"
            )
        self._tasks.append(self._pool.submit(self._write_chunk, chunk))

    def _write_chunk(self, chunk: list[tuple[str, bytes, bool]]) -> None:
        failure: BaseException | None = None
        for sha, data, hashed in chunk:
            try:  # every file of the chunk is tried; the first failure is kept
                if hashed:
                    if not SHA256_RE.fullmatch(sha):
                        raise ValueError("an image is named by 64 lower-case hex characters")
                    self.store.write_named(sha, data)
                elif self.store.put(data) != sha:
                    raise ValueError("an image was announced under another SHA-256 than its own")
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def wait(self, *, raise_errors: bool = True) -> None:
        """Write what is queued and wait for every file; raise the first failure."""
        self.flush()
        tasks, self._tasks = self._tasks, []
        first, self._failure = self._failure, None
        for task in tasks:
            error = task.exception()
            first = first or error
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if first is not None and raise_errors:
            raise first


def image_visible_to(connection: Connection, *, sha256: str, user_id: int, now: datetime) -> bool:
    """Whether the image belongs to a read inside one of the user's active slices, of an
    open case the user is still assigned to."""
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
            case_access_condition(user_id),
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
