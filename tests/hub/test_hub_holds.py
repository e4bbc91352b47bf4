"""Evidence holds: who may propose, place, confirm and release; every action audited."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.db.tables import audit_events
from hub.holds import CUSTODY_ONLY
from tests.hub.hub_support import CASE, OTHER_CASE, HubFixture


def _post_holds(hub: HubFixture, username: str, read_ids: list[str], case: str = CASE) -> Any:
    return hub.client.post(
        "/api/v1/holds",
        json={"case_number": case, "read_ids": read_ids, "note": "seen at the scene"},
        headers=hub.headers(username),
    )


def _act(hub: HubFixture, username: str, hold_id: str, action: str) -> Any:
    return hub.client.post(f"/api/v1/holds/{hold_id}/{action}", headers=hub.headers(username))


def test_detective_proposes_custodians_confirm_and_release(hub: HubFixture) -> None:
    detective = hub.headers("detective")
    body = hub.slice_body(camera_ids=["CAM-001"])
    assert hub.client.post("/api/v1/slices", json=body, headers=detective).status_code == 201
    mine = next(row for row in hub.reads if row["camera_id"] == "CAM-001")
    outside = next(row for row in hub.reads if row["camera_id"] == "CAM-002")

    reply = _post_holds(hub, "detective", [mine["read_id"]])
    assert reply.status_code == 201, reply.text
    (proposal,) = reply.json()
    assert proposal["status"] == "proposed"
    assert proposal["confirmed_by"] is None
    refused = _post_holds(hub, "detective", [outside["read_id"]])
    assert refused.status_code == 403
    assert "outside your slices" in refused.json()["detail"]
    assert _post_holds(hub, "detective", [mine["read_id"]]).status_code == 409

    for action in ("confirm", "release"):
        reply = _act(hub, "detective", proposal["hold_id"], action)
        assert reply.status_code == 403
        assert reply.json()["detail"] == CUSTODY_ONLY
        assert _act(hub, "admin", proposal["hold_id"], action).status_code == 403

    confirmed = _act(hub, "technician", proposal["hold_id"], "confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["confirmed_by"] == "technician"
    assert _act(hub, "supervisor", proposal["hold_id"], "confirm").status_code == 409
    released = _act(hub, "supervisor", proposal["hold_id"], "release")
    assert released.json()["status"] == "released"
    assert _act(hub, "technician", proposal["hold_id"], "release").status_code == 409

    # Custodians place holds confirmed directly, on any read at the hub.
    reply = _post_holds(hub, "technician", [outside["read_id"], mine["read_id"]])
    assert reply.status_code == 201, reply.text
    assert [hold["status"] for hold in reply.json()] == ["confirmed", "confirmed"]
    listed = hub.client.get("/api/v1/holds", params={"case_number": CASE}, headers=detective)
    assert listed.status_code == 200
    assert sorted(hold["status"] for hold in listed.json()) == [
        "confirmed",
        "confirmed",
        "released",
    ]
    with hub.database.read() as connection:
        actions = list(
            connection.execute(
                sa.select(audit_events.c.action)
                .where(audit_events.c.action.like("hold.%"))
                .order_by(audit_events.c.row_id)
            ).scalars()
        )
    assert actions == ["hold.propose", "hold.confirm", "hold.release", "hold.place"]


def test_refusals(hub: HubFixture) -> None:
    read_id = hub.reads[0]["read_id"]
    # The detective is not assigned to OTHER_CASE.
    assert _post_holds(hub, "detective", [read_id], OTHER_CASE).status_code == 403
    listed = hub.client.get(
        "/api/v1/holds", params={"case_number": OTHER_CASE}, headers=hub.headers("detective")
    )
    assert listed.status_code == 403
    # Assigned, but without a slice holding the read.
    assert _post_holds(hub, "detective2", [read_id]).status_code == 403
    assert _post_holds(hub, "admin", [read_id]).status_code == 403
    assert _post_holds(hub, "technician", ["f" * 32]).status_code == 404
    assert _post_holds(hub, "technician", ["not-a-read"]).status_code == 422
    assert _post_holds(hub, "technician", [read_id], "2026-123456").status_code == 404
    assert _post_holds(hub, "technician", [read_id], "no case").status_code == 422
    assert _act(hub, "technician", "no-such-hold", "confirm").status_code == 404
