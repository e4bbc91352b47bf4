"""Image fetch: only images of reads in the caller's active slices. The image store:
whole files only, each stored once."""

from __future__ import annotations

import errno
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.db.tables import audit_events
from hub.images import FolderImageStore, ImageStore, S3ImageStore
from tests.hub.hub_support import HubFixture


def test_image_fetch(store_hub: HubFixture) -> None:
    """The route serves images from either store (the data folder, an object store)."""
    hub = store_hub
    headers = hub.headers()
    inside = hub.reads[0]  # 10 minutes ago
    outside = hub.reads[-1]  # about 41 hours ago
    window = {
        "time_from": (hub.clock.now - timedelta(hours=1)).isoformat(),
        "time_to": hub.clock.now.isoformat(),
    }
    before = hub.client.get(f"/api/v1/images/{inside['image_sha256']}", headers=headers)
    assert before.status_code == 404
    reply = hub.client.post("/api/v1/slices", json=hub.slice_body(**window), headers=headers)
    assert reply.status_code == 201
    for key in ("image_sha256", "crop_sha256"):
        image = hub.client.get(f"/api/v1/images/{inside[key]}", headers=headers)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/jpeg"
        assert image.headers["x-content-sha256"] == inside[key]
        assert hashlib.sha256(image.content).hexdigest() == inside[key]
    elsewhere = hub.client.get(f"/api/v1/images/{outside['image_sha256']}", headers=headers)
    assert elsewhere.status_code == 404
    other_user = hub.client.get(
        f"/api/v1/images/{inside['image_sha256']}", headers=hub.headers("detective2")
    )
    assert other_user.status_code == 404
    assert hub.client.get("/api/v1/images/not-a-hash", headers=headers).status_code == 422
    with hub.database.read() as connection:
        fetched = connection.execute(
            sa.select(sa.func.count()).where(audit_events.c.action == "image.fetch")
        ).scalar_one()
    assert fetched == 2


# --- The content-addressed store ---------------------------------------------------


def _files(store: ImageStore) -> list[str]:
    """Every file or object of the store (temp files too), by its name under the root."""
    if isinstance(store, FolderImageStore):
        root = store.root
        return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    assert isinstance(store, S3ImageStore)
    listed = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
    return sorted(item["Key"][len(store.prefix) :] for item in listed.get("Contents", []))


def _name(data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"{sha[:2]}/{sha}.jpg"


@pytest.fixture
def folder_store(tmp_path: Path) -> FolderImageStore:
    return FolderImageStore(tmp_path / "images")


def test_put_stores_once_and_never_rewrites(image_store: ImageStore) -> None:
    store = image_store
    data = b"\xff\xd8\xff" + bytes(range(256)) * 40
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.read(sha) == data
    assert store.put(data) == sha
    assert store.read(sha) == data
    assert _files(store) == [_name(data)]  # no temp file left behind


def test_a_stored_file_is_never_rewritten(folder_store: FolderImageStore) -> None:
    data = b"\xff\xd8\xff" + bytes(range(256)) * 40
    sha = folder_store.put(data)
    first = os.stat(folder_store.path_of(sha))
    assert folder_store.put(data) == sha
    again = os.stat(folder_store.path_of(sha))
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)


def test_a_failed_write_leaves_no_file(
    folder_store: FolderImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = folder_store
    data = b"\xff\xd8\xff" + b"\x01" * 100_000
    real_write = os.write

    def write_half_then_fail(fd: int, chunk: bytes | memoryview) -> int:
        if len(chunk) < len(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, chunk[: len(chunk) // 2])

    monkeypatch.setattr(os, "write", write_half_then_fail)
    with pytest.raises(OSError, match="No space"):
        store.put(data)
    monkeypatch.undo()
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert _files(store) == []  # neither a partial file nor a temp file
    sha = store.put(data)  # the next try stores it whole
    assert store.read(sha) == data


def test_concurrent_puts_of_the_same_bytes(image_store: ImageStore) -> None:
    store = image_store
    data = b"\xff\xd8\xff" + b"\x02" * 200_000
    with ThreadPoolExecutor(max_workers=8) as pool:
        shas = list(pool.map(lambda _: store.put(data), range(32)))
    assert set(shas) == {hashlib.sha256(data).hexdigest()}
    assert store.read(shas[0]) == data
    assert _files(store) == [_name(data)]


def test_storing_writes_every_file_while_the_block_runs(image_store: ImageStore) -> None:
    store = image_store
    files = {hashlib.sha256(data).hexdigest(): data for data in (b"one", b"two", b"three")}
    with store.storing(files):
        pass
    assert all(store.read(sha) == data for sha, data in files.items())
    assert sorted(_files(store)) == sorted(_name(data) for data in files.values())
    with store.storing({}):
        pass

    later = {hashlib.sha256(b"four").hexdigest(): b"four"}
    with pytest.raises(RuntimeError, match="the transaction failed"), store.storing(later):
        raise RuntimeError("the transaction failed")
    assert store.read(next(iter(later))) == b"four"  # written whole all the same

    wrong = {hashlib.sha256(b"five").hexdigest(): b"not five"}
    with pytest.raises(ValueError, match="another SHA-256"), store.storing(wrong):
        pass
    assert not store.exists(next(iter(wrong)))
