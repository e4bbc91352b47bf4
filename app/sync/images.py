"""Images in bulk for offline work: batches of up to MAX_IMAGES images a request
(POST /images:batch), several requests in flight at once, each image checked against
its SHA-256 before it is kept.

The requests run on a few threads (HTTP only); the caller's thread keeps what comes
back (its one cache connection), in the order the batches were asked for, while the
next batches travel. An image whose bytes do not match its SHA-256 is refused and
asked for once more, alone; one that is still wrong stops the fetch with a message
naming it (what was kept stays kept).
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from app.core.image_batch import MAX_IMAGES
from app.sync.client import CorruptResponse

FETCH_THREADS = 4  # requests in flight: enough to hide a round trip and the hub's reads


class ImageSource(Protocol):
    def images(self, shas: Sequence[str]) -> list[tuple[str, bytes | None]]: ...


@dataclass
class FetchedBatch:
    """One batch's outcome: the images that matched their SHA-256, and those the hub
    would not give (not in this user's slices or alerts any more, or purged)."""

    images: dict[str, bytes] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)


def _matching(sha: str, data: bytes) -> bool:
    return hashlib.sha256(data).hexdigest() == sha


def fetch_batch(source: ImageSource, shas: Sequence[str]) -> FetchedBatch:
    """One batch, each image checked; a mismatched one fetched once more, alone."""
    batch = FetchedBatch()
    corrupt: list[str] = []
    for sha, data in _answers(source, shas):
        if data is None:
            batch.absent.append(sha)
        elif _matching(sha, data):
            batch.images[sha] = data
        else:
            corrupt.append(sha)
    for sha in corrupt:
        ((_sha, data),) = _answers(source, [sha])
        if data is None:
            batch.absent.append(sha)
        elif _matching(sha, data):
            batch.images[sha] = data
        else:
            raise CorruptResponse(
                f"Image {sha} from the hub did not match its fingerprint (SHA-256) twice; "
                "it was not kept. The images fetched before it are kept: sync again, and "
                "if it fails again tell the hub's administrator which image it names."
            )
    return batch


def _answers(source: ImageSource, shas: Sequence[str]) -> list[tuple[str, bytes | None]]:
    answers = source.images(shas)
    if [sha for sha, _data in answers] != list(shas):
        raise CorruptResponse(
            "The hub answered a batch of images with other images than those asked for; "
            "none of it was kept. Sync again."
        )
    return answers


def batches(shas: Iterable[str], size: int = MAX_IMAGES) -> Iterator[list[str]]:
    chunk: list[str] = []
    for sha in shas:
        chunk.append(sha)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def fetch_images(
    source: ImageSource,
    shas: Iterable[str],
    keep: Callable[[FetchedBatch], None],
    *,
    cancel: threading.Event | None = None,
    threads: int = FETCH_THREADS,
    batch_size: int = MAX_IMAGES,
) -> int:
    """Fetch these images in batches, `threads` requests in flight, and hand each
    batch to `keep` on this thread, in order; how many images were kept. Stops
    asking once `cancel` is set (the batches in flight are still kept)."""
    kept = 0
    pending: deque[Future[FetchedBatch]] = deque()
    todo = batches(shas, batch_size)
    with ThreadPoolExecutor(threads, thread_name_prefix="image-fetch") as pool:
        try:
            while True:
                while len(pending) < threads and not (cancel is not None and cancel.is_set()):
                    chunk = next(todo, None)
                    if chunk is None:
                        break
                    pending.append(pool.submit(fetch_batch, source, chunk))
                if not pending:
                    return kept
                batch = pending.popleft().result()
                keep(batch)
                kept += len(batch.images)
        finally:
            for future in pending:
                future.cancel()


class ImagePipeline:
    """Images fetched while the caller does other work on its thread (applying feed
    pages): `add` queues images (crops ahead of scenes) and keeps up to `threads`
    requests in flight; `drain` keeps the batches that arrived, on the caller's
    thread, in the order asked; `finish` fetches the rest and waits for them."""

    def __init__(
        self,
        source: ImageSource,
        keep: Callable[[FetchedBatch], None],
        *,
        cancel: threading.Event | None = None,
        threads: int = FETCH_THREADS,
        batch_size: int = MAX_IMAGES,
    ) -> None:
        self._source = source
        self._keep = keep
        self._cancel = cancel
        self._threads = threads
        self._batch_size = batch_size
        self._crops: deque[str] = deque()
        self._scenes: deque[str] = deque()
        self._queued: set[str] = set()
        self._pending: deque[Future[FetchedBatch]] = deque()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="image-fetch")
        self.kept = 0

    def add(self, *, crops: Iterable[str] = (), scenes: Iterable[str] = ()) -> None:
        for queue, shas in ((self._crops, crops), (self._scenes, scenes)):
            for sha in shas:
                if sha not in self._queued:
                    self._queued.add(sha)
                    queue.append(sha)
        self._submit(whole_batches_only=True)

    def drain(self) -> None:
        """Keep every batch that has arrived (without waiting), then ask for more."""
        while self._pending and self._pending[0].done():
            self._keep_next()
        self._submit(whole_batches_only=True)

    def finish(self) -> int:
        """Fetch what is queued and keep everything; how many images were kept."""
        try:
            while True:
                self._submit(whole_batches_only=False)
                if not self._pending:
                    return self.kept
                self._keep_next()
        finally:
            self.close()

    def close(self) -> None:
        """Stop: what is in flight is dropped (its images stay missing)."""
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)

    def _keep_next(self) -> None:
        batch = self._pending.popleft().result()
        self._keep(batch)
        self.kept += len(batch.images)

    def _submit(self, *, whole_batches_only: bool) -> None:
        while len(self._pending) < self._threads:
            if self._cancel is not None and self._cancel.is_set():
                return
            waiting = len(self._crops) + len(self._scenes)
            if waiting == 0 or (whole_batches_only and waiting < self._batch_size):
                return
            chunk: list[str] = []
            for queue in (self._crops, self._scenes):  # crops first
                while queue and len(chunk) < self._batch_size:
                    chunk.append(queue.popleft())
            self._pending.append(self._pool.submit(fetch_batch, self._source, chunk))
