"""Pulling a slice's change feed into the cache, page by page.

Each page is checked against its checksum, then applied in one transaction
together with its cursor: a crash or a dropped connection resumes at the last
applied page, with no duplicate and no gap. A page that is cut off, dropped or
fails its checksum is fetched again with backoff, then reported; it is never
stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from app.cache.catalog import CatalogRepository
from app.cache.reads import ReadRepository
from app.core.canonical import page_checksum
from app.core.records import SyncProgress
from app.core.schemas import ReadPublic
from app.sync.client import CorruptResponse, HubClient, HubError, HubUnreachable

FETCH_ATTEMPTS = 5
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 3.0
_READS = TypeAdapter(list[ReadPublic])


@dataclass(frozen=True)
class FeedResult:
    applied: int
    deleted: int
    cancelled: bool


class FeedPuller:
    def __init__(
        self, *, client: HubClient, reads: ReadRepository, catalog: CatalogRepository
    ) -> None:
        self.client = client
        self.reads = reads
        self.catalog = catalog

    def pull(
        self,
        slice_id: str,
        *,
        page_size: int,
        estimated: int,
        progress: Callable[[SyncProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> FeedResult:
        """Pull pages until the feed's end; the next page is fetched while one is applied."""
        applied = deleted = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed") as fetcher:
            cursor = self.catalog.slice_cursor(slice_id)
            ahead = fetcher.submit(self._fetch, slice_id, cursor=cursor, limit=page_size)
            while True:
                if cancel is not None and cancel.is_set():
                    ahead.cancel()
                    return FeedResult(applied, deleted, cancelled=True)
                page, reads = ahead.result()
                if page["has_more"]:
                    ahead = fetcher.submit(
                        self._fetch, slice_id, cursor=str(page["next_cursor"]), limit=page_size
                    )
                result = self.reads.apply_page(
                    slice_id=slice_id,
                    reads=reads,
                    tombstones=page["tombstones"],
                    next_cursor=str(page["next_cursor"]),
                    complete=not page["has_more"],
                )
                applied += result.upserted
                deleted += result.deleted
                if progress is not None:
                    progress(SyncProgress(slice_id, applied, estimated, deleted))
                if not page["has_more"]:
                    return FeedResult(applied, deleted, cancelled=False)

    def _fetch(
        self, slice_id: str, *, cursor: str | None, limit: int
    ) -> tuple[dict[str, Any], list[ReadPublic]]:
        """One page, checked and parsed (on the fetching thread).

        A dropped connection, a cut-off body or a page that fails its checksum is
        fetched again with backoff; after FETCH_ATTEMPTS the last problem is raised.
        Nothing from a bad page is ever returned.
        """
        problem: HubError = CorruptResponse("The hub's change feed could not be read.")
        for attempt in range(FETCH_ATTEMPTS):
            if attempt:
                time.sleep(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1)))
            try:
                page = self.client.changes(slice_id, cursor=cursor, limit=limit)
            except (HubUnreachable, CorruptResponse) as exc:
                problem = exc
                continue
            if not _well_formed(page) or page_checksum(
                page["reads"], page["tombstones"]
            ) != page.get("checksum"):
                problem = CorruptResponse(
                    f"The hub's change feed failed its checksum {FETCH_ATTEMPTS} times in a "
                    "row; nothing from those pages was stored. Try the sync again later and "
                    "tell your administrator if it persists."
                )
                continue
            try:
                return page, _READS.validate_python(page["reads"])
            except ValidationError:
                problem = CorruptResponse(
                    "The hub sent reads Platedesk cannot read; the page was not stored."
                )
        raise problem


def _well_formed(page: dict[str, Any]) -> bool:
    return (
        isinstance(page.get("reads"), list)
        and isinstance(page.get("tombstones"), list)
        and isinstance(page.get("next_cursor"), str)
        and isinstance(page.get("has_more"), bool)
    )
