"""Image fetch: only images of reads in the caller's active slices."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa

from hub.db.tables import audit_events
from tests.hub.hub_support import HubFixture


def test_image_fetch(hub: HubFixture) -> None:
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
