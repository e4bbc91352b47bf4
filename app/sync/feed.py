"""Pulling a slice's change feed into the cache, page by page.

Each page is checked against its checksum, then applied; its cursor commits with
its last reads: a crash or a dropped connection resumes at the last applied page,
with no duplicate and no gap (a page's reads committed before its cursor are
applied again, which changes nothing). A page that is cut off, dropped or fails
its checksum is fetched again with backoff, then reported; it is never stored.

Pages are applied in few, large write transactions (BatchedWrites) on the cache's
mirror file: one commit per page was most of a bulk sync's time. The transaction is
committed as soon as another thread of the workstation waits to write the mirror
(an image kept, a slice requested: it waits for one part of a page, APPLY_PART
reads, and a commit), when it has been open HOLD_S, and before waiting on the
network for the next page. A search's journal entry writes the desk file and waits
for none of it.

The sync's commits skip their fsync and the WAL's checkpoints run on the sync's
thread after each commit, off the write lock (BatchedWrites' deferred_fsync, whose
docstring holds the durability argument): a power cut can take only the sync's
last pages, never an acknowledged journal entry, and the next sync fetches those
pages again from the cursor that survived with them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from app.cache.catalog import CatalogRepository
from app.cache.connection import BatchedWrites
from app.cache.reads import AppliedPage, ReadRepository
from app.core.records import SyncProgress
from app.sync.client import CorruptResponse, HubClient, HubError, HubUnreachable
from app.sync.page_parser import BAD_CHECKSUM, PageParser, ParsedPage

FETCH_ATTEMPTS = 5
BACKOFF_FIRST_S = 0.2
BACKOFF_MAX_S = 3.0
# How long the apply thread keeps one write transaction open across pages while
# nobody else waits to write the mirror (a waiter gets the lock after the part in
# progress). A commit costs about the same however many reads it holds (250-270 ms
# over 200,000 cached reads: it writes the leaf pages of the read id, plate and
# slice indexes that the reads' random keys touched, most of them either way), so
# longer transactions are faster: 200,000 reads synced at 0.45 of the raw insert
# holding 0.5 s, 0.65 holding 2 s (bench/bench_engine_sync.py, one session).
HOLD_S = 2.0
# How long it waits for the next page with the transaction still open; past that
# the link is the bottleneck, and it commits so that nobody waits on the network.
IDLE_HOLD_S = 0.02
# Reads applied between two looks at whether another writer waits.
APPLY_PART = 250


@dataclass(frozen=True)
class FeedResult:
    applied: int
    deleted: int
    cancelled: bool
    added: int = 0  # reads new to the slice (applied counts reads sent again too)


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
        (at most one page waits, so memory stays bounded by the page size).

        The first page is parsed on the fetching thread; when more follow, the rest
        are parsed in a process of their own (app.sync.page_parser), so a long sync
        does not hold the GIL the window's thread needs.

        `progress` is called with the write transaction possibly open: it must not
        wait for another thread's write to the cache (a queued signal is fine).
        """
        applied = deleted = added = 0
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed") as fetcher,
            PageParser() as parser,
            BatchedWrites(self.reads.db, hold_s=HOLD_S, deferred_fsync=True) as writes,
        ):
            cursor = self.catalog.slice_cursor(slice_id)
            ahead = fetcher.submit(self._fetch, parser, slice_id, cursor=cursor, limit=page_size)
            while True:
                if cancel is not None and cancel.is_set():
                    ahead.cancel()
                    return FeedResult(applied, deleted, cancelled=True, added=added)
                if not wait([ahead], timeout=IDLE_HOLD_S).done:
                    writes.release()
                page = ahead.result()
                if page.has_more:
                    parser.use_process()
                    ahead = fetcher.submit(
                        self._fetch, parser, slice_id, cursor=page.next_cursor, limit=page_size
                    )
                for part in self._apply(writes, slice_id, page):
                    applied += part.upserted
                    added += part.added
                    deleted += part.deleted
                if progress is not None:
                    progress(SyncProgress(slice_id, applied, estimated, deleted))
                if not page.has_more:
                    writes.release()
                    return FeedResult(applied, deleted, cancelled=False, added=added)

    def _apply(
        self, writes: BatchedWrites, slice_id: str, page: ParsedPage
    ) -> Iterator[AppliedPage]:
        """The page in parts of APPLY_PART reads, each a unit of `writes`: a writer that
        waits gets the lock after the part in progress, not the whole page. The cursor
        moves with the last part, tombstones included; every part is idempotent, so a
        crash between parts re-applies the page from its start and changes nothing."""
        starts = range(0, max(len(page.rows), 1), APPLY_PART)
        for start in starts:
            last = start == starts[-1]
            with writes.unit():
                yield self.reads.apply_rows(
                    slice_id=slice_id,
                    rows=page.rows[start : start + APPLY_PART],
                    tombstones=page.tombstones if last else [],
                    next_cursor=page.next_cursor if last else None,
                    complete=last and not page.has_more,
                )

    def _fetch(
        self, parser: PageParser, slice_id: str, *, cursor: str | None, limit: int
    ) -> ParsedPage:
        """One page, parsed, checked and put in the cache's row form (on the fetching
        thread, or in the parser's process).

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
            parsed = parser(body)
            if isinstance(parsed, ParsedPage):
                return parsed
            problem = CorruptResponse(
                f"The hub's change feed failed its checksum {FETCH_ATTEMPTS} times in a "
                "row; nothing from those pages was stored. Try the sync again later and "
                "tell your administrator if it persists."
                if parsed == BAD_CHECKSUM
                else parsed
            )
        raise problem
