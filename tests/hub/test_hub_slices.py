"""Slice requests: validation, refusals, audit."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hub.db.tables import audit_events
from tests.hub.hub_support import CLOSED_CASE, OTHER_CASE, HubFixture


def test_slice_ok(hub: HubFixture) -> None:
    reply = hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=hub.headers())
    assert reply.status_code == 201, reply.text
    created = reply.json()
    in_window = [r for r in hub.reads if r["captured_at"] >= hub.clock.now - timedelta(days=2)]
    assert created["estimated_reads"] == len(in_window) > 0
    assert created["status"] == "active"
    listed = hub.client.get("/api/v1/slices", headers=hub.headers()).json()
    assert [s["slice_id"] for s in listed] == [created["slice_id"]]


def test_pattern_and_cameras_narrow_the_estimate(hub: HubFixture) -> None:
    body = hub.slice_body(plate_pattern="*7k2*", camera_ids=["CAM-002"])
    created = hub.client.post("/api/v1/slices", json=body, headers=hub.headers()).json()
    expected = [
        r
        for r in hub.reads
        if "7K2" in r["plate"]
        and r["camera_id"] == "CAM-002"
        and r["captured_at"] >= hub.clock.now - timedelta(days=2)
    ]
    assert created["estimated_reads"] == len(expected) > 0
    assert created["plate_pattern"] == "*7K2*"


def test_prohibited_use_refused_and_audited(hub: HubFixture) -> None:
    body = hub.slice_body(justification="Check immigration status of the vehicle owner please")
    reply = hub.client.post("/api/v1/slices", json=body, headers=hub.headers())
    assert reply.status_code == 422
    assert reply.json()["detail"] == (
        "Refused by policy: ALPR data may not be used for immigration enforcement."
    )
    with hub.database.read() as connection:
        refused = connection.execute(
            sa.select(audit_events).where(audit_events.c.action == "slice.refused")
        ).all()
    assert len(refused) == 1
    assert refused[0].username == "detective"
    assert "immigration" in refused[0].params


def test_unknown_case_unassigned_and_closed(hub: HubFixture) -> None:
    headers = hub.headers()
    missing = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(case_number="2026-123456"), headers=headers
    )
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("No case 2026-123456")
    unassigned = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(case_number=OTHER_CASE), headers=headers
    )
    assert unassigned.status_code == 403
    closed = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(case_number=CLOSED_CASE), headers=headers
    )
    assert closed.status_code == 409
    badly_formed = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(case_number="A-1"), headers=headers
    )
    assert badly_formed.status_code == 422


def test_window_checks(hub: HubFixture) -> None:
    headers = hub.headers()
    now = hub.clock.now
    old = hub.slice_body(time_from=(now - timedelta(days=31)).isoformat())
    reply = hub.client.post("/api/v1/slices", json=old, headers=headers)
    assert reply.status_code == 422
    assert "retention" in reply.json()["detail"]
    empty = hub.slice_body(time_from=now.isoformat(), time_to=now.isoformat())
    assert hub.client.post("/api/v1/slices", json=empty, headers=headers).status_code == 422
    future = hub.slice_body(time_to=(now + timedelta(days=2)).isoformat())
    assert hub.client.post("/api/v1/slices", json=future, headers=headers).status_code == 422
    naive = hub.slice_body(time_from="2026-01-01T00:00:00")
    assert hub.client.post("/api/v1/slices", json=naive, headers=headers).status_code == 422


def test_bad_pattern_names_position(hub: HubFixture) -> None:
    body = hub.slice_body(plate_pattern="7K%2")
    reply = hub.client.post("/api/v1/slices", json=body, headers=hub.headers())
    assert reply.status_code == 422
    assert "position 3" in reply.json()["detail"]


def test_unknown_camera(hub: HubFixture) -> None:
    body = hub.slice_body(camera_ids=["CAM-404"])
    reply = hub.client.post("/api/v1/slices", json=body, headers=hub.headers())
    assert reply.status_code == 422
    assert "CAM-404" in reply.json()["detail"]
