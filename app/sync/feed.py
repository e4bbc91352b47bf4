"""Pulling a slice's change feed into the cache, page by page.

Each page is checked against its checksum, then applied in one transaction
together with its cursor: a crash or a dropped connection resumes at the last
applied page, with no duplicate and no gap. A page that is cut off, dropped or
fails its checksum is fetched again with backoff, then reported; it is never
stored.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydantic import TypeAdapter, ValidationError

from app.cache.catalog import CatalogRepository
from app.cache.reads import CacheRow, ReadRepository, cache_row
from app.core.canonical import canonical_json, page_checksum
from app.core.records import SyncProgress
from app.core.schemas import FeedPage
from app.sync.client import CorruptResponse, HubClient, HubError, HubUnreachable

FETCH_ATTEMPTS = 5
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 3.0
_PAGE = TypeAdapter(FeedPage)


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
        """Pull pages until the feed's end; the next page is fetched while one is applied
        (at most one page waits, so memory stays bounded by the page size)."""
        applied = deleted = 0
        with (
            self.reads.bulk_sync(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed") as fetcher,
        ):
            cursor = self.catalog.slice_cursor(slice_id)
            ahead = fetcher.submit(self._fetch, slice_id, cursor=cursor, limit=page_size)
            while True:
                if cancel is not None and cancel.is_set():
                    ahead.cancel()
                    return FeedResult(applied, deleted, cancelled=True)
                page, rows = ahead.result()
                if page.has_more:
                    ahead = fetcher.submit(
                        self._fetch, slice_id, cursor=page.next_cursor, limit=page_size
                    )
                result = self.reads.apply_rows(
                    slice_id=slice_id,
                    rows=rows,
                    tombstones=page.tombstones,
                    next_cursor=page.next_cursor,
                    complete=not page.has_more,
                )
                applied += result.upserted
                deleted += result.deleted
                if progress is not None:
                    progress(SyncProgress(slice_id, applied, estimated, deleted))
                if not page.has_more:
                    return FeedResult(applied, deleted, cancelled=False)

    def _fetch(
        self, slice_id: str, *, cursor: str | None, limit: int
    ) -> tuple[FeedPage, list[CacheRow]]:
        """One page, parsed, checked and put in the cache's row form (on the fetching thread).

        A dropped connection, a cut-off body or a page that fails its checksum is
        fetched again with backoff; after FETCH_ATTEMPTS the last problem is raised.
        Nothing from a bad page is ever returned.
        """
        problem: HubError = CorruptResponse("The hub's change feed could not be read.")
        for attempt in range(FETCH_ATTEMPTS):
            if attempt:
                time.sleep(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1)))
            try:
                body = self.client.changes(slice_id, cursor=cursor, limit=limit)
            except (HubUnreachable, CorruptResponse) as exc:
                problem = exc
                continue
            try:
                page = _PAGE.validate_json(body)
            except ValidationError as exc:
                problem = CorruptResponse(
                    "The hub sent a change-feed page that is not JSON (it was cut off or damaged)."
                    if any(error["type"] == "json_invalid" for error in exc.errors())
                    else "The hub sent reads Platedesk cannot read; the page was not stored."
                )
                continue
            if not checksum_matches(body, page):
                problem = CorruptResponse(
                    f"The hub's change feed failed its checksum {FETCH_ATTEMPTS} times in a "
                    "row; nothing from those pages was stored. Try the sync again later and "
                    "tell your administrator if it persists."
                )
                continue
            return page, [cache_row(read) for read in page.reads]
        raise problem


def checksum_matches(body: bytes, page: FeedPage) -> bool:
    """Whether the page's reads and tombstones are those its checksum covers.

    The checksum is page_checksum: SHA-256 over the canonical JSON of
    {"reads": ..., "tombstones": ...}. The hub sends that canonical JSON as is, so
    when the body is exactly `{"slice_id":..,` + those bytes + `,"next_cursor":..}`,
    hashing the bytes as received is the same check without encoding the page again.
    A body in any other (equivalent) form is checked the long way.
    """
    head = b'{"slice_id":' + canonical_json(page.slice_id) + b","
    tail = (
        b',"next_cursor":'
        + canonical_json(page.next_cursor)
        + (b',"has_more":true' if page.has_more else b',"has_more":false')
        + b',"checksum":'
        + canonical_json(page.checksum)
        + b"}"
    )
    if body.startswith(head) and body.endswith(tail) and len(body) > len(head) + len(tail):
        covered = body[len(head) : len(body) - len(tail)]
        if hashlib.sha256(b"{" + covered + b"}").hexdigest() == page.checksum:
            return True
    try:
        raw = json.loads(body)
    except ValueError:
        return False
    if not isinstance(raw, dict):
        return False
    return page_checksum(raw.get("reads", []), raw.get("tombstones", [])) == page.checksum
