"""Evidence holds: who may propose, place, confirm and release; every action audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from hub.db.tables import audit_events
from hub.holds import CUSTODY_ONLY, NOT_YOUR_HOLD, SUPERVISOR_ONLY
from tests.hub.flag_support import set_unit
from tests.hub.hub_support import CASE, OTHER_CASE, PASSWORD, HubFixture, assign


def _post_holds(hub: HubFixture, username: str, read_ids: list[str], case: str = CASE) -> Any:
    return hub.client.post(
        "/api/v1/holds",
        json={"case_number": case, "read_ids": read_ids, "note": "seen at the scene"},
        headers=hub.headers(username),
    )


def _act(hub: HubFixture, username: str, hold_id: str, action: str) -> Any:
    body = {"reason": "case disposed, evidence returned"} if action == "release" else None
    return hub.client.post(
        f"/api/v1/holds/{hold_id}/{action}", json=body, headers=hub.headers(username)
    )


def test_detective_proposes_custodians_confirm_and_release(hub: HubFixture) -> None:
    # The technician is assigned to the case; the supervisor supervises the unit
    # that works it (the detectives' unit).
    assign(hub, "technician", CASE)
    for username in ("detective", "supervisor"):
        set_unit(hub, username, "Robbery")
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
        assert reply.json()["detail"] == (CUSTODY_ONLY if action == "confirm" else SUPERVISOR_ONLY)
        assert _act(hub, "admin", proposal["hold_id"], action).status_code == 403

    confirmed = _act(hub, "technician", proposal["hold_id"], "confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["confirmed_by"] == "technician"
    assert _act(hub, "supervisor", proposal["hold_id"], "confirm").status_code == 409
    released = _act(hub, "supervisor", proposal["hold_id"], "release")
    assert released.json()["status"] == "released"
    assert released.json()["release_reason"] == "case disposed, evidence returned"
    assert _act(hub, "supervisor", proposal["hold_id"], "release").status_code == 409

    # Custodians place holds confirmed directly, on any read at the hub, for their cases.
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
    assign(hub, "technician", CASE)
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
    # Digits of another script are no case number (a `\\d` would take them).
    fullwidth = CASE.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    reply = _post_holds(hub, "technician", [read_id], fullwidth)
    assert reply.status_code == 422, reply.text
    assert "not a case number" in reply.json()["detail"]
    assert _act(hub, "technician", "no-such-hold", "confirm").status_code == 404


def _statuses(hub: HubFixture, username: str, case: str = CASE) -> Any:
    return hub.client.get(
        "/api/v1/holds", params={"case_number": case}, headers=hub.headers(username)
    )


def test_custody_is_tied_to_the_case(hub: HubFixture) -> None:
    """A custodian who does not handle the case (not assigned, not the supervisor of
    its unit) neither lists, places, confirms nor releases its holds."""
    set_unit(hub, "detective", "Robbery")
    read_ids = [row["read_id"] for row in hub.reads[:3]]
    assign(hub, "technician", CASE)
    placed = _post_holds(hub, "technician", read_ids)
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()[0]["hold_id"]

    # An evidence technician of another unit, assigned to another case only.
    reply = hub.client.post(
        "/api/v1/admin/users",
        json={
            "username": "technician2",
            "display_name": "Other unit's technician",
            "role": "evidence_technician",
            "password": PASSWORD,
            "training_valid_until": (hub.clock.now.date() + timedelta(days=365)).isoformat(),
            "unit": "Burglary",
        },
        headers=hub.headers("admin"),
    )
    assert reply.status_code == 201, reply.text
    hub.totp["technician2"] = reply.json()["totp_secret"]
    assign(hub, "technician2", OTHER_CASE)
    # A supervisor with no unit, then of another unit, assigned to nothing.
    for unit in (None, "Burglary"):
        set_unit(hub, "supervisor", unit)
        for outsider in ("technician2", "supervisor"):
            listed = _statuses(hub, outsider)
            assert listed.status_code == 403, listed.text
            assert f"not assigned to case {CASE}" in listed.json()["detail"]
            custody = hub.client.get(
                "/api/v1/packets/custody",
                params={"case_number": CASE},
                headers=hub.headers(outsider),
            )
            assert custody.status_code == 403, custody.text
            for action in ("release", "confirm"):
                reply = _act(hub, outsider, hold_id, action)
                assert reply.status_code == 403, reply.text
                only_supervisors = action == "release" and outsider == "technician2"
                expected = SUPERVISOR_ONLY if only_supervisors else NOT_YOUR_HOLD
                assert reply.json()["detail"] == expected
            assert _post_holds(hub, outsider, [hub.reads[5]["read_id"]]).status_code == 403
    assert [hold["status"] for hold in _statuses(hub, "technician").json()] == ["confirmed"] * 3
    with hub.database.read() as connection:
        releases = connection.execute(
            sa.select(sa.func.count())
            .select_from(audit_events)
            .where(audit_events.c.action == "hold.release")
        ).scalar_one()
    assert releases == 0

    # The supervisor of the unit that works the case handles it without an assignment.
    set_unit(hub, "supervisor", "Robbery")
    assert _statuses(hub, "supervisor").status_code == 200
    released = _act(hub, "supervisor", hold_id, "release")
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "released"
