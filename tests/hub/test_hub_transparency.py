"""The public transparency report: its fields, what it counts, and what it never shows."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.canonical import parse_utc, utc_iso
from app.core.schemas import TransparencyPublic
from hub.db.tables import cases, reads, users
from hub.images import open_image_store
from hub.retention import purge
from tests.hub.hub_support import CASE, HubFixture, add_partner


def _workstation_events(hub: HubFixture, headers: dict[str, str]) -> None:
    """A workstation mirrors one search and the outcome its investigator recorded."""
    reply = hub.client.post("/api/v1/devices", json={"name": "Precinct 2 desk"}, headers=headers)
    device_id = reply.json()["device_id"]
    prev, events = GENESIS_HASH, []
    for seq, (action, params) in enumerate(
        [
            ("search", {"case_number": CASE, "plate_pattern": "7K2*", "result_count": 3}),
            ("search.outcome", {"purpose": "robbery", "outcome": "lead", "note": "7K2000"}),
        ],
        start=1,
    ):
        event = seal_event(
            {
                "event_id": uuid.uuid4().hex, "device_id": device_id, "username": "detective",
                "session_id": "s1", "seq": seq, "occurred_at": utc_iso(hub.clock.now),
                "action": action, "object_refs": {"case_number": CASE}, "params": params,
                "outcome": "ok", "prev_hash": prev,
            }
        )  # fmt: skip
        prev = event["hash"]
        events.append(event)
    reply = hub.client.post(
        "/api/v1/audit/events", json={"device_id": device_id, "events": events}, headers=headers
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["acked_seq"] == 2


def _report(hub: HubFixture) -> dict[str, Any]:
    reply = hub.client.get("/transparency.json")  # anonymous
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_report_counts_searches_outcomes_and_refusals(hub: HubFixture) -> None:
    before = _report(hub)
    assert set(before) == set(TransparencyPublic.model_fields)
    assert before["cameras_in_use"] == 2
    assert before["unique_vehicles"] == len({row["plate"] for row in hub.reads})
    assert before["searches"] == 0
    assert before["refused_searches"] == 0
    assert before["flagged_searches"] == 0
    assert before["partner_agencies"] == []
    assert before["retention_days"] == 30
    assert before["last_purge_at"] is None
    assert "Robbery" in before["acceptable_uses"]
    assert any("immigration" in reason for reason in before["prohibited_uses"])

    headers = hub.headers("detective")
    assert hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=headers).is_success
    search = {**hub.slice_body(), "plate_pattern": "7K2*"}
    assert hub.client.post("/api/v1/search", json=search, headers=headers).status_code == 201
    refused = hub.slice_body(justification="Find the protest organizers' cars at the rally.")
    assert hub.client.post("/api/v1/slices", json=refused, headers=headers).status_code == 422
    _workstation_events(hub, headers)
    purge(
        hub.database,
        open_image_store(hub.settings),
        now=hub.clock.now,
        retention_days=30,
    )

    after = _report(hub)
    assert after["searches"] == 3
    assert after["searches_by_kind"] == {
        "workstation_searches": 1,
        "hub_searches": 1,
        "slice_requests": 1,
    }
    assert after["refused_searches"] == 1
    assert after["search_outcomes"]["lead"] == 1
    assert after["search_outcomes"]["other"] == 0
    assert parse_utc(after["last_purge_at"]) == hub.clock.now

    # Events older than 30 days fall out of the period.
    hub.clock.advance(timedelta(days=31))
    assert _report(hub)["searches"] == 0


def test_report_never_shows_plates_cases_or_names(hub: HubFixture) -> None:
    headers = hub.headers("detective")
    search = {**hub.slice_body(), "plate_pattern": "7K2*"}
    assert hub.client.post("/api/v1/search", json=search, headers=headers).status_code == 201
    _workstation_events(hub, headers)
    page = hub.client.get("/transparency")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'name="viewport"' in page.text
    assert "<script" not in page.text.lower()
    as_json = hub.client.get("/transparency.json").text
    with hub.database.read() as connection:
        plates = set(connection.execute(sa.select(reads.c.plate).distinct()).scalars())
        case_numbers = set(connection.execute(sa.select(cases.c.case_number)).scalars())
        usernames = set(connection.execute(sa.select(users.c.username)).scalars())
    assert len(plates) == len(hub.reads)
    assert len(usernames) >= 5
    for text in (page.text, as_json):
        for secret in plates | case_numbers | {"7K2"}:
            assert secret not in text, secret
        lowered = text.lower()
        for name in usernames:
            assert name.lower() not in lowered, name


def _partner(hub: HubFixture, username: str, agency: str) -> dict[str, str]:
    """A partner agency's detective on the robbery case, signed in."""
    add_partner(hub, username, agency=agency)
    return hub.headers(username)


def test_report_lists_partner_agencies_only_after_they_access_data(hub: HubFixture) -> None:
    sheriff, county, idle = (
        "Laramie County Sheriff's Office",
        "Albany County Sheriff's Office",
        "Wyoming Highway Patrol",
    )
    admin = hub.headers("admin")
    for username, agency in (("deputy1", sheriff), ("deputy2", county), ("trooper", idle)):
        headers = _partner(hub, username, agency)
        reply = hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=headers)
        assert reply.status_code == 201, reply.text
        slice_id = reply.json()["slice_id"]
        # Before approval nothing is served, so nothing counts as access.
        refused = hub.client.get(f"/api/v1/slices/{slice_id}/changes", headers=headers)
        assert refused.status_code == 403
        if username == "trooper":
            continue  # requested, never approved: no access
        decided = hub.client.post(
            f"/api/v1/partner-requests/{slice_id}/decision",
            json={"decision": "approve", "note": "Joint task force on the robbery."},
            headers=admin,
        )
        assert decided.status_code == 200, decided.text
        assert _report(hub)["partner_agencies"] == ([sheriff] if username == "deputy2" else [])
        if username == "deputy1":  # syncs the slice's feed
            page = hub.client.get(f"/api/v1/slices/{slice_id}/changes", headers=headers)
            assert page.status_code == 200, page.text
        else:  # fetches one image
            sha = hub.reads[0]["image_sha256"]
            assert hub.client.get(f"/api/v1/images/{sha}", headers=headers).status_code == 200
    # Home-agency access never names an agency.
    sha = hub.reads[1]["image_sha256"]
    detective = hub.headers("detective")
    assert hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=detective).is_success
    assert hub.client.get(f"/api/v1/images/{sha}", headers=detective).status_code == 200

    report = _report(hub)
    assert report["partner_agencies"] == sorted([sheriff, county])
    as_json = hub.client.get("/transparency.json").text
    for name in ("deputy1", "deputy2", "trooper", CASE):
        assert name not in as_json
    assert "Albany County Sheriff" in hub.client.get("/transparency").text

    hub.clock.advance(timedelta(days=31))
    assert _report(hub)["partner_agencies"] == []
