"""The public transparency report: its fields, what it counts, and what it never shows."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.canonical import parse_utc, utc_iso
from app.core.schemas import TransparencyPublic
from hub.db.tables import audit_events, cases, reads, users
from hub.images import open_image_store
from hub.retention import purge
from tests.hub.hub_support import CASE, HubFixture, add_partner


def _device(hub: HubFixture, headers: dict[str, str]) -> str:
    reply = hub.client.post("/api/v1/devices", json={"name": "Precinct 2 desk"}, headers=headers)
    device_id: str = reply.json()["device_id"]
    return device_id


def _sealed(device_id: str, now: Any, actions: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Well-chained detective events from genesis, one per (action, params)."""
    prev, events = GENESIS_HASH, []
    for seq, (action, params) in enumerate(actions, start=1):
        event = seal_event(
            {
                "event_id": uuid.uuid4().hex, "device_id": device_id, "username": "detective",
                "session_id": "s1", "seq": seq, "occurred_at": utc_iso(now),
                "action": action, "object_refs": {"case_number": CASE}, "params": params,
                "outcome": "ok", "prev_hash": prev,
            }
        )  # fmt: skip
        prev = event["hash"]
        events.append(event)
    return events


def _workstation_events(hub: HubFixture, headers: dict[str, str]) -> None:
    """A workstation mirrors one search and the outcome its investigator recorded."""
    device_id = _device(hub, headers)
    events = _sealed(
        device_id,
        hub.clock.now,
        [
            ("search", {"case_number": CASE, "plate_pattern": "7K2*", "result_count": 3}),
            ("search.outcome", {"purpose": "robbery", "outcome": "lead", "note": "7K2000"}),
        ],
    )
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


ODD_OUTCOMES: list[Any] = [["lead"], {"lead": 1}, 7, None, True]


def test_odd_workstation_values_are_refused_at_ingest(hub: HubFixture) -> None:
    """Issue 20, finding 1: one `"outcome": ["lead"]` made the public page answer 500."""
    headers = hub.headers("detective")
    device_id = _device(hub, headers)
    odd: list[tuple[str, Any, str]] = [
        *(("search.outcome", {"outcome": value}, "params.outcome") for value in ODD_OUTCOMES),
        ("search.outcome", {"purpose": "robbery"}, "params.outcome"),
        ("search", {"case_number": CASE, "result_count": "many"}, "params.result_count"),
        ("search", {"case_number": CASE, "result_count": False}, "params.result_count"),
        ("search", {"case_number": ["x"], "result_count": 1}, "params.case_number"),
        ("search", {"camera_ids": "cam-1"}, "params.camera_ids"),
        ("search", {"places": [["cam-1"], "cam-2"]}, "params.places.1"),
    ]
    for action, params, where in odd:
        events = _sealed(device_id, hub.clock.now, [(action, params)])
        batch = {"device_id": device_id, "events": events}
        reply = hub.client.post("/api/v1/audit/events", json=batch, headers=headers)
        assert reply.status_code == 422, (params, reply.text)
        detail = reply.json()["detail"]
        assert where in detail, detail
        assert "No event of this batch was stored" in detail
        assert _report(hub)["search_outcomes"]["other"] == 0
    with hub.database.read() as connection:
        stored = connection.execute(
            sa.select(sa.func.count()).where(audit_events.c.device_id == device_id)
        ).scalar_one()
    assert stored == 0
    # The same events with values of the right type go in; an unknown code counts as other.
    good = _sealed(
        device_id,
        hub.clock.now,
        [
            ("search", {"case_number": CASE, "result_count": 2, "places": [["cam-1"], ["c2"]]}),
            ("search.outcome", {"purpose": "robbery", "outcome": "lead"}),
            ("search.outcome", {"purpose": "robbery", "outcome": "a code of a newer version"}),
        ],
    )
    reply = hub.client.post(
        "/api/v1/audit/events", json={"device_id": device_id, "events": good}, headers=headers
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["acked_seq"] == 3
    report = _report(hub)
    assert report["search_outcomes"]["lead"] == 1
    assert report["search_outcomes"]["other"] == 1


def _stored_as_is(hub: HubFixture, device_id: str, action: str, params: str, **row: Any) -> None:
    """A row as the append-only log may already hold it (before types were checked)."""
    values = {
        "event_id": uuid.uuid4().hex, "device_id": device_id, "username": "detective",
        "session_id": "s1", "seq": 10_000, "occurred_at": utc_iso(hub.clock.now),
        "action": action, "object_refs": "{}", "params": params, "outcome": "ok",
        "prev_hash": GENESIS_HASH, "hash": "0" * 64, "received_at": hub.clock.now, "late": False,
        **row,
    }  # fmt: skip
    with hub.database.write() as connection:
        connection.execute(audit_events.insert().values(**values))


def test_the_public_page_survives_any_stored_value(hub: HubFixture) -> None:
    """Whatever the append-only log holds, /transparency and its JSON answer 200."""
    headers = hub.headers("detective")
    _workstation_events(hub, headers)  # one good "lead"
    odd_params = [json.dumps({"outcome": value}) for value in ODD_OUTCOMES]
    odd_params += ["[1, 2]", '"lead"', "not json", "{}", "[" * 5000 + "]" * 5000]
    for params in odd_params:
        _stored_as_is(hub, "desk-x", "search.outcome", params)
    for params in ('{"status": ["approved"]}', '{"status": {"a": 1}}', "[]", "{"):
        _stored_as_is(hub, "hub", "review.decision", params)
    _stored_as_is(hub, "hub", "retention.purge", "{}", seq=10**9, occurred_at="not a time")
    report = _report(hub)
    assert report["search_outcomes"]["lead"] == 1
    assert report["search_outcomes"]["other"] == len(odd_params)
    assert report["review_outcomes"] == {"approved": 0, "justification_requested": 0, "referred": 0}
    assert report["last_purge_at"] is None
    page = hub.client.get("/transparency")
    assert page.status_code == 200, page.text
