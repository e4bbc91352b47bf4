"""Images in bulk (POST /images:batch): only the caller's images, in the order asked,
each checked by the workstation against its SHA-256; a corrupt one is refused and
fetched again, and one corrupt twice is named in the message."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from app.core.image_batch import MAX_IMAGES, MEDIA_TYPE, frames
from app.sync.client import CorruptResponse, HubClient
from app.sync.images import FetchedBatch, ImagePipeline, fetch_batch, fetch_images
from hub.db.tables import audit_events
from tests.hub.hub_support import HubFixture

URL = "/api/v1/images:batch"


def _open_slice(hub: HubFixture, headers: dict[str, str]) -> None:
    window = {
        "time_from": (hub.clock.now - timedelta(hours=1)).isoformat(),
        "time_to": hub.clock.now.isoformat(),
    }
    reply = hub.client.post("/api/v1/slices", json=hub.slice_body(**window), headers=headers)
    assert reply.status_code == 201, reply.text


def test_a_batch_gives_the_callers_images_in_the_order_asked(store_hub: HubFixture) -> None:
    """Either store (the data folder, an object store)."""
    hub = store_hub
    headers = hub.headers()
    inside = hub.reads[0]  # 10 minutes ago: in the slice
    outside = hub.reads[-1]  # about 41 hours ago: not
    _open_slice(hub, headers)
    asked = [inside["crop_sha256"], outside["image_sha256"], inside["image_sha256"]]

    reply = hub.client.post(URL, json={"sha256": [*asked, asked[0]]}, headers=headers)

    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == MEDIA_TYPE
    answers = list(frames(reply.content))
    assert [sha for sha, _data in answers] == asked  # each once, in order
    given = {sha: data for sha, data in answers if data is not None}
    assert set(given) == {inside["crop_sha256"], inside["image_sha256"]}
    assert all(hashlib.sha256(data).hexdigest() == sha for sha, data in given.items())
    with hub.database.read() as connection:
        refs = (
            connection.execute(
                sa.select(audit_events.c.object_refs).where(audit_events.c.action == "image.fetch")
            )
            .scalars()
            .all()
        )
    assert len(refs) == 1  # one event for the batch, naming the images given
    assert outside["image_sha256"] not in refs[0]
    assert inside["image_sha256"] in refs[0]

    other = hub.client.post(URL, json={"sha256": asked}, headers=hub.headers("detective2"))
    assert [data for _sha, data in frames(other.content)] == [None, None, None]
    too_many = hub.client.post(URL, json={"sha256": ["a" * 64] * (MAX_IMAGES + 1)}, headers=headers)
    assert too_many.status_code == 422
    assert hub.client.post(URL, json={"sha256": ["nope"]}, headers=headers).status_code == 422


class _Corrupting(httpx.BaseTransport):
    """The hub's own transport, flipping one byte of the image it names in the first
    `times` batch replies that hold it (a link or a proxy that damages data)."""

    def __init__(self, inner: httpx.BaseTransport, sha: str, times: int) -> None:
        self.inner, self.sha, self.times = inner, sha, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith(":batch") or self.times == 0:
            return response
        body = bytearray(response.read())
        at = body.find(self.sha.encode())
        if at < 0:
            return response
        self.times -= 1
        body[at + 64 + 4 + 10] ^= 0xFF  # inside the JPEG, past the frame's header
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(body))


def _client(hub: HubFixture, sha: str, times: int) -> HubClient:
    transport = _Corrupting(hub.client._transport, sha, times)
    client = HubClient("http://localhost", transport=transport)
    client.access_token = hub.headers()["Authorization"].removeprefix("Bearer ")
    return client


def test_a_corrupt_image_is_refused_and_fetched_again(hub: HubFixture) -> None:
    inside = hub.reads[0]
    _open_slice(hub, hub.headers())
    wanted = [inside["crop_sha256"], inside["image_sha256"]]

    once = fetch_batch(_client(hub, inside["image_sha256"], times=1), wanted)
    assert set(once.images) == set(wanted)
    assert all(hashlib.sha256(data).hexdigest() == sha for sha, data in once.images.items())

    kept: list[FetchedBatch] = []
    with pytest.raises(CorruptResponse, match=inside["image_sha256"]) as refused:
        fetch_images(
            _client(hub, inside["image_sha256"], times=2), wanted, kept.append, batch_size=1
        )
    assert "was not kept" in str(refused.value)
    assert [list(batch.images) for batch in kept] == [[inside["crop_sha256"]]]  # kept before


def test_plate_crops_come_before_scenes(hub: HubFixture) -> None:
    """The images a sync queues travel crops first (what a reviewer looks at first),
    whatever order they were queued in."""
    _open_slice(hub, hub.headers())
    inside = [
        read for read in hub.reads if read["captured_at"] > hub.clock.now - timedelta(hours=1)
    ]
    assert len(inside) >= 2
    crops = [read["crop_sha256"] for read in inside[:2]]
    scenes = [read["image_sha256"] for read in inside[:2]]
    kept: list[list[str]] = []
    pipeline = ImagePipeline(
        _client(hub, "f" * 64, times=0),
        lambda batch: kept.append(sorted(batch.images)),
        batch_size=2,
    )
    pipeline.add(scenes=scenes[:1])
    pipeline.add(crops=crops, scenes=scenes[1:])
    assert pipeline.finish() == 4
    assert kept[0] == sorted(crops)
    assert sorted(sha for batch in kept[1:] for sha in batch) == sorted(scenes)
