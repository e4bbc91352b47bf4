"""Camera ingest: feed tokens, idempotency, image checks, body limits."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from app.core.canonical import utc_iso
from hub.db.tables import read_changes, reads
from hub.db.types import sqlite_text
from tests.hub.hub_support import HubFixture, ingest_body, real_jpeg, stored_count

URL = "/api/v1/ingest/reads"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_ingest_is_idempotent(hub: HubFixture) -> None:
    headers = _auth(hub.feed_token())
    body = ingest_body(hub.clock.now)
    first = hub.client.post(URL, json=body, headers=headers)
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["status"] == "created"
    assert created["image_sha256"] == hashlib.sha256(real_jpeg(1)).hexdigest()
    read_id = created["read_id"]
    with hub.database.read() as connection:
        stored = connection.execute(sa.select(reads).where(reads.c.read_id == read_id)).one()
        changes = connection.execute(
            sa.select(read_changes.c.op).where(read_changes.c.read_id == read_id)
        ).all()
    assert stored.plate == "7K2LMV"
    assert [change.op for change in changes] == ["upsert"]
    assert hub.settings.images_dir.joinpath(
        created["image_sha256"][:2], created["image_sha256"] + ".jpg"
    ).read_bytes() == real_jpeg(1)

    again = hub.client.post(URL, json=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    changed = dict(body, plate="7K2LMW")
    conflict = hub.client.post(URL, json=changed, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["detail"].startswith(
        f"A different read is already stored under read_id {read_id}"
    )
    with hub.database.read() as connection:
        count = connection.execute(
            sa.select(sa.func.count())
            .select_from(read_changes)
            .where(read_changes.c.read_id == read_id)
        ).scalar_one()
    assert count == 1


def test_bad_images_refused(hub: HubFixture) -> None:
    headers = _auth(hub.feed_token())
    good = real_jpeg(3)
    cases = {
        "not base64!": "image_jpeg is not valid base64.",
        base64.b64encode(b"GIF89a" + good).decode(): (
            "image_jpeg is not a JPEG: it does not start with the SOI marker."
        ),
        base64.b64encode(good[: len(good) // 2]).decode(): (
            "image_jpeg is truncated: the JPEG does not end with the EOI marker."
        ),
        base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9").decode(): (
            "image_jpeg is damaged: a segment runs past the end of the data."
        ),
    }
    for encoded, detail in cases.items():
        body = ingest_body(hub.clock.now, image_jpeg=encoded)
        reply = hub.client.post(URL, json=body, headers=headers)
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"] == detail
    with hub.database.read() as connection:
        assert (
            connection.execute(
                sa.select(sa.func.count()).select_from(reads).where(reads.c.plate == "7K2LMV")
            ).scalar_one()
            == 0
        )


def test_feed_tokens_and_cameras(hub: HubFixture) -> None:
    bound = _auth(hub.feed_token("CAM-002"))
    other_camera = hub.client.post(URL, json=ingest_body(hub.clock.now), headers=bound)
    assert other_camera.status_code == 403
    assert "CAM-002" in other_camera.json()["detail"]
    unknown = hub.client.post(
        URL, json=ingest_body(hub.clock.now, camera_id="CAM-404"), headers=_auth(hub.feed_token())
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("Unknown camera CAM-404")
    user_token = hub.client.post(URL, json=ingest_body(hub.clock.now), headers=hub.headers())
    assert user_token.status_code == 401
    assert "camera feed token" in user_token.json()["detail"]


def test_revoked_feed_refused(hub: HubFixture) -> None:
    reply = hub.client.post(
        "/api/v1/admin/feeds", json={"name": "gate"}, headers=hub.headers("admin")
    )
    feed = reply.json()
    revoke = hub.client.post(
        f"/api/v1/admin/feeds/{feed['feed_id']}/revoke", headers=hub.headers("admin")
    )
    assert revoke.status_code == 204
    refused = hub.client.post(URL, json=ingest_body(hub.clock.now), headers=_auth(feed["token"]))
    assert refused.status_code == 403
    assert "revoked" in refused.json()["detail"]


def test_oversize_body_refused(hub: HubFixture) -> None:
    headers = _auth(hub.feed_token())
    limit = hub.settings.max_ingest_bytes
    body = ingest_body(hub.clock.now, image_jpeg="A" * (limit + 10))
    reply = hub.client.post(URL, json=body, headers=headers)
    assert reply.status_code == 413
    assert reply.json()["detail"] == (
        "The request body is over the 16 MiB limit of this route; send less at once."
    )


BATCH_URL = "/api/v1/ingest/reads:batch"


def test_batch_outcomes_per_read(hub: HubFixture) -> None:
    headers = _auth(hub.feed_token())
    stored = ingest_body(hub.clock.now)
    assert hub.client.post(URL, json=stored, headers=headers).status_code == 201
    good = ingest_body(hub.clock.now, image=real_jpeg(7))
    truncated = ingest_body(
        hub.clock.now, image_jpeg=base64.b64encode(real_jpeg(8)[:200] + b"\xff\xd9").decode()
    )
    damaged = ingest_body(
        hub.clock.now,
        image_jpeg=base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9").decode(),
    )
    cut = ingest_body(hub.clock.now, image_jpeg=base64.b64encode(real_jpeg(9)[:300]).decode())
    conflict = dict(stored, plate="7K2LMW")
    unknown = ingest_body(hub.clock.now, camera_id="CAM-404")
    batch = [good, stored, conflict, truncated, damaged, cut, unknown, {"plate": 5}, good]
    reply = hub.client.post(BATCH_URL, json=batch, headers=headers)
    assert reply.status_code == 200, reply.text
    outcome = reply.json()
    statuses = [item["status"] for item in outcome["results"]]
    assert statuses == [
        "created", "duplicate", "conflict", "refused", "refused", "refused", "refused",
        "refused", "duplicate",
    ]  # fmt: skip
    assert [item["index"] for item in outcome["results"]] == list(range(len(batch)))
    assert (outcome["created"], outcome["duplicate"], outcome["conflict"]) == (1, 2, 1)
    assert outcome["refused"] == 5
    reasons = [item["reason"] for item in outcome["results"]]
    assert reasons[2].startswith("A different read is already stored under read_id")
    assert reasons[3].startswith("image_jpeg is damaged")
    assert reasons[4] == "image_jpeg is damaged: a segment runs past the end of the data."
    assert reasons[5] == "image_jpeg is truncated: the JPEG does not end with the EOI marker."
    assert reasons[6].startswith("Unknown camera CAM-404")
    assert reasons[7].startswith("read_id")
    assert outcome["results"][0]["image_sha256"] == hashlib.sha256(real_jpeg(7)).hexdigest()
    refused_ids = [body["read_id"] for body in (truncated, damaged, cut, unknown)]
    assert stored_count(hub, reads, refused_ids) == 0
    assert stored_count(hub, reads, [good["read_id"]]) == 1
    assert stored_count(hub, read_changes, [good["read_id"], stored["read_id"]]) == 2
    with hub.database.read() as connection:
        plate = connection.execute(
            sa.select(reads.c.plate).where(reads.c.read_id == stored["read_id"].replace("-", ""))
        ).scalar_one()
    assert plate == "7K2LMV"
    sha = hashlib.sha256(real_jpeg(8)[:200] + b"\xff\xd9").hexdigest()
    assert not hub.settings.images_dir.joinpath(sha[:2], sha + ".jpg").exists()

    again = hub.client.post(BATCH_URL, json=batch, headers=headers).json()
    assert [item["status"] for item in again["results"]] == [
        "duplicate", "duplicate", "conflict", "refused", "refused", "refused", "refused",
        "refused", "duplicate",
    ]  # fmt: skip
    assert stored_count(hub, read_changes, [good["read_id"], stored["read_id"]]) == 2


def test_batch_tokens_and_limits(hub: HubFixture) -> None:
    body = [ingest_body(hub.clock.now)]
    anonymous = hub.client.post(BATCH_URL, json=body)
    assert anonymous.status_code == 401
    user_token = hub.client.post(BATCH_URL, json=body, headers=hub.headers())
    assert user_token.status_code == 401
    wrong = hub.client.post(BATCH_URL, json=body, headers=_auth("not-a-feed-token"))
    assert wrong.status_code == 401
    bound = hub.client.post(BATCH_URL, json=body, headers=_auth(hub.feed_token("CAM-002")))
    assert bound.status_code == 200
    assert bound.json()["results"][0]["status"] == "refused"
    assert "CAM-002" in bound.json()["results"][0]["reason"]
    reply = hub.client.post(
        "/api/v1/admin/feeds", json={"name": "gate"}, headers=hub.headers("admin")
    )
    feed = reply.json()
    hub.client.post(f"/api/v1/admin/feeds/{feed['feed_id']}/revoke", headers=hub.headers("admin"))
    revoked = hub.client.post(BATCH_URL, json=body, headers=_auth(feed["token"]))
    assert revoked.status_code == 403
    too_many = hub.client.post(BATCH_URL, json=[{}] * 501, headers=_auth(hub.feed_token()))
    assert too_many.status_code == 413
    assert too_many.json()["detail"].startswith("A batch holds at most 500 reads")
    assert stored_count(hub, reads, [body[0]["read_id"]]) == 0


def test_base64_refused_strictly(hub: HubFixture) -> None:
    """Whitespace, bad padding, data after the padding, other alphabets and non-ASCII
    are refused, naming the field, on both routes; nothing is stored."""
    headers = _auth(hub.feed_token())
    files_before = sorted(hub.settings.images_dir.rglob("*"))
    good = base64.b64encode(real_jpeg(4)).decode()
    bad = [
        good[:40] + "\n" + good[40:],  # a line break, as MIME encoders add
        good[:40] + " " + good[40:],
        good.rstrip("=") if good.endswith("=") else good[:-1],  # padding missing
        good + "A",  # a length that is not a multiple of 4
        good + "====",  # padding past the end
        good + "QUJD",  # data after the padding
        good.replace("+", "-").replace("/", "_") + "-_",  # the URL-safe alphabet
        good[:40] + "é" + good[40:],
    ]
    for field in ("image_jpeg", "crop_jpeg"):
        for encoded in bad:
            body = ingest_body(hub.clock.now, **{field: encoded})
            reply = hub.client.post(URL, json=body, headers=headers)
            assert reply.status_code == 422, (field, encoded[-8:], reply.text)
            assert reply.json()["detail"] == f"{field} is not valid base64."
        batch = [ingest_body(hub.clock.now, **{field: encoded}) for encoded in bad]
        outcome = hub.client.post(BATCH_URL, json=batch, headers=headers).json()
        assert outcome["refused"] == len(bad)
        assert {item["reason"] for item in outcome["results"]} == {f"{field} is not valid base64."}
    assert sorted(hub.settings.images_dir.rglob("*")) == files_before


def test_batch_stores_every_image_whole(hub: HubFixture) -> None:
    """Many reads in one batch: the files (written on the store's threads) are all there,
    whole, before the reply; a resend stores nothing new."""
    headers = _auth(hub.feed_token())
    images = [real_jpeg(100 + index, (64, 96)) for index in range(24)]
    batch = [ingest_body(hub.clock.now, image=image) for image in images]
    batch.append(ingest_body(hub.clock.now, image=images[0]))  # the same scene twice
    outcome = hub.client.post(BATCH_URL, json=batch, headers=headers).json()
    assert outcome["created"] == len(batch)
    for item, image in zip(outcome["results"], [*images, images[0]], strict=True):
        sha = item["image_sha256"]
        assert sha == hashlib.sha256(image).hexdigest()
        assert hub.settings.images_dir.joinpath(sha[:2], sha + ".jpg").read_bytes() == image
    stored = sorted(path.name for path in hub.settings.images_dir.rglob("*") if path.is_file())
    assert all(name.endswith(".jpg") and len(name) == 68 for name in stored)  # no temp files
    again = hub.client.post(BATCH_URL, json=batch, headers=headers).json()
    assert again["duplicate"] == len(batch)
    assert (
        sorted(path.name for path in hub.settings.images_dir.rglob("*") if path.is_file()) == stored
    )


@given(
    moment=st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.timezones()
    )
)
def test_sqlite_time_text_is_utc_iso(moment: datetime) -> None:
    assert sqlite_text(moment) == utc_iso(moment)
    utc = moment.astimezone(UTC)
    assert sqlite_text(utc) == utc_iso(utc)


# --- Damaged JPEGs and capture times (both routes: JSON here, binary in test_ingest_binary)


def _frame_header_at(data: bytes) -> int:
    """The offset of a JPEG's SOF0 marker."""
    pos = 2
    while data[pos + 1] not in (0xC0, 0xC1, 0xC2):
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return pos


def _scan_data_at(data: bytes) -> int:
    """Where the entropy-coded data of a JPEG's first scan begins."""
    pos = 2
    while data[pos + 1] != 0xDA:
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")


def cut_in_half(good: bytes) -> bytes:
    """The scene cut in half, an EOI marker appended: "whole" to a marker walk."""
    return good[: len(good) // 2] + b"\xff\xd9"


def random_entropy(good: bytes, seed: int = 7) -> bytes:
    """The headers of a real JPEG, then random scan data (no 0xFF: no markers) and EOI."""
    noise = random.Random(seed).randbytes(len(good) - _scan_data_at(good))
    return good[: _scan_data_at(good)] + noise.replace(b"\xff", b"\xfe") + b"\xff\xd9"


def claimed_size(good: bytes, height: int, width: int) -> bytes:
    """The JPEG with its frame header claiming another size."""
    data = bytearray(good)
    pos = _frame_header_at(good)
    data[pos + 5 : pos + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def damaged_jpegs() -> dict[str, tuple[bytes, str]]:
    """Damaged scenes that pass the SOI and EOI checks: (bytes, the refusal's start)."""
    good = real_jpeg(41, (96, 128))
    return {
        "cut in half": (cut_in_half(good), "image_jpeg is damaged: Corrupt JPEG data"),
        "random entropy data": (random_entropy(good), "image_jpeg is damaged: Corrupt JPEG data"),
        "65535x65535": (
            claimed_size(good, 65535, 65535),
            "image_jpeg is damaged: its frame header cannot be read",
        ),
        "20000x20000": (
            claimed_size(good, 20000, 20000),
            "image_jpeg claims 20000x20000 pixels, over the limit of 50 megapixels",
        ),
    }


def test_damaged_jpegs_are_refused_on_the_json_routes(hub: HubFixture) -> None:
    headers = _auth(hub.feed_token())
    damaged = damaged_jpegs()
    bodies = [ingest_body(hub.clock.now, image=data) for data, _ in damaged.values()]
    for body, (_data, reason) in zip(bodies, damaged.values(), strict=True):
        reply = hub.client.post(URL, json=body, headers=headers)
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"].startswith(reason)
    good = ingest_body(hub.clock.now, image=real_jpeg(42, (96, 128)))
    reply = hub.client.post(BATCH_URL, json=[*bodies, good], headers=headers)
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [result["status"] for result in results] == ["refused"] * len(bodies) + ["created"]
    for result, (_data, reason) in zip(results, damaged.values(), strict=False):
        assert result["reason"].startswith(reason)
    assert stored_count(hub, reads, [body["read_id"] for body in bodies]) == 0
    for data, _reason in damaged.values():
        sha = hashlib.sha256(data).hexdigest()
        assert not hub.settings.images_dir.joinpath(sha[:2], f"{sha}.jpg").exists()


def capture_times(now: datetime) -> dict[str, tuple[datetime, str | None]]:
    """Capture times and the start of their refusal (None: accepted)."""
    return {
        "1970": (datetime(1970, 1, 1, tzinfo=UTC), "captured_at 1970-01-01T00:00:00"),
        "two days ahead": (now + timedelta(days=2), "captured_at"),
        "2099": (datetime(2099, 6, 1, tzinfo=UTC), "captured_at 2099-06-01T00:00:00"),
        "31 days ago": (now - timedelta(days=31), "captured_at"),
        "4 minutes ahead": (now + timedelta(minutes=4), None),
        "29 days ago": (now - timedelta(days=29), None),
    }


def test_capture_times_outside_reason_are_refused(hub: HubFixture) -> None:
    headers = _auth(hub.feed_token())
    times = capture_times(hub.clock.now)
    for label, (moment, refusal) in times.items():
        body = ingest_body(hub.clock.now, captured_at=moment.isoformat())
        reply = hub.client.post(URL, json=body, headers=headers)
        if refusal is None:
            assert reply.status_code == 201, (label, reply.text)
            continue
        assert reply.status_code == 422, (label, reply.text)
        detail = reply.json()["detail"]
        assert detail.startswith(refusal), (label, detail)
        ahead = moment > hub.clock.now
        assert ("clock skew" in detail) if ahead else ("30-day retention period" in detail)
    batch = [
        ingest_body(hub.clock.now, captured_at=moment.isoformat()) for moment, _ in times.values()
    ]
    reply = hub.client.post(BATCH_URL, json=batch, headers=headers)
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    expected = ["created" if refusal is None else "refused" for _, refusal in times.values()]
    assert [result["status"] for result in results] == expected
    with hub.database.read() as connection:
        latest = connection.execute(sa.select(sa.func.max(reads.c.captured_at))).scalar_one()
    assert latest <= hub.clock.now + timedelta(minutes=5)  # nothing from the future


def test_the_clock_skew_allowance_is_a_setting(hub: HubFixture) -> None:
    hub.settings.capture_clock_skew_seconds = 60
    body = ingest_body(
        hub.clock.now, captured_at=(hub.clock.now + timedelta(minutes=4)).isoformat()
    )
    reply = hub.client.post(URL, json=body, headers=_auth(hub.feed_token()))
    assert reply.status_code == 422, reply.text
    assert "more than the 1 minute allowed for clock skew" in reply.json()["detail"]
