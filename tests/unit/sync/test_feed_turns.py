"""A sync shares the cache with the window's own writes: a search's journal entry made
while a slice syncs (the desk file) waits for none of it; a write to the mirror (a slice
saved, an image kept) gets its turn after the part of a page in progress, not after the
whole sync; and the sync still ends with every read and the last cursor."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cache.catalog import CatalogRepository
from app.cache.connection import MIRROR, Database, open_encrypted
from app.cache.journal import Actor, JournalRepository
from app.cache.migrations import migrate
from app.cache.reads import ReadRepository
from app.core.canonical import canonical_json, page_checksum
from app.core.records import SyncProgress
from app.sync import feed
from app.sync.client import HubClient
from app.sync.feed import APPLY_PART, FeedPuller
from tests.unit.cache.cache_support import day_slice
from tests.unit.cache.test_batched_writes import until

PAGE = APPLY_PART + 50  # two parts a page
PAGES = 4
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def _read(n: int) -> dict[str, Any]:
    return {
        "read_id": f"r{n:06d}", "plate": f"ABC{n:04d}", "state": "WY", "confidence": 0.9,
        "captured_at": "2026-11-20T08:00:00.120Z", "camera_id": "CAM-001",
        "latitude": 41.14, "longitude": -104.82, "direction": "N", "make": "Ford",
        "model": "F-150", "color": "white", "body_type": "pickup", "features": [],
        "image_sha256": f"{n:064x}", "image_size": 100,
        "crop_sha256": f"{n + 10**6:064x}", "crop_size": 10,
    }  # fmt: skip


def _page(number: int) -> bytes:
    """Feed page `number` exactly as the hub sends it (canonical JSON, checksum)."""
    reads = [_read(number * PAGE + n) for n in range(PAGE)]
    covered = canonical_json({"reads": reads, "tombstones": []}).decode()
    has_more = "true" if number + 1 < PAGES else "false"
    return (
        f'{{"slice_id":"s1",{covered[1:-1]},"next_cursor":"c{number + 1}",'
        f'"has_more":{has_more},"checksum":"{page_checksum(reads, [])}"}}'
    ).encode()


def _feed(request: httpx.Request) -> httpx.Response:
    cursor = request.url.params.get("cursor")
    number = int(cursor[1:]) if cursor else 0
    return httpx.Response(200, content=_page(number))


def _cache(tmp_path: Path) -> tuple[Database, Database, CatalogRepository]:
    """The sync's connection with slice s1 saved, the window's, and the sync's catalog."""
    key = os.urandom(32)
    syncing = open_encrypted(tmp_path / "cache.db", key)
    migrate(syncing)
    catalog = CatalogRepository(syncing)
    catalog.save_slice(
        day_slice(
            "s1", case_number="2026-000123", start=T0, estimated_reads=None, purpose="robbery"
        )
    )
    return syncing, open_encrypted(tmp_path / "cache.db", key), catalog


ACTOR = Actor("device-1", "detective", "session-1")


def _sync_whole(
    syncing: Database,
    window: Database,
    catalog: CatalogRepository,
    progress: Callable[[SyncProgress], None],
) -> None:
    """Pull slice s1's whole feed on `syncing`; the sync ends with every read and the
    last cursor, as the window sees them."""
    client = HubClient("https://hub.invalid", transport=httpx.MockTransport(_feed))
    try:
        puller = FeedPuller(client=client, reads=ReadRepository(syncing), catalog=catalog)
        result = puller.pull("s1", page_size=PAGE, estimated=PAGE * PAGES, progress=progress)
    finally:
        client.close()
    assert result.applied == result.added == PAGE * PAGES
    assert ReadRepository(window).count() == PAGE * PAGES
    assert catalog.slice_cursor("s1") == f"c{PAGES}"


def test_a_mirror_write_during_a_sync_waits_for_one_part_not_the_sync(tmp_path: Path) -> None:
    syncing, window, catalog = _cache(tmp_path)  # window: the window's thread's connection
    seen: list[int] = []

    def image_kept_with_its_view() -> None:
        with window.atomic():  # both files, as journaled(mirror=True)
            ReadRepository(window).put_image("f" * 64, b"jpeg")
            JournalRepository(window).append(ACTOR, "image.view", params={})
            seen.append(ReadRepository(window).count())  # what the sync had committed

    writer = threading.Thread(target=image_kept_with_its_view)

    def progress(report: SyncProgress) -> None:
        if report.applied == PAGE:  # after the first page: the view starts, and waits
            writer.start()
            until(lambda: syncing.gates[MIRROR].contended)

    try:
        _sync_whole(syncing, window, catalog, progress)
        writer.join()
        assert PAGE <= seen[0] < PAGE * PAGES  # the view went in mid-sync
        assert [row[0] for row in window.execute("SELECT action FROM journal")] == ["image.view"]
    finally:
        syncing.close()
        window.close()


def test_a_journal_entry_during_a_sync_waits_for_none_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry commits while the sync's transaction is open (held as long as no one
    waits for the mirror): it neither waited for a commit nor asked the sync for one."""
    monkeypatch.setattr(feed, "HOLD_S", 3600.0)
    syncing, window, catalog = _cache(tmp_path)
    seen: list[int] = []

    def search_journaled() -> None:
        JournalRepository(window).append(ACTOR, "search", params={"result_count": 0})
        seen.append(ReadRepository(window).count())

    def progress(report: SyncProgress) -> None:
        if report.applied == PAGE:
            assert syncing.in_transaction  # the first page holds the mirror's lock
            searcher = threading.Thread(target=search_journaled)
            searcher.start()
            searcher.join(timeout=10)
            assert seen == [0]  # done, before the sync committed anything
            assert syncing.in_transaction
            assert not syncing.gates[MIRROR].contended

    try:
        _sync_whole(syncing, window, catalog, progress)
        assert [row[0] for row in window.execute("SELECT action FROM journal")] == ["search"]
    finally:
        syncing.close()
        window.close()
