"""The case's evidence record at the hub (issue 22): legal basis, marks, refusal,
the supervisor's release with a reason, the evidence grant, a closed case, a read
purged before its hold arrived; the purge spares proposed and confirmed holds only."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.core.evidence import unframe_images
from hub.db.tables import audit_events, cases
from hub.holds import SUPERVISOR_ONLY
from hub.images import open_image_store
from hub.retention import purge
from tests.hub.hub_support import CASE, HubFixture, assign, old_read


def _propose(hub: HubFixture, read_ids: list[str], **extra: Any) -> Any:
    body = {"case_number": CASE, "read_ids": read_ids, "note": "left the scene", **extra}
    return hub.client.post("/api/v1/holds", json=body, headers=hub.headers("technician"))


def _decide(hub: HubFixture, username: str, hold_id: str, action: str, **body: str) -> Any:
    return hub.client.post(
        f"/api/v1/holds/{hold_id}/{action}", json=body or None, headers=hub.headers(username)
    )


def _actions(hub: HubFixture) -> list[str]:
    with hub.database.read() as connection:
        return list(
            connection.execute(
                sa.select(audit_events.c.action)
                .where(
                    sa.or_(
                        audit_events.c.action.like("hold.%"),
                        audit_events.c.action.like("evidence.%"),
                    )
                )
                .order_by(audit_events.c.row_id)
            ).scalars()
        )


def test_the_case_evidence_record_its_decisions_and_the_grant(hub: HubFixture) -> None:
    for username in ("technician", "supervisor"):
        assign(hub, username, CASE)
    detective = hub.headers("detective")
    assert hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=detective).status_code
    ids = [row["read_id"] for row in hub.reads[:3]]
    mark = {"kind": "misread", "marked_by": "detective", "marked_at": "2026-12-01T10:00:00Z",
            "corrected_plate": "ABC1234", "note": "8 read as B"}  # fmt: skip
    reply = hub.client.post(
        "/api/v1/holds",
        json={"case_number": CASE, "read_ids": ids, "note": "seen at the mall",
              "legal_basis": "search_warrant", "legal_basis_text": "Warrant 26-114",
              "review_date": "2027-06-01", "marks": {ids[0]: [mark]}},
        headers=detective,
    )  # fmt: skip
    assert reply.status_code == 201, reply.text
    proposed = {hold["read_id"]: hold for hold in reply.json()}
    bad = hub.client.post(
        "/api/v1/holds",
        json={"case_number": CASE, "read_ids": [hub.reads[4]["read_id"]], "legal_basis": "hunch"},
        headers=detective,
    )
    assert bad.status_code == 422
    assert "not a legal basis" in bad.json()["detail"]

    # A technician of the case sees the detective's record, then confirms, refuses.
    listed = hub.client.get(
        "/api/v1/holds", params={"case_number": CASE}, headers=hub.headers("technician")
    ).json()
    first = next(hold for hold in listed if hold["read_id"] == ids[0])
    assert (first["proposed_by"], first["note"], first["status"]) == (
        "detective", "seen at the mall", "proposed",
    )  # fmt: skip
    assert (first["legal_basis"], first["legal_basis_text"], first["review_date"]) == (
        "search_warrant", "Warrant 26-114", "2027-06-01",
    )  # fmt: skip
    assert first["marks"][0]["corrected_plate"] == "ABC1234"
    confirmed = _decide(hub, "technician", proposed[ids[0]]["hold_id"], "confirm", note="ok")
    assert confirmed.json()["status"] == "confirmed", confirmed.text
    assert confirmed.json()["decision_note"] == "ok"
    assert _decide(hub, "supervisor", proposed[ids[1]]["hold_id"], "confirm").status_code == 200
    refused = _decide(hub, "technician", proposed[ids[2]]["hold_id"], "refuse", note="no link")
    assert refused.json()["status"] == "refused"
    assert refused.json()["refused_by"] == "technician"
    assert refused.json()["released_at"] is None
    again = _decide(hub, "technician", proposed[ids[2]]["hold_id"], "confirm")
    assert again.status_code == 409
    assert ids[2] in again.json()["detail"]

    # The grant: confirmed evidence only, without a slice, audited as such.
    grant = hub.client.post(
        "/api/v1/evidence/reads", params={"case_number": CASE}, json={"read_ids": ids[:2]},
        headers=hub.headers("technician"),
    )  # fmt: skip
    assert grant.status_code == 200, grant.text
    assert [read["read_id"] for read in grant.json()["reads"]] == ids[:2]
    first_read = grant.json()["reads"][0]
    shas = [first_read["image_sha256"], first_read["crop_sha256"]]
    images = hub.client.post(
        "/api/v1/evidence/images", params={"case_number": CASE}, json={"sha256s": shas},
        headers=hub.headers("technician"),
    )  # fmt: skip
    assert images.status_code == 200, images.text
    assert sorted(unframe_images(images.content, shas)) == sorted(shas)
    refused_read = hub.client.post(
        "/api/v1/evidence/reads", params={"case_number": CASE}, json={"read_ids": ids},
        headers=hub.headers("technician"),
    )  # fmt: skip
    assert refused_read.status_code == 403
    assert ids[2] in refused_read.json()["detail"]
    detective_grant = hub.client.post(
        "/api/v1/evidence/reads", params={"case_number": CASE}, json={"read_ids": ids[:1]},
        headers=detective,
    )  # fmt: skip
    assert detective_grant.status_code == 403
    other_image = hub.reads[10]["image_sha256"]
    outside = hub.client.post(
        "/api/v1/evidence/images", params={"case_number": CASE},
        json={"sha256s": [shas[0], other_image]}, headers=hub.headers("technician"),
    )  # fmt: skip
    assert outside.status_code == 404
    assert other_image in outside.json()["detail"]

    # Only a supervisor releases, and only with a reason.
    hold_id = proposed[ids[1]]["hold_id"]
    by_technician = _decide(hub, "technician", hold_id, "release", reason="not needed")
    assert by_technician.status_code == 403
    assert by_technician.json()["detail"] == SUPERVISOR_ONLY
    assert _decide(hub, "supervisor", hold_id, "release").status_code == 422
    released = _decide(hub, "supervisor", hold_id, "release", reason="plate ruled out")
    assert released.json()["status"] == "released"
    assert released.json()["release_reason"] == "plate ruled out"
    assert _actions(hub) == [
        "hold.propose", "hold.confirm", "hold.confirm", "hold.refuse",
        "evidence.grant_reads", "evidence.grant_images", "hold.release",
    ]  # fmt: skip


def test_closed_case_purged_read_and_the_purge(hub: HubFixture) -> None:
    for username in ("technician", "supervisor"):
        assign(hub, username, CASE)
    kept_proposed, kept_confirmed, refused, released, purged = (
        old_read(hub, tag) for tag in "PCRXG"
    )
    holds = {hold["read_id"]: hold for hold in _propose(hub, [
        kept_proposed["read_id"], kept_confirmed["read_id"], refused["read_id"],
        released["read_id"]]).json()}  # fmt: skip
    # The technician's holds are confirmed at once; make two of them proposed again to
    # take the detective's path without a slice.
    store = open_image_store(hub.settings)
    for read in (kept_proposed, refused):
        with hub.database.write() as connection:
            connection.exec_driver_sql(
                "UPDATE holds SET confirmed_at = NULL, confirmed_by = NULL WHERE hold_id = "
                f"'{holds[read['read_id']]['hold_id']}'"
            )
    assert _decide(hub, "technician", holds[refused["read_id"]]["hold_id"], "refuse").status_code
    assert _decide(hub, "supervisor", holds[released["read_id"]]["hold_id"], "release",
                   reason="ruled out").status_code == 200  # fmt: skip
    result = purge(hub.database, store, now=hub.clock.now, retention_days=30)
    assert result.as_json()["kept_on_hold"] == 2
    gone = hub.client.post(
        "/api/v1/holds",
        json={"case_number": CASE, "read_ids": [purged["read_id"]]},
        headers=hub.headers("technician"),
    )
    assert gone.status_code == 404
    assert f"Read {purged['read_id']} is no longer at this hub" in gone.json()["detail"]
    listed = hub.client.get(
        "/api/v1/holds", params={"case_number": CASE}, headers=hub.headers("technician")
    ).json()
    present = {hold["read_id"]: hold["read_present"] for hold in listed}
    assert present == {
        kept_proposed["read_id"]: True, kept_confirmed["read_id"]: True,
        refused["read_id"]: False, released["read_id"]: False,
    }  # fmt: skip

    # A case closed meanwhile: no new holds, no confirmation; the message says what to do.
    with hub.database.write() as connection:
        connection.execute(
            cases.update().where(cases.c.case_number == CASE).values(status="closed")
        )
    closed = _decide(hub, "technician", holds[kept_proposed["read_id"]]["hold_id"], "confirm")
    assert closed.status_code == 409
    assert f"Case {CASE} is closed" in closed.json()["detail"]
    placed = _propose(hub, [hub.reads[0]["read_id"]])
    assert placed.status_code == 409
