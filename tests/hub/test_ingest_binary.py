"""Binary read batches (POST /ingest/reads:batch-binary): a JSON header, then the JPEGs
raw. The same outcomes as the JSON batch, the same checks on every JPEG, and a clear
422 for a body that cannot be split into its reads."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from typing import Any

import pytest
import sqlalchemy as sa

from app.core.schemas import READ_BATCH_MEDIA_TYPE
from hub.db.tables import read_changes, reads
from hub.errors import HubError
from hub.ingest import parse_read_batch
from hub.simulate.http_feed import binary_batch
from tests.hub.hub_support import HubFixture, ingest_body, real_jpeg, stored_count
from tests.hub.test_hub_ingest import capture_times, damaged_jpegs

BINARY_URL = "/api/v1/ingest/reads:batch-binary"
JSON_URL = "/api/v1/ingest/reads:batch"


def _read(hub: HubFixture, image: bytes, **overrides: Any) -> tuple[dict[str, Any], bytes, bytes]:
    """(JSON fields, scene, crop) of a new read."""
    body = ingest_body(hub.clock.now, image=image, **overrides)
    crop = base64.b64decode(body.pop("crop_jpeg"))
    del body["image_jpeg"]
    return body, image, crop


def _post(hub: HubFixture, content: bytes, token: str | None = None) -> Any:
    headers = {
        "Authorization": f"Bearer {token or hub.feed_token()}",
        "Content-Type": READ_BATCH_MEDIA_TYPE,
    }
    return hub.client.post(BINARY_URL, content=content, headers=headers)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_binary_batch_stores_reads_and_images_as_the_json_batch_does(hub: HubFixture) -> None:
    batch = [_read(hub, real_jpeg(500 + index)) for index in range(5)]
    reply = _post(hub, binary_batch(batch))
    assert reply.status_code == 200, reply.text
    outcome = reply.json()
    assert (outcome["created"], outcome["refused"]) == (5, 0)
    for result, (fields, image, crop) in zip(outcome["results"], batch, strict=True):
        assert result["read_id"] == fields["read_id"]
        assert result["image_sha256"] == _sha(image)
        assert result["crop_sha256"] == _sha(crop)
        for data in (image, crop):
            path = hub.settings.images_dir / _sha(data)[:2] / f"{_sha(data)}.jpg"
            assert path.read_bytes() == data
    read_ids = [fields["read_id"] for fields, _image, _crop in batch]
    assert stored_count(hub, reads, read_ids) == 5
    with hub.database.read() as connection:
        plate = connection.execute(
            sa.select(reads.c.plate).where(reads.c.read_id == read_ids[0])
        ).scalar_one()
    assert plate == "7K2LMV"

    # Idempotent by read id, across both formats: the same reads are duplicates.
    again = _post(hub, binary_batch(batch)).json()
    assert again["duplicate"] == 5
    as_json = [
        {
            **fields,
            "image_jpeg": base64.b64encode(image).decode(),
            "crop_jpeg": base64.b64encode(crop).decode(),
        }
        for fields, image, crop in batch
    ]
    headers = {"Authorization": f"Bearer {hub.feed_token()}"}
    assert hub.client.post(JSON_URL, json=as_json, headers=headers).json()["duplicate"] == 5
    changed = [(dict(batch[0][0], plate="7K2LMW"), batch[0][1], batch[0][2])]
    conflict = _post(hub, binary_batch(changed)).json()["results"][0]
    assert conflict["status"] == "conflict"
    assert conflict["reason"].startswith("A different read is already stored under read_id")
    with hub.database.read() as connection:
        changes = connection.execute(
            sa.select(sa.func.count())
            .select_from(read_changes)
            .where(read_changes.c.read_id.in_(read_ids))
        ).scalar_one()
    assert changes == 5


def test_bad_jpegs_in_a_binary_batch_are_refused_naming_the_read(hub: HubFixture) -> None:
    good = _read(hub, real_jpeg(520))
    whole = real_jpeg(521)
    truncated = _read(hub, whole[: len(whole) // 2])
    damaged = _read(hub, b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9")
    not_jpeg = _read(hub, b"GIF89a" + whole)
    fields, image, crop = _read(hub, real_jpeg(522))
    cut_crop = (fields, image, crop[:-40])
    empty = _read(hub, b"")
    batch = [good, truncated, damaged, not_jpeg, cut_crop, empty]
    reply = _post(hub, binary_batch(batch))
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [result["status"] for result in results] == ["created", *["refused"] * 5]
    assert [result["read_id"] for result in results] == [item[0]["read_id"] for item in batch]
    assert [result["reason"] for result in results[1:]] == [
        "image_jpeg is truncated: the JPEG does not end with the EOI marker.",
        "image_jpeg is damaged: a segment runs past the end of the data.",
        "image_jpeg is not a JPEG: it does not start with the SOI marker.",
        "crop_jpeg is truncated: the JPEG does not end with the EOI marker.",
        "image_jpeg is not a JPEG: it does not start with the SOI marker.",
    ]
    refused_ids = [item[0]["read_id"] for item in batch[1:]]
    assert stored_count(hub, reads, refused_ids) == 0
    assert stored_count(hub, reads, [good[0]["read_id"]]) == 1
    for _fields, image, crop in batch[1:]:
        for data in {image, crop} - {good[1], good[2]}:  # the crops are good's but one
            assert not hub.settings.images_dir.joinpath(
                _sha(data)[:2], f"{_sha(data)}.jpg"
            ).exists()


def test_invalid_reads_are_refused_one_by_one(hub: HubFixture) -> None:
    """A read with a bad field or camera is refused; the batch's other reads go in."""
    good = _read(hub, real_jpeg(530))
    no_plate = _read(hub, real_jpeg(531), plate="--")
    unknown = _read(hub, real_jpeg(532), camera_id="CAM-404")
    extra = _read(hub, real_jpeg(533))
    extra[0]["image_jpeg"] = "not here"
    outcome = _post(hub, binary_batch([good, no_plate, unknown, extra])).json()
    assert [item["status"] for item in outcome["results"]] == [
        "created", "refused", "refused", "refused",
    ]  # fmt: skip
    reasons = [item["reason"] for item in outcome["results"]]
    assert reasons[1] == "plate holds no letter or digit."
    assert reasons[2].startswith("Unknown camera CAM-404")
    assert reasons[3].startswith("image_jpeg: Extra inputs are not permitted")
    bound = _post(hub, binary_batch([_read(hub, real_jpeg(534))]), hub.feed_token("CAM-002"))
    assert "CAM-002" in bound.json()["results"][0]["reason"]


