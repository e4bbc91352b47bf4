"""Partner sharing: a partner agency's user gets reads only for an open case they are
assigned to, and only after a supervisor of the case's unit approves; a declined or
revoked slice serves nothing; nobody decides their own request; everything audited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from hub.api.deps import ADMIN_ONLY
from hub.db.tables import users
from hub.partners import NOT_IN_QUEUE, PARTNERS_CANNOT_DECIDE
from hub.review import SUPERVISORS_ONLY
from hub.slices import AWAITS_APPROVAL, WAS_DECLINED
from tests.hub.flag_support import OTHER_UNIT, UNIT, hub_events, set_unit
from tests.hub.hub_support import (
    CASE,
    CLOSED_CASE,
    OTHER_CASE,
    PARTNER_AGENCY,
    PASSWORD,
    HubFixture,
    add_partner,
)
from tests.hub.test_hub_hotlists import add_entry, ingest, my_alerts

REQUESTS = "/api/v1/partner-requests"


def _setup(hub: HubFixture) -> None:
    """The case's detectives and the supervisor in one unit, and a partner detective."""
    for username in ("detective", "detective2", "supervisor"):
        set_unit(hub, username, UNIT)
    add_partner(hub)


def _request(hub: HubFixture, username: str = "partner", **overrides: Any) -> dict[str, Any]:
    reply = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(**overrides), headers=hub.headers(username)
    )
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


def _feed(hub: HubFixture, slice_id: str, username: str = "partner") -> Any:
    return hub.client.get(f"/api/v1/slices/{slice_id}/changes", headers=hub.headers(username))


def _image(hub: HubFixture, username: str = "partner") -> Any:
    return hub.client.get(
        f"/api/v1/images/{hub.reads[0]['image_sha256']}", headers=hub.headers(username)
    )


def _decide(
    hub: HubFixture, slice_id: str, decision: str, username: str = "supervisor", note: str = ""
) -> Any:
    return hub.client.post(
        f"{REQUESTS}/{slice_id}/decision",
        json={"decision": decision, "note": note or f"{decision}: joint robbery task force."},
        headers=hub.headers(username),
    )


def _pending(hub: HubFixture, username: str = "supervisor") -> list[dict[str, Any]]:
    reply = hub.client.get(REQUESTS, headers=hub.headers(username))
    assert reply.status_code == 200, reply.text
    listed: list[dict[str, Any]] = reply.json()
    return listed


