"""The image store in an S3 API (SeaweedFS on loopback): ingest writes objects, the
purge deletes them in batches, `init --image-store` records the bucket, and a store
that does not answer gives ingest a 503 with nothing recorded. (The image route and
the purge's race with ingest run on both stores: test_hub_images, test_retention_purge.)"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.config import HubSettings
from hub.db.tables import read_changes, reads
from hub.images import S3_DELETE_BATCH, S3ImageStore, open_image_store, s3_client
from tests.hub.hub_support import HubFixture, ingest_body, real_jpeg

URL = "/api/v1/ingest/reads"
BATCH_URL = "/api/v1/ingest/reads:batch"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _store(hub: HubFixture) -> S3ImageStore:
    store = open_image_store(hub.settings)
    assert isinstance(store, S3ImageStore)
    return store


def _count(hub: HubFixture, table: sa.Table) -> int:
    with hub.database.read() as connection:
        count: int = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    return count


def test_ingest_writes_the_images_as_objects(s3_hub: HubFixture) -> None:
    hub = s3_hub
    store = _store(hub)
    headers = _auth(hub.feed_token())
    scene, crop = real_jpeg(501), real_jpeg(502, (20, 40))
    body = ingest_body(hub.clock.now, image=scene, crop_jpeg=base64.b64encode(crop).decode())
    reply = hub.client.post(URL, json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    batch = [ingest_body(hub.clock.now, image=real_jpeg(510 + n)) for n in range(3)]
    answer = hub.client.post(BATCH_URL, json=batch, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == 3

    assert store.read(created["image_sha256"]) == scene
    assert store.read(created["crop_sha256"]) == crop
    for item in answer.json()["results"]:
        assert hashlib.sha256(store.read(item["image_sha256"])).hexdigest() == item["image_sha256"]
    assert not hub.settings.images_dir.exists()  # nothing on the hub's own disk


def test_a_store_that_is_down_gets_ingest_a_503_and_nothing_is_recorded(
    s3_hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = s3_hub
    live = hub.client.app.state.hub.images  # type: ignore[attr-defined]
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed}")
    hub.client.app.state.hub.images = S3ImageStore(  # type: ignore[attr-defined]
        live.bucket, live.prefix, client=s3_client()
    )
    headers = _auth(hub.feed_token())
    reads_before, changes_before = _count(hub, reads), _count(hub, read_changes)
    one = ingest_body(hub.clock.now, image=real_jpeg(520))
    batch = [ingest_body(hub.clock.now, image=real_jpeg(521 + n)) for n in range(3)]

    for url, body in ((URL, one), (BATCH_URL, batch)):
        reply = hub.client.post(url, json=body, headers=headers)
        assert reply.status_code == 503, reply.text
        detail = reply.json()["detail"]
        assert f"The image store {live.name} is unavailable" in detail
        assert "AWS_ENDPOINT_URL" in detail
        assert "Traceback" not in detail
    assert (_count(hub, reads), _count(hub, read_changes)) == (reads_before, changes_before)

    hub.client.app.state.hub.images = live  # the store is back: the camera sends again
    assert hub.client.post(URL, json=one, headers=headers).status_code == 201
    again = hub.client.post(BATCH_URL, json=batch, headers=headers)
    assert again.json()["created"] == 3
    assert _count(hub, reads) == reads_before + 4
    assert live.read(again.json()["results"][0]["image_sha256"]) == real_jpeg(521)


def test_the_image_route_answers_503_when_the_store_is_down(
    s3_hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = s3_hub
    headers = hub.headers()
    assert (
        hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=headers).status_code == 201
    )
    sha = hub.reads[0]["image_sha256"]
    assert hub.client.get(f"/api/v1/images/{sha}", headers=headers).status_code == 200
    live = hub.client.app.state.hub.images  # type: ignore[attr-defined]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed}")
    hub.client.app.state.hub.images = S3ImageStore(  # type: ignore[attr-defined]
        live.bucket, live.prefix, client=s3_client()
    )
    reply = hub.client.get(f"/api/v1/images/{sha}", headers=headers)
    assert reply.status_code == 503
    assert "is unavailable" in reply.json()["detail"]


def test_remove_deletes_in_batches_of_at_most_a_thousand_keys(
    s3_store_url: str, tmp_path: Path
) -> None:
    store = open_image_store(HubSettings(data_dir=tmp_path, image_store=s3_store_url))
    assert isinstance(store, S3ImageStore)
    shas = [
        hashlib.sha256(f"image {n}".encode()).hexdigest() for n in range(2 * S3_DELETE_BATCH + 5)
    ]
    kept = store.put(b"kept")
    writer = store.writer()
    writer.add({sha: b"x" for sha in shas}, hashed=True)
    writer.wait()
    requests: list[int] = []

    def count_keys(params: dict[str, Any], **_kwargs: Any) -> None:
        requests.append(len(params["Delete"]["Objects"]))

    store.client.meta.events.register("provide-client-params.s3.DeleteObjects", count_keys)

    assert store.remove([*shas, "not a sha256"]) == len(shas)

    assert sorted(requests) == [5, S3_DELETE_BATCH, S3_DELETE_BATCH]
    assert store.missing(shas) == set(shas)
    assert store.exists(kept)


def _hub_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_init_records_the_image_store_and_refuses_another(
    s3_store_url: str, tmp_path: Path
) -> None:

    data = tmp_path / "data"
    env = dict(os.environ)
    done = _hub_cli("init", "--data", str(data), "--image-store", s3_store_url, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["image_store"] == s3_store_url
    settings = HubSettings(data_dir=data)  # as `serve` builds them: the file says where
    assert settings.image_store_url == s3_store_url
    assert isinstance(open_image_store(settings), S3ImageStore)
    again = _hub_cli("init", "--data", str(data), env=env)  # a later init keeps it
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["image_store"] == s3_store_url
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[key] not in "".join(
            path.read_text(errors="replace")
            for path in data.rglob("*")
            if path.is_file() and path.suffix != ".sqlite3"
        )

    other = _hub_cli("init", "--data", str(data), "--image-store", s3_store_url + "-other", env=env)
    assert other.returncode == 1
    assert f"This hub keeps its images in {s3_store_url}" in other.stderr
    bad = _hub_cli("init", "--data", str(tmp_path / "bad"), "--image-store", "s3:/x", env=env)
    assert bad.returncode == 1
    assert "is not of the form s3://BUCKET" in bad.stderr
    missing = _hub_cli(
        "init",
        "--data",
        str(tmp_path / "nobucket"),
        "--image-store",
        "s3://no-such-bucket",
        env=env,
    )
    assert missing.returncode == 1
    assert "The image store s3://no-such-bucket is unavailable" in missing.stderr
    wrong_key = dict(env, AWS_SECRET_ACCESS_KEY="not-the-secret")
    refused = _hub_cli(
        "init", "--data", str(tmp_path / "refused"), "--image-store", s3_store_url, env=wrong_key
    )
    assert refused.returncode == 1
    assert f"The image store {s3_store_url} is unavailable" in refused.stderr
    assert "403" in refused.stderr
    assert "not-the-secret" not in refused.stderr
    assert not (tmp_path / "refused" / "image-store.url").exists()
    assert "Traceback" not in missing.stderr + other.stderr + bad.stderr + refused.stderr
