"""The change feed: paging, checksums, cursors, tombstones, expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from app.core.canonical import page_checksum
from app.core.plates import parse_pattern
from app.core.policy import SLICE_LIFETIME
from app.core.schemas import FeedPage
from hub.reads import delete_read, insert_reads
from tests.hub.hub_support import HubFixture


def _slice(hub: HubFixture, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    reply = hub.client.post("/api/v1/slices", json=hub.slice_body(**overrides), headers=headers)
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


def _pull(
    hub: HubFixture, headers: dict[str, str], slice_id: str, cursor: str | None = None
) -> tuple[list[dict[str, Any]], list[str], str, int]:
    reads: list[dict[str, Any]] = []
    tombstones: list[str] = []
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        reply = hub.client.get(f"/api/v1/slices/{slice_id}/changes", params=params, headers=headers)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        FeedPage.model_validate(page)
        assert page["checksum"] == page_checksum(page["reads"], page["tombstones"])
        reads += page["reads"]
        tombstones += page["tombstones"]
        cursor = page["next_cursor"]
        pages += 1
        if not page["has_more"]:
            assert cursor is not None
            return reads, tombstones, cursor, pages


def test_pages_cover_the_window_exactly(hub: HubFixture) -> None:
    headers = hub.headers()
    created = _slice(hub, headers)
    reads, tombstones, _cursor, pages = _pull(hub, headers, created["slice_id"])
    ids = [read["read_id"] for read in reads]
    assert len(ids) == len(set(ids))
    start = hub.clock.now - timedelta(days=2)
    expected = {r["read_id"] for r in hub.reads if start <= r["captured_at"] < hub.clock.now}
    assert set(ids) == expected
    assert pages == len(expected) // 100 + 1
    assert tombstones == []
    sample = next(read for read in reads if read["read_id"] == hub.reads[0]["read_id"])
    assert sample["latitude"] == 41.14
    assert sample["features"] == ["roof rack"]


def test_pattern_and_camera_filter(hub: HubFixture) -> None:
    headers = hub.headers()
    created = _slice(hub, headers, plate_pattern="7K2*", camera_ids=["CAM-002"])
    reads, _tombstones, _cursor, _pages = _pull(hub, headers, created["slice_id"])
    pattern = parse_pattern("7K2*")
    assert reads
    assert all(pattern.matches(r["plate"]) and r["camera_id"] == "CAM-002" for r in reads)
    assert len(reads) == created["estimated_reads"]


def test_tombstone_after_delete(hub: HubFixture) -> None:
    headers = hub.headers()
    created = _slice(hub, headers)
    _reads, _tombstones, cursor, _pages = _pull(hub, headers, created["slice_id"])
    victim = hub.reads[0]["read_id"]
    with hub.database.write() as connection:
        assert delete_read(connection, victim, now=hub.clock.now)
        assert not delete_read(connection, victim, now=hub.clock.now)
    reads, tombstones, _cursor, _pages = _pull(hub, headers, created["slice_id"], cursor)
    assert reads == []
    assert tombstones == [victim]


def test_bad_cursors(hub: HubFixture) -> None:
    headers = hub.headers()
    first = _slice(hub, headers)
    second = _slice(hub, headers)
    page = hub.client.get(
        f"/api/v1/slices/{first['slice_id']}/changes", params={"limit": 5}, headers=headers
    ).json()
    cursor = page["next_cursor"]
    body, mac = cursor.split(".")
    tampered = body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac
    for bad, slice_id in ((tampered, first["slice_id"]), (cursor, second["slice_id"])):
        reply = hub.client.get(
            f"/api/v1/slices/{slice_id}/changes", params={"cursor": bad}, headers=headers
        )
        assert reply.status_code == 400
        assert reply.json()["detail"] == (
            "This sync cursor is not valid for this slice; start the sync again."
        )


def test_only_the_owner_and_only_while_active(hub: HubFixture) -> None:
    created = _slice(hub, hub.headers())
    url = f"/api/v1/slices/{created['slice_id']}/changes"
    assert hub.client.get(url, headers=hub.headers("detective2")).status_code == 404
    hub.clock.advance(SLICE_LIFETIME + timedelta(seconds=1))
    assert hub.client.get(url, headers=hub.headers()).status_code == 410


def test_awkward_values_keep_their_checksum(hub: HubFixture) -> None:
    """The feed writes each read's JSON itself: text that JSON escapes, non-ASCII text,
    floats that need 17 digits and times without a fraction come out as canonical JSON."""
    read_id = uuid.uuid4().hex
    captured_at = (hub.clock.now - timedelta(hours=1)).replace(microsecond=0)
    awkward = 'Say "hi" \\ back\tslash \u00e9\u6f22 \u2028 </script>\x01'
    with hub.database.write() as connection:
        insert_reads(
            connection,
            [
                {
                    "read_id": read_id, "plate": "QUOTE1", "state": "WY",
                    "confidence": 0.1 + 0.2, "captured_at": captured_at,
                    "camera_id": "CAM-001", "direction": "NB", "make": awkward,
                    "model": "F\u00e9-150", "color": "white\n", "body_type": "",
                    "features": ["roof \"rack\"", "\u00e9t\u00e9"], "image_sha256": "0" * 64,
                    "image_size": 1, "crop_sha256": "1" * 64, "crop_size": 2,
                }
            ],
            now=hub.clock.now,
        )  # fmt: skip
    headers = hub.headers()
    created = _slice(hub, headers)
    reads, _tombstones, _cursor, _pages = _pull(hub, headers, created["slice_id"])
    read = next(read for read in reads if read["read_id"] == read_id)
    assert read["make"] == awkward
    assert read["features"] == ['roof "rack"', "\u00e9t\u00e9"]
    assert read["confidence"] == 0.1 + 0.2
    assert read["captured_at"] == captured_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (read["image_size"], read["crop_size"], read["color"]) == (1, 2, "white\n")