def _framed(header: bytes, tail: bytes = b"") -> bytes:
    return struct.pack(">I", len(header)) + header + tail


def test_a_body_that_cannot_be_split_is_refused_whole(hub: HubFixture) -> None:
    fields, image, crop = _read(hub, real_jpeg(540))
    whole = binary_batch([(fields, image, crop)])
    header = json.dumps([{**fields, "image_size": len(image), "crop_size": len(crop)}]).encode()
    no_size = json.dumps([{**fields, "crop_size": len(crop)}]).encode()
    bad_size = json.dumps([{**fields, "image_size": "12", "crop_size": len(crop)}]).encode()
    cases = {
        b"\x00\x00": "The body is not a read batch: it is shorter than its header length.",
        struct.pack(">I", 1000) + b"[]": (
            "The body is not a read batch: its header length (1000 bytes) runs past the end "
            "of the body."
        ),
        _framed(b"[{]"): "The read batch's header is not valid JSON.",
        _framed(b'\xff"'): "The read batch's header is not valid JSON.",
        _framed(b'{"reads": []}'): "The read batch's header is not a JSON array of reads.",
        _framed(no_size, image + crop): (
            "Read 0 of the batch has no valid image_size: every read gives the byte counts "
            "of its JPEGs, or the JPEGs after it cannot be found."
        ),
        _framed(bad_size, image + crop): (
            "Read 0 of the batch has no valid image_size: every read gives the byte counts "
            "of its JPEGs, or the JPEGs after it cannot be found."
        ),
        whole[:-1]: (
            f"The read batch is cut short: the JPEGs of read 0 run past the end of the body "
            f"({len(whole) - 1} bytes)."
        ),
        whole + b"\xff\xd9": (
            "The read batch has 2 bytes after the last read's JPEGs; the header's byte counts "
            "do not match the body."
        ),
    }
    for content, detail in cases.items():
        reply = _post(hub, content)
        assert reply.status_code == 422, (content[:16], reply.text)
        assert reply.json()["detail"] == detail
    assert _post(hub, _framed(header, image + crop)).json()["created"] == 1
    assert _post(hub, _framed(b"[]")).json()["results"] == []


