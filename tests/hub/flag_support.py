"""Helpers for the flag and review tests: units, the policy, mirrored searches."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.core.audit_chain import GENESIS_HASH, seal_event
from app.core.canonical import utc_iso
from hub.db.tables import audit_events, review_items
from tests.hub.hub_support import CASE, PASSWORD, HubFixture

UNIT = "robbery-unit"
OTHER_UNIT = "traffic-unit"
QUIET = {"sample_rate": 0.0, "off_hours_start": 0, "off_hours_end": 0}
ITEMS = "/api/v1/review/items"
REQUESTS = "/api/v1/review/requests"


def set_policy(hub: HubFixture, **changes: Any) -> dict[str, Any]:
    reply = hub.client.patch("/api/v1/admin/policy", json=changes, headers=hub.headers("admin"))
    assert reply.status_code == 200, reply.text
    policy: dict[str, Any] = reply.json()
    return policy


def set_unit(hub: HubFixture, username: str, unit: str | None) -> dict[str, Any]:
    reply = hub.client.put(
        f"/api/v1/admin/users/{username}/unit", json={"unit": unit}, headers=hub.headers("admin")
    )
    assert reply.status_code == 200, reply.text
    user: dict[str, Any] = reply.json()
    return user


def add_supervisor(hub: HubFixture, username: str, unit: str) -> None:
    reply = hub.client.post(
        "/api/v1/admin/users",
        json={
            "username": username,
            "display_name": f"Sgt. {username}",
            "role": "supervisor",
            "password": PASSWORD,
            "training_valid_until": (hub.clock.now.date() + timedelta(days=365)).isoformat(),
            "unit": unit,
        },
        headers=hub.headers("admin"),
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["user"]["unit"] == unit
    hub.totp[username] = reply.json()["totp_secret"]


def oversight(hub: HubFixture, **policy: Any) -> None:
    """Detectives and the supervisor in one unit; no random sample, no off hours."""
    for username in ("detective", "detective2", "supervisor"):
        set_unit(hub, username, UNIT)
    set_policy(hub, **{**QUIET, **policy})


def search_body(hub: HubFixture, **overrides: Any) -> dict[str, Any]:
    """A benign remote search: 3+ known characters, two days, named cameras."""
    body = hub.slice_body(plate_pattern="7K2*", camera_ids=["CAM-001", "CAM-002"])
    body.update(overrides)
    return body


def slice_body(hub: HubFixture, **overrides: Any) -> dict[str, Any]:
    """A benign slice request: a plate pattern, two days, named cameras."""
    body = hub.slice_body(plate_pattern="ABC0*", camera_ids=["CAM-001"])
    body.update(overrides)
    return body


def register_device(hub: HubFixture, headers: dict[str, str]) -> str:
    reply = hub.client.post("/api/v1/devices", json={"name": "Precinct desk"}, headers=headers)
    assert reply.status_code == 200, reply.text
    device_id: str = reply.json()["device_id"]
    return device_id


def local_search_params(
    *,
    case_number: str = CASE,
    purpose: str = "robbery",
    pattern: str | None = "7K2*",
    camera_ids: list[str] | None = None,
    time_from: datetime | None = None,
    time_to: datetime | None = None,
    result_count: int = 3,
) -> dict[str, Any]:
    """The parameters app.workstation journals for a cache search (query_to_dict)."""
    return {
        "case_number": case_number,
        "purpose": purpose,
        "pattern": pattern,
        "pattern_kind": None if pattern is None else "prefix",
        "fuzzy": False,
        "time_from": None if time_from is None else utc_iso(time_from),
        "time_to": None if time_to is None else utc_iso(time_to),
        "camera_ids": ["CAM-001"] if camera_ids is None else camera_ids,
        "state": None,
        "make": None,
        "model": None,
        "color": None,
        "body_type": None,
        "feature": None,
        "min_confidence": None,
        "result_count": result_count,
    }


class Workstation:
    """A registered device mirroring its journal: sealed, chained events."""

    def __init__(self, hub: HubFixture, username: str) -> None:
        self.hub = hub
        self.username = username
        self.headers = hub.headers(username)
        self.device_id = register_device(hub, self.headers)
        self.seq = 0
        self.prev = GENESIS_HASH

    def event(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        event = seal_event(
            {
                "event_id": uuid.uuid4().hex, "device_id": self.device_id,
                "username": self.username, "session_id": "ws-session", "seq": self.seq,
                "occurred_at": utc_iso(self.hub.clock.now), "action": action,
                "object_refs": {"case_number": params.get("case_number", CASE)},
                "params": params, "outcome": "ok", "prev_hash": self.prev,
            }
        )  # fmt: skip
        self.prev = event["hash"]
        return event

    def upload(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        reply = self.hub.client.post(
            "/api/v1/audit/events",
            json={"device_id": self.device_id, "events": events},
            headers=self.headers,
        )
        assert reply.status_code == 200, reply.text
        ack: dict[str, Any] = reply.json()
        return ack


def review_list(hub: HubFixture, username: str = "supervisor", **params: Any) -> list[Any]:
    reply = hub.client.get(ITEMS, params=params, headers=hub.headers(username))
    assert reply.status_code == 200, reply.text
    items: list[Any] = reply.json()
    return items


def item_count(hub: HubFixture) -> int:
    with hub.database.read() as connection:
        return int(
            connection.execute(sa.select(sa.func.count()).select_from(review_items)).scalar_one()
        )


def hub_events(hub: HubFixture, action: str) -> list[Any]:
    with hub.database.read() as connection:
        return list(
            connection.execute(
                sa.select(audit_events)
                .where(audit_events.c.action == action)
                .order_by(audit_events.c.row_id)
            ).all()
        )
