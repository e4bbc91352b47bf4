"""Operator insights, the oversight charts and the audit trail browser at the hub: a
seeded isolated session and a repeatedly tracked plate appear in the insights and can
be filed for review; the audit search filters, pages and keeps units apart; a device
chain tampered at the hub shows "broken", a missing event a "gap"; a detective is
refused every one of these, and the attempt is audited. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.core.audit_chain import seal_event
from app.core.audit_trail import AuditEventPublic, build_excerpt, verify_excerpt
from app.core.canonical import utc_iso
from hub.db.tables import audit_events
from tests.hub.flag_support import (
    ITEMS,
    Workstation,
    hub_events,
    local_search_params,
    oversight,
    register_device,
    search_body,
)
from tests.hub.hub_support import CASE, HubFixture

OPERATORS = "/api/v1/review/operators"
CHARTS = "/api/v1/review/charts"
SEARCH = "/api/v1/audit/search"
CHAINS = "/api/v1/audit/chains"
TRACKED = "7K2000"


class _Desk(Workstation):
    """A workstation whose events carry the times the test gives."""

    def at(self, when: datetime, action: str, params: dict[str, Any]) -> dict[str, Any]:
        event = self.event(action, params)
        event["occurred_at"] = utc_iso(when)
        return _reseal(event, self)


def _reseal(event: dict[str, Any], desk: Workstation) -> dict[str, Any]:
    sealed = seal_event({k: v for k, v in event.items() if k != "hash"})
    desk.prev = sealed["hash"]
    return sealed


def _seed_pattern(hub: HubFixture) -> tuple[_Desk, list[str], list[str]]:
    """The detective's month: four working mornings (a search every 20 minutes, one of
    them for TRACKED each day) and one 03:00 burst of four searches; the event ids of
    the TRACKED searches and of the burst."""
    desk = _Desk(hub, "detective")
    today = hub.clock.now.replace(hour=0, minute=0, second=0, microsecond=0)
    events, tracked, burst = [], [], []
    for days_ago in (10, 7, 4, 1):
        morning = today - timedelta(days=days_ago) + timedelta(hours=9)
        for step in range(10):
            plate = TRACKED if step == 3 else f"ABC{days_ago:02d}{step:02d}"
            event = desk.at(
                morning + timedelta(minutes=20 * step),
                "search",
                local_search_params(pattern=plate),
            )
            events.append(event)
            if plate == TRACKED:
                tracked.append(event["event_id"])
    night = today - timedelta(days=5) + timedelta(hours=3)
    for step in range(4):
        event = desk.at(night + timedelta(minutes=3 * step), "search",
                        local_search_params(pattern=f"XYZ{step}"))  # fmt: skip
        burst.append(event["event_id"])
        events.append(event)
    events.sort(key=lambda e: e["seq"])
    ack = desk.upload(events)
    assert ack["acked_seq"] == len(events), ack
    return desk, tracked, burst


def _get(hub: HubFixture, path: str, username: str = "supervisor", **params: Any) -> Any:
    reply = hub.client.get(path, params=params, headers=hub.headers(username))
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_seeded_isolated_session_and_tracked_plate_appear_and_can_be_filed(
    hub: HubFixture,
) -> None:
    oversight(hub)
    _desk, tracked, burst = _seed_pattern(hub)
    refused = hub.client.post(
        "/api/v1/search",
        json=search_body(hub, case_number="2026-999999"),
        headers=hub.headers("detective"),
    )
    assert refused.status_code == 404, refused.text

    found = _get(hub, OPERATORS, days=30)
    assert found["days"] == 30
    by_user = {o["username"]: o for o in found["operators"]}
    assert "supervisor" not in by_user  # nobody oversees themselves
    detective = by_user["detective"]
    assert detective["searches"] == 44
    assert detective["baseline_per_day"] == 10
    [repeat] = detective["repeat_targets"]
    assert repeat["target"] == TRACKED
    assert repeat["days"] == 4
    assert repeat["event_ids"] == tracked
    assert repeat["user_score"] > 3
    [session] = detective["isolated_sessions"]
    assert session["event_ids"] == burst
    assert session["searches"] == 4
    assert session["quiet_before_hours"] >= 8
    assert session["quiet_after_hours"] >= 8
    assert detective["per_purpose"] == [{"key": "robbery", "searches": 44}]
    assert detective["per_case"] == [{"key": CASE, "searches": 44}]
    assert detective["refusals"]["count"] == 1
    assert by_user["detective2"]["searches"] == 0
    [view] = hub_events(hub, "review.insights")
    assert view.username == "supervisor"

    filed = hub.client.post(
        f"{OPERATORS}/items",
        json={"username": "detective", "kind": "repeat_target",
              "summary": f"{TRACKED} searched on 4 days", "event_ids": tracked},
        headers=hub.headers("supervisor"),
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    item = filed.json()
    assert item["status"] == "open"
    assert item["source"] == "insight"
    assert item["rules"][0]["rule"] == "insight.repeat_target"
    assert json.loads(hub_events(hub, "review.insight_filed")[0].params)["events"] == 4
    queue = hub.client.get(ITEMS, headers=hub.headers("supervisor")).json()
    assert item["item_id"] in [i["item_id"] for i in queue]
    foreign = hub.client.post(
        f"{OPERATORS}/items",
        json={"username": "detective2", "kind": "isolated_session", "summary": "burst",
              "event_ids": burst},
        headers=hub.headers("supervisor"),
    )  # fmt: skip
    assert foreign.status_code == 422
    assert "not detective2's" in foreign.json()["detail"]

    approved = hub.client.post(
        f"{ITEMS}/{item['item_id']}/decision",
        json={"decision": "approve", "note": "the case's suspect vehicle"},
        headers=hub.headers("supervisor"),
    )
    assert approved.status_code == 200, approved.text
    charts = _get(hub, CHARTS, days=30)
    assert charts["flags_per_rule"] == [{"key": "insight.repeat_target", "searches": 1}]
    assert [(d["decision"], d["count"]) for d in charts["decisions_per_day"]] == [("approve", 1)]
    assert charts["users_by_volume"][0] == {"key": "detective", "searches": 44}
    assert sum(day["count"] for day in charts["searches_per_day"]) == 44
    assert len(charts["searches_per_day"]) == 31


def test_a_detective_cannot_open_the_insights_or_the_audit_trail(hub: HubFixture) -> None:
    oversight(hub)
    headers = hub.headers("detective")
    for path in (OPERATORS, CHARTS, SEARCH, CHAINS):
        reply = hub.client.get(path, headers=headers)
        assert reply.status_code == 403, (path, reply.text)
        assert "supervisors" in reply.json()["detail"].lower()
    refused = [json.loads(r.object_refs)["path"] for r in hub_events(hub, "review.refused")]
    assert refused == [f"{p}" for p in (OPERATORS, CHARTS, SEARCH, CHAINS)]
    assert hub_events(hub, "audit.search") == []


def test_the_audit_search_filters_pages_and_keeps_units_apart(hub: HubFixture) -> None:
    oversight(hub)
    desk = _Desk(hub, "detective")
    start = hub.clock.now - timedelta(days=3)
    events = [
        desk.at(start + timedelta(hours=i), "search" if i % 2 else "case.open",
                local_search_params(pattern=f"ABC{i}"))
        for i in range(7)
    ]  # fmt: skip
    desk.upload(events)
    other = _Desk(hub, "technician")  # not in the supervisor's unit
    other.upload([other.at(start, "case.open", {"case_number": "2026-000002"})])

    mine = _get(hub, SEARCH, user="detective", device=desk.device_id, limit=3)
    assert [e["event_id"] for e in mine["events"]] == [e["event_id"] for e in events[::-1][:3]]
    rest = _get(hub, SEARCH, device=desk.device_id, limit=3, cursor=mine["next_cursor"])
    assert [e["event_id"] for e in rest["events"]] == [e["event_id"] for e in events[::-1][3:6]]
    searches = _get(hub, SEARCH, action="search", device=desk.device_id)["events"]
    assert [e["seq"] for e in searches] == [6, 4, 2]
    window = _get(
        hub, SEARCH, user="detective", device=desk.device_id,
        **{"from": utc_iso(start + timedelta(hours=2)), "to": utc_iso(start + timedelta(hours=4))},
    )["events"]  # fmt: skip
    assert [e["seq"] for e in window] == [4, 3]
    assert len(_get(hub, SEARCH, case=CASE, device=desk.device_id)["events"]) == 7
    picked = _get(hub, SEARCH, event=[events[0]["event_id"], events[2]["event_id"]])["events"]
    assert [e["seq"] for e in picked] == [3, 1]
    assert _get(hub, SEARCH, case="2026-000002")["events"] == []
    assert _get(hub, SEARCH, device=other.device_id)["events"] == []
    assert len(_get(hub, SEARCH, "admin", device=other.device_id)["events"]) == 1
    assert len(hub_events(hub, "audit.search")) == 8  # a next page is not a new search

    found = [AuditEventPublic.model_validate(row) for row in mine["events"]]
    excerpt = build_excerpt(found, hub_url="http://hub", exported_by="supervisor",
                            exported_at=hub.clock.now, query={"user": "detective"})  # fmt: skip
    assert verify_excerpt(json.loads(json.dumps(excerpt))) == []


def _tamper_params(hub: HubFixture, event_id: str) -> None:
    """A database administrator rewrites one stored event, bypassing the trigger."""
    with hub.database.write() as connection:
        if hub.database.is_postgresql:
            connection.exec_driver_sql(
                "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
            )
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        connection.execute(
            audit_events.update()
            .where(audit_events.c.event_id == event_id)
            .values(params=json.dumps({"case_number": CASE, "pattern": "NOTHING"}))
        )
        if hub.database.is_postgresql:
            connection.exec_driver_sql(
                "ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"
            )


def test_a_chain_tampered_at_the_hub_shows_broken_and_a_missing_event_a_gap(
    hub: HubFixture,
) -> None:
    oversight(hub)
    desk = _Desk(hub, "detective")
    events = [desk.at(hub.clock.now, "case.open", {"n": i}) for i in range(3)]
    desk.upload(events)
    late = _Desk(hub, "detective2")
    first, _missing, third = (late.at(hub.clock.now, "case.open", {"n": i}) for i in range(3))
    late.upload([first, third])
    register_device(hub, hub.headers("detective2"))  # nothing delivered yet

    before = {c["device_id"]: c for c in _get(hub, CHAINS)}
    assert before[desk.device_id]["status"] == "intact"
    assert before[desk.device_id]["summary"].startswith("Intact: all 3 events")
    assert before[late.device_id]["status"] == "gap"
    assert "missing" in before[late.device_id]["summary"]

    _tamper_params(hub, events[1]["event_id"])
    chains = _get(hub, CHAINS)
    assert chains[0]["device_id"] == desk.device_id  # broken first
    assert chains[0]["status"] == "broken"
    assert chains[0]["summary"].startswith("Broken: event 2: its contents do not match")
    assert [c["status"] for c in chains].count("empty") == 1
    with hub.database.read() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(audit_events))
        assert stored.scalar_one() > 0
    admin = {c["device_id"]: c["status"] for c in _get(hub, CHAINS, "admin")}
    assert admin["hub"] == "intact"