def test_partner_syncs_only_after_a_supervisor_approves(hub: HubFixture) -> None:
    _setup(hub)
    created = _request(hub)
    assert created["status"] == "awaiting_approval"
    assert created["estimated_reads"] is None  # no count, nor anything else, before approval
    slice_id = created["slice_id"]

    waiting = _feed(hub, slice_id)
    assert waiting.status_code == 403
    assert waiting.json()["detail"] == AWAITS_APPROVAL
    assert "awaits a supervisor's approval" in waiting.json()["detail"]
    assert _image(hub).status_code == 404
    listed = hub.client.get("/api/v1/slices", headers=hub.headers("partner")).json()
    assert [(item["status"], item["estimated_reads"]) for item in listed] == [
        ("awaiting_approval", None)
    ]

    queue = _pending(hub)
    assert [item["slice_id"] for item in queue] == [slice_id]
    assert queue[0]["partner_agency"] == PARTNER_AGENCY
    assert queue[0]["username"] == "partner"
    assert queue[0]["case_number"] == CASE
    assert queue[0]["estimated_reads"] > 0  # the supervisor deciding it sees the count

    approved = _decide(hub, slice_id, "approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.json()["decided_by"] == "supervisor"
    assert _pending(hub) == []

    page = _feed(hub, slice_id)
    assert page.status_code == 200, page.text
    assert len(page.json()["reads"]) > 0
    assert _image(hub).status_code == 200

    request_event = hub_events(hub, "slice.request")[-1]
    assert json.loads(request_event.params)["partner_agency"] == PARTNER_AGENCY
    assert json.loads(request_event.params)["approval"] == "awaiting_approval"
    approval = hub_events(hub, "partner.approve")
    assert [row.username for row in approval] == ["supervisor"]
    assert json.loads(approval[0].object_refs) == {
        "slice_id": slice_id,
        "case_number": CASE,
        "username": "partner",
    }
    assert json.loads(approval[0].params)["partner_agency"] == PARTNER_AGENCY
    access = hub_events(hub, "partner.slice_access")
    assert [row.username for row in access] == ["partner"]
    assert json.loads(access[0].object_refs)["slice_id"] == slice_id
    assert [row.username for row in hub_events(hub, "image.fetch")] == ["partner"]
    # Deciding twice is refused.
    assert _decide(hub, slice_id, "decline").status_code == 409


def test_declined_slice_never_serves(hub: HubFixture) -> None:
    _setup(hub)
    slice_id = _request(hub)["slice_id"]
    no_note = hub.client.post(
        f"{REQUESTS}/{slice_id}/decision",
        json={"decision": "decline", "note": ""},
        headers=hub.headers("supervisor"),
    )
    assert no_note.status_code == 422
    declined = _decide(hub, slice_id, "decline", note="Not within the task force's scope.")
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert declined.json()["note"] == "Not within the task force's scope."

    refused = _feed(hub, slice_id)
    assert refused.status_code == 403
    assert refused.json()["detail"] == WAS_DECLINED
    assert _image(hub).status_code == 404
    assert _decide(hub, slice_id, "approve").status_code == 409  # closed
    hub.clock.advance(timedelta(hours=1))
    assert _feed(hub, slice_id).status_code == 403
    assert [row.username for row in hub_events(hub, "partner.decline")] == ["supervisor"]
    assert hub_events(hub, "partner.slice_access") == []
    listed = hub.client.get(
        REQUESTS, params={"status": "declined"}, headers=hub.headers("supervisor")
    ).json()
    assert [item["slice_id"] for item in listed] == [slice_id]


def test_revoking_withdraws_an_approval(hub: HubFixture) -> None:
    _setup(hub)
    slice_id = _request(hub)["slice_id"]
    assert _decide(hub, slice_id, "approve").status_code == 200
    assert _feed(hub, slice_id).status_code == 200
    revoked = hub.client.post(f"{REQUESTS}/{slice_id}/revoke", headers=hub.headers("supervisor"))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert _feed(hub, slice_id).status_code == 410
    assert _image(hub).status_code == 404
    assert [row.username for row in hub_events(hub, "slice.revoke")] == ["supervisor"]


def test_partner_needs_an_open_case_assigned_to_them(hub: HubFixture) -> None:
    _setup(hub)
    unassigned = hub.client.post(
        "/api/v1/slices",
        json=hub.slice_body(case_number=OTHER_CASE),
        headers=hub.headers("partner"),
    )
    assert unassigned.status_code == 403
    assert "not assigned" in unassigned.json()["detail"]
    add_partner(hub, "partner2", cases=(CLOSED_CASE,))
    closed = hub.client.post(
        "/api/v1/slices",
        json=hub.slice_body(case_number=CLOSED_CASE),
        headers=hub.headers("partner2"),
    )
    assert closed.status_code == 409
    assert "closed" in closed.json()["detail"]
    assert len(hub_events(hub, "slice.refused")) == 2
    assert _pending(hub) == []


def test_partner_search_gives_no_count_until_approved(hub: HubFixture) -> None:
    """Before approval a partner's search says nothing that depends on the reads: a
    search with matches and one without answer alike (halving the window while
    watching a count placed one sighting within 32 seconds)."""
    _setup(hub)
    replies = []
    for pattern in ("7K2*", "ZZZ9*"):  # matches, none
        body = {**hub.slice_body(), "plate_pattern": pattern}
        reply = hub.client.post("/api/v1/search", json=body, headers=hub.headers("partner"))
        assert reply.status_code == 201, reply.text
        replies.append(reply.json())
    for found in replies:
        assert (found["total"], found["reads"]) == (None, [])
        assert found["slice"]["estimated_reads"] is None
        assert found["slice"]["status"] == "awaiting_approval"
    found = replies[0]
    slice_id = found["slice"]["slice_id"]
    assert _feed(hub, slice_id).json()["detail"] == AWAITS_APPROVAL
    assert (
        json.loads(hub_events(hub, "search.request")[-1].params)["partner_agency"] == PARTNER_AGENCY
    )
    assert _decide(hub, slice_id, "approve").status_code == 200
    reads = _feed(hub, slice_id).json()["reads"]
    assert reads
    assert all(read["plate"].startswith("7K2") for read in reads)
    # Approved, the partner's slice shows its count.
    listed = hub.client.get("/api/v1/slices", headers=hub.headers("partner")).json()
    assert {item["slice_id"]: item["estimated_reads"] for item in listed}[slice_id] == len(reads)


def test_a_partner_request_over_the_read_limit_is_refused_at_approval(hub: HubFixture) -> None:
    """Refusing a partner's request over the limit would tell them the reads number more
    than the limit: the request waits, and the approval is refused (409) instead."""
    _setup(hub)
    hub.settings.slice_read_limit = 10  # the seed holds 250 reads in the last 2 days
    home = hub.client.post(
        "/api/v1/slices", json=hub.slice_body(), headers=hub.headers("detective")
    )
    assert home.status_code == 422, home.text
    assert "over the limit of 10" in home.json()["detail"]
    created = _request(hub)
    assert (created["status"], created["estimated_reads"]) == ("awaiting_approval", None)
    approved = _decide(hub, created["slice_id"], "approve")
    assert approved.status_code == 409, approved.text
    assert "over the limit of 10" in approved.json()["detail"]
    assert _feed(hub, created["slice_id"]).status_code == 403
    assert _decide(hub, created["slice_id"], "decline").status_code == 200


def test_home_agency_slices_need_no_approval(hub: HubFixture) -> None:
    _setup(hub)
    created = _request(hub, "detective")
    assert created["status"] == "active"
    assert _feed(hub, created["slice_id"], "detective").status_code == 200
    assert _pending(hub) == []
    assert hub_events(hub, "partner.slice_access") == []
    assert "partner_agency" not in json.loads(hub_events(hub, "slice.request")[-1].params)


def test_nobody_decides_their_own_request_and_partners_decide_none(hub: HubFixture) -> None:
    _setup(hub)
    add_partner(hub, "partnersgt", role="supervisor", unit=UNIT)
    own = _request(hub, "partnersgt")["slice_id"]
    other = _request(hub)["slice_id"]
    for slice_id in (own, other):
        reply = _decide(hub, slice_id, "approve", username="partnersgt")
        assert reply.status_code == 403
        assert reply.json()["detail"] == PARTNERS_CANNOT_DECIDE
    assert _feed(hub, own, "partnersgt").json()["detail"] == AWAITS_APPROVAL
    # A detective is no supervisor, partner or not.
    for username in ("detective", "partner"):
        reply = hub.client.get(REQUESTS, headers=hub.headers(username))
        assert (reply.status_code, reply.json()["detail"]) == (403, SUPERVISORS_ONLY)
    assert {item["slice_id"] for item in _pending(hub)} == {own, other}
    assert hub_events(hub, "partner.approve") == []


def test_a_supervisor_decides_only_their_units_cases(hub: HubFixture) -> None:
    _setup(hub)
    set_unit(hub, "supervisor", OTHER_UNIT)
    slice_id = _request(hub)["slice_id"]
    assert _pending(hub) == []
    elsewhere = _decide(hub, slice_id, "approve")
    assert (elsewhere.status_code, elsewhere.json()["detail"]) == (404, NOT_IN_QUEUE)
    # An administrator decides for every unit.
    assert [item["slice_id"] for item in _pending(hub, "admin")] == [slice_id]
    assert _decide(hub, slice_id, "approve", username="admin").status_code == 200
    assert _feed(hub, slice_id).status_code == 200


def test_approval_rechecks_the_case(hub: HubFixture) -> None:
    _setup(hub)
    slice_id = _request(hub)["slice_id"]
    with hub.database.write() as connection:
        connection.execute(
            sa.text("UPDATE cases SET status = 'closed' WHERE case_number = :number"),
            {"number": CASE},
        )
    reply = _decide(hub, slice_id, "approve")
    assert reply.status_code == 409
    assert "closed" in reply.json()["detail"]
    assert _feed(hub, slice_id).json()["detail"] == AWAITS_APPROVAL


def test_admin_creates_partner_users_audited(hub: HubFixture) -> None:
    created = add_partner(hub)
    assert created["partner_agency"] == PARTNER_AGENCY
    event = hub_events(hub, "admin.user_create")[-1]
    assert json.loads(event.params)["partner_agency"] == PARTNER_AGENCY
    reply = hub.client.post(
        "/api/v1/admin/users",
        json={
            "username": "partneradmin",
            "display_name": "Nope",
            "role": "admin",
            "password": PASSWORD,
            "partner_agency": PARTNER_AGENCY,
        },
        headers=hub.headers("admin"),
    )
    assert reply.status_code == 422
    assert "administrator" in reply.json()["detail"]
    by_detective = hub.client.post(
        "/api/v1/admin/users",
        json={"username": "x-partner", "display_name": "X", "role": "detective",
              "password": PASSWORD, "partner_agency": PARTNER_AGENCY},
        headers=hub.headers("detective"),
    )  # fmt: skip
    assert (by_detective.status_code, by_detective.json()["detail"]) == (403, ADMIN_ONLY)
    with hub.database.read() as connection:
        stored = connection.execute(
            sa.select(users.c.partner_agency).where(users.c.username == "partner")
        ).scalar_one()
    assert stored == PARTNER_AGENCY


def test_a_partner_user_gets_no_hotlist_alerts(hub: HubFixture) -> None:
    """An alert carries a read and its images: a partner sees reads only through an
    approved slice, so a hit on their case alerts the hub's own users only."""
    _setup(hub)
    add_entry(hub, plate="7K2LMV")
    read_id = ingest(hub, hub.feed_token(), "7K2LMV")
    assert [alert["read_id"] for alert in my_alerts(hub, "detective")] == [read_id]
    assert my_alerts(hub, "partner") == []
    me = hub.client.get("/api/v1/me", headers=hub.headers("partner")).json()
    assert me["partner_agency"] == PARTNER_AGENCY