def test_binary_batch_limits_and_tokens(hub: HubFixture) -> None:
    content = binary_batch([_read(hub, real_jpeg(550))])
    anonymous = hub.client.post(
        BINARY_URL, content=content, headers={"Content-Type": READ_BATCH_MEDIA_TYPE}
    )
    assert anonymous.status_code == 401
    user_token = hub.client.post(
        BINARY_URL,
        content=content,
        headers={**hub.headers(), "Content-Type": READ_BATCH_MEDIA_TYPE},
    )
    assert user_token.status_code == 401
    jpeg_type = hub.client.post(
        BINARY_URL,
        content=content,
        headers={"Authorization": f"Bearer {hub.feed_token()}", "Content-Type": "image/jpeg"},
    )
    assert jpeg_type.status_code == 415
    assert jpeg_type.json()["detail"].startswith(
        f"A binary read batch is sent as {READ_BATCH_MEDIA_TYPE}"
    )
    octets = hub.client.post(
        BINARY_URL,
        content=content,
        headers={
            "Authorization": f"Bearer {hub.feed_token()}",
            "Content-Type": "application/octet-stream",
        },
    )
    assert octets.json()["created"] == 1
    too_many = _post(hub, _framed(json.dumps([{}] * 501).encode()))
    assert too_many.status_code == 413
    assert too_many.json()["detail"].startswith("A batch holds at most 500 reads")
    limit = hub.settings.max_ingest_bytes
    oversize = _post(hub, _framed(b"[]", b"\x00" * limit))
    assert oversize.status_code == 413


def test_parse_read_batch_splits_what_binary_batch_joins() -> None:
    reads = [
        ({"read_id": str(index)}, b"scene" * index, b"crop" * (3 - index)) for index in range(3)
    ]
    items, jpegs = parse_read_batch(binary_batch(reads))
    assert [item["read_id"] for item in items] == ["0", "1", "2"]
    assert jpegs == [(image, crop) for _fields, image, crop in reads]
    assert [(item["image_size"], item["crop_size"]) for item in items] == [(0, 12), (5, 8), (10, 4)]
    with pytest.raises(HubError, match="cut short"):
        parse_read_batch(binary_batch(reads)[:-1])


def test_a_nul_in_the_headers_text_is_refused_as_in_a_json_body(hub: HubFixture) -> None:
    fields, image, crop = _read(hub, real_jpeg(700))
    fields["attributes"] = {**fields["attributes"], "model": "RAV\u00004"}
    reply = _post(hub, binary_batch([(fields, image, crop)]))
    assert reply.status_code == 422, reply.text
    assert "NUL character (U+0000) in the read batch's header" in reply.json()["detail"]
    assert stored_count(hub, reads, [fields["read_id"]]) == 0


def test_damaged_jpegs_and_bad_capture_times_are_refused_in_a_binary_batch(
    hub: HubFixture,
) -> None:
    damaged = damaged_jpegs()
    times = capture_times(hub.clock.now)
    batch = [_read(hub, data) for data, _ in damaged.values()]
    batch += [_read(hub, real_jpeg(530 + i), captured_at=moment.isoformat())
              for i, (moment, _) in enumerate(times.values())]  # fmt: skip
    reply = _post(hub, binary_batch(batch))
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    expected = [reason for _, reason in damaged.values()]
    expected += [refusal for _, refusal in times.values()]
    for result, refusal in zip(results, expected, strict=True):
        if refusal is None:
            assert result["status"] == "created", result
        else:
            assert result["status"] == "refused", result
            assert result["reason"].startswith(refusal), result
    refused = [item[0]["read_id"] for item, refusal in zip(batch, expected, strict=True) if refusal]
    assert stored_count(hub, reads, refused) == 0
