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
