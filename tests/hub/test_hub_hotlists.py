"""Hotlists: management and its authorization, CSV import, matching ingested reads."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub import cli
from hub.db.tables import alerts, audit_events, hotlist_entries, reads, review_items, search_log
from tests.hub.flag_support import QUIET, set_policy, set_unit
from tests.hub.hub_support import CASE, OTHER_CASE, HubFixture, assign, ingest_body

HOTLISTS = "/api/v1/hotlists"
INGEST = "/api/v1/ingest/reads"


def entry_body(hub: HubFixture, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plate": "7K2-LMV",
        "state": "co",
        "reason": "Pickup stolen from Pershing Blvd",
        "source": "NCIC stolen vehicle",
        "case_number": CASE,
        "expires_at": (hub.clock.now + timedelta(days=7)).isoformat(),
    }
    body.update(overrides)
    return body


def add_entry(hub: HubFixture, username: str = "supervisor", **overrides: Any) -> dict[str, Any]:
    reply = hub.client.post(
        HOTLISTS, json=entry_body(hub, **overrides), headers=hub.headers(username)
    )
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


def ingest(hub: HubFixture, token: str, plate: str, **overrides: Any) -> str:
    body = ingest_body(hub.clock.now, plate=plate, **overrides)
    reply = hub.client.post(INGEST, json=body, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 201, reply.text
    read_id: str = reply.json()["read_id"]
    return read_id


def my_alerts(hub: HubFixture, username: str) -> list[dict[str, Any]]:
    reply = hub.client.get("/api/v1/alerts", headers=hub.headers(username))
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()["alerts"]
    return found


def actions(hub: HubFixture, prefix: str) -> list[str]:
    with hub.database.read() as connection:
        return list(
            connection.execute(
                sa.select(audit_events.c.action)
                .where(audit_events.c.action.like(prefix + "%"))
                .order_by(audit_events.c.row_id)
            ).scalars()
        )


def test_supervisors_and_admins_manage_detectives_cannot(hub: HubFixture) -> None:
    created = add_entry(hub)
    assert created["plate"] == "7K2LMV"
    assert created["state"] == "CO"
    assert created["active"] is True
    assert created["created_by"] == "supervisor"
    add_entry(hub, "admin", plate="ABC123", case_number=OTHER_CASE, unit="Patrol East")

    listed = hub.client.get(HOTLISTS, headers=hub.headers("admin"))
    assert listed.status_code == 200
    assert {entry["plate"] for entry in listed.json()} == {"7K2LMV", "ABC123"}
    by_case = hub.client.get(
        HOTLISTS, params={"case_number": OTHER_CASE}, headers=hub.headers("supervisor")
    )
    assert [entry["plate"] for entry in by_case.json()] == ["ABC123"]

    detective = hub.headers("detective")
    for reply in (
        hub.client.post(HOTLISTS, json=entry_body(hub), headers=detective),
        hub.client.get(HOTLISTS, headers=detective),
        hub.client.delete(f"{HOTLISTS}/{created['entry_id']}", headers=detective),
        hub.client.post(
            f"{HOTLISTS}/import",
            content=b"plate,state,reason,source,case_number,expires_at\n",
            headers={**detective, "Content-Type": "text/csv"},
        ),
        hub.client.post(HOTLISTS, json=entry_body(hub), headers=hub.headers("technician")),
    ):
        assert reply.status_code == 403, reply.text
        assert (
            reply.json()["detail"] == "Only an administrator or a supervisor may manage hotlists."
        )
    assert hub.client.get(HOTLISTS).status_code == 401

    removed = hub.client.delete(
        f"{HOTLISTS}/{created['entry_id']}", headers=hub.headers("supervisor")
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["active"] is False
    assert removed.json()["removed_by"] == "supervisor"
    again = hub.client.delete(f"{HOTLISTS}/{created['entry_id']}", headers=hub.headers("admin"))
    assert again.status_code == 409
    assert hub.client.delete(f"{HOTLISTS}/nope", headers=hub.headers("admin")).status_code == 404
    active = hub.client.get(HOTLISTS, headers=hub.headers("admin")).json()
    assert [entry["plate"] for entry in active] == ["ABC123"]
    everything = hub.client.get(
        HOTLISTS, params={"include_inactive": "true"}, headers=hub.headers("admin")
    ).json()
    assert len(everything) == 2
    assert actions(hub, "hotlist.") == ["hotlist.add", "hotlist.add", "hotlist.remove"]


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"plate": "-"}, 422, "plate needs at least 2 letters or digits."),
        ({"plate": "ABCDEFGHIJK1"}, 422, "plate has more than 10 letters and digits."),
        ({"expires_at": "2020-01-01T00:00:00Z"}, 422, "expires_at is not in the future"),
        ({"case_number": "2026-123456"}, 404, "No case 2026-123456 is on record"),
        ({"case_number": "nope"}, 422, "case number"),
        (
            {"case_number": "\uff12\uff10\uff12\uff16-\uff10\uff10\uff14\uff12\uff11\uff11"},
            422,
            "not a case number",
        ),
        ({"state": "C0"}, 422, "state 'C0' is not a state code"),
        ({"state": "\uff37\uff39"}, 422, "is not a state code"),  # fullwidth WY
        ({"reason": "   "}, 422, "reason and source must not be blank."),
    ],
)
def test_bad_entries_are_refused_with_the_reason(
    hub: HubFixture, overrides: dict[str, Any], status: int, message: str
) -> None:
    reply = hub.client.post(
        HOTLISTS, json=entry_body(hub, **overrides), headers=hub.headers("supervisor")
    )
    assert reply.status_code == status, reply.text
    assert message.lower() in reply.json()["detail"].lower()
    with hub.database.read() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(hotlist_entries))
        assert count.scalar_one() == 0


def _csv(hub: HubFixture, *lines: str) -> bytes:
    expires = (hub.clock.now + timedelta(days=3)).isoformat()
    header = "plate,state,reason,source,case_number,expires_at,unit"
    return "\n".join([header, *(line.replace("EXP", expires) for line in lines)]).encode()


def test_csv_import_all_or_nothing_naming_bad_lines(hub: HubFixture) -> None:
    headers = {**hub.headers("supervisor"), "Content-Type": "text/csv"}
    bad = _csv(
        hub,
        f"7K2LMV,CO,Stolen pickup,NCIC stolen vehicle,{CASE},EXP,",
        f"!!,CO,Stolen pickup,NCIC stolen vehicle,{CASE},EXP,",
        "ABC123,WY,Amber alert vehicle,Amber alert,2026-777777,EXP,",
        f"XYZ789,WY,Amber alert vehicle,Amber alert,{CASE},tomorrow,",
    )
    reply = hub.client.post(f"{HOTLISTS}/import", content=bad, headers=headers)
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"]
    assert detail.startswith("Nothing was imported")
    assert "line 3: plate needs at least 2 letters or digits." in detail
    assert "line 4: No case 2026-777777 is on record" in detail
    assert "line 5: expires_at:" in detail
    assert "line 2" not in detail
    with hub.database.read() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(hotlist_entries))
        assert count.scalar_one() == 0

    header_only = hub.client.post(
        f"{HOTLISTS}/import", content=b"plate,state,reason\n", headers=headers
    )
    assert header_only.status_code == 422
    assert (
        "line 1: the header lacks the column(s) source, case_number, expires_at"
        in (header_only.json()["detail"])
    )

    good = _csv(
        hub,
        f"7K2LMV,CO,Stolen pickup,NCIC stolen vehicle,{CASE},EXP,",
        "",
        f"ABC123,,Amber alert vehicle,Amber alert,{OTHER_CASE},EXP,Patrol East",
    )
    reply = hub.client.post(f"{HOTLISTS}/import", content=good, headers=headers)
    assert reply.status_code == 201, reply.text
    assert reply.json()["imported"] == 2
    listed = hub.client.get(HOTLISTS, headers=hub.headers("admin")).json()
    assert {(e["plate"], e["state"], e["unit"]) for e in listed} == {
        ("7K2LMV", "CO", None),
        ("ABC123", None, "Patrol East"),
    }
    assert actions(hub, "hotlist.") == ["hotlist.import"]


def test_an_import_passes_the_flag_rules_once_per_case(hub: HubFixture) -> None:
    assign(hub, "supervisor", OTHER_CASE)
    set_policy(hub, **QUIET)
    good = _csv(
        hub,
        f"7K2LMV,CO,Stolen pickup,NCIC stolen vehicle,{CASE},EXP,",
        f"7K2LMW,CO,my neighbor's car,just checking,{CASE},EXP,",
        f"ABC123,,Amber alert vehicle,Amber alert,{OTHER_CASE},EXP,",
    )
    headers = {**hub.headers("supervisor"), "Content-Type": "text/csv"}
    reply = hub.client.post(f"{HOTLISTS}/import", content=good, headers=headers)
    assert reply.status_code == 201, reply.text
    with hub.database.read() as connection:
        logged = connection.execute(
            sa.select(search_log.c.case_number, search_log.c.item_id).order_by(search_log.c.log_id)
        ).all()
        (rules,) = connection.execute(sa.select(review_items.c.rules)).scalars()
    assert [row.case_number for row in logged] == [CASE, OTHER_CASE]
    assert logged[1].item_id is None  # assigned, routine wording: not flagged
    fired = {rule["rule"] for rule in json.loads(rules)}
    assert fired == {"case_not_assigned", "justification_words"}


def test_cli_import_names_the_bad_line(
    hub: HubFixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ncic.csv"
    path.write_bytes(_csv(hub, f"7K2LMV,CO,Stolen,NCIC stolen vehicle,{CASE},EXP,", "X,,,,,,"))
    common = ["--data", str(hub.settings.data_dir), "--as", "admin"]
    if hub.settings.database_url:
        common += ["--db", hub.settings.database_url]
    assert cli.main(["hotlist", "import", str(path), *common]) == 1
    err = capsys.readouterr().err
    assert "line 3:" in err
    assert "Traceback" not in err

    path.write_bytes(_csv(hub, f"7K2LMV,CO,Stolen,NCIC stolen vehicle,{CASE},EXP,"))
    assert cli.main(["hotlist", "import", str(path), *common]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["imported"] == 1
    assert cli.main(["hotlist", "import", str(tmp_path / "missing.csv"), *common]) == 1
    assert "Cannot read" in capsys.readouterr().err


def test_exact_and_fuzzy_hits_alert_the_assigned_users_only(hub: HubFixture) -> None:
    entry = add_entry(hub, plate="7K2LMV", state="CO")
    add_entry(hub, plate="ZZZ999", case_number=OTHER_CASE)
    token = hub.feed_token()
    exact = ingest(hub, token, "7k2-lmv", state="WY")
    misread = ingest(hub, token, "7KZLMV")  # 2 read as Z
    extra = ingest(hub, token, "7K2LMV1")  # one character too many
    missing = ingest(hub, token, "7K2MV")  # one character missed
    ingest(hub, token, "9X9X9X")  # no hit
    ingest(hub, token, "7K2XYZ")  # shares a prefix only: no hit

    for username in ("detective", "detective2"):
        got = my_alerts(hub, username)
        assert [(a["read_id"], a["match"]) for a in got] == [
            (exact, "exact"),
            (misread, "fuzzy"),
            (extra, "fuzzy"),
            (missing, "fuzzy"),
        ]
        first = got[0]
        assert first["entry_id"] == entry["entry_id"]
        assert first["entry_plate"] == "7K2LMV"
        assert (first["entry_state"], first["read_state"]) == ("CO", "WY")
        assert first["read_plate"] == "7K2LMV"
        assert first["source"] == "NCIC stolen vehicle"
        assert first["image_sha256"] is not None
        assert first["acknowledged_at"] is None
    assert my_alerts(hub, "technician") == []  # assigned to the other case only
    assert my_alerts(hub, "supervisor") == []
    hits = actions(hub, "hotlist.hit")
    assert len(hits) == 4


def test_batch_ingest_matches_and_duplicates_do_not_realert(hub: HubFixture) -> None:
    add_entry(hub, plate="8BQ5512")
    token = hub.feed_token()
    bodies = [
        ingest_body(hub.clock.now, plate="8BQ5512"),
        ingest_body(hub.clock.now, plate="BBO5S1Z"),  # every character a confusable twin
        ingest_body(hub.clock.now, plate="1234567"),
    ]
    headers = {"Authorization": f"Bearer {token}"}
    reply = hub.client.post(f"{INGEST}:batch", json=bodies, headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["created"] == 3
    got = my_alerts(hub, "detective")
    assert [(a["read_id"], a["match"]) for a in got] == [
        (bodies[0]["read_id"], "exact"),
        (bodies[1]["read_id"], "fuzzy"),
    ]
    again = hub.client.post(f"{INGEST}:batch", json=bodies, headers=headers)
    assert again.json()["duplicate"] == 3
    single = hub.client.post(INGEST, json=bodies[0], headers=headers)
    assert single.status_code == 200
    assert len(my_alerts(hub, "detective")) == 2
    assert actions(hub, "hotlist.hit") == ["hotlist.hit"]


def test_expired_and_removed_entries_never_alert(hub: HubFixture) -> None:
    add_entry(hub, plate="EXP1RE", expires_at=(hub.clock.now + timedelta(hours=1)).isoformat())
    removed = add_entry(hub, plate="GONE42")
    hub.client.delete(f"{HOTLISTS}/{removed['entry_id']}", headers=hub.headers("supervisor"))
    token = hub.feed_token()
    hub.clock.advance(timedelta(hours=2))
    ingest(hub, token, "EXP1RE")
    ingest(hub, token, "EXPIRE")  # fuzzy twin: no alert either
    ingest(hub, token, "GONE42")
    batch = [ingest_body(hub.clock.now, plate="EXP1RE"), ingest_body(hub.clock.now, plate="GONE42")]
    reply = hub.client.post(
        f"{INGEST}:batch", json=batch, headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.json()["created"] == 2
    with hub.database.read() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(alerts)).scalar_one() == 0
    listed = hub.client.get(HOTLISTS, headers=hub.headers("admin")).json()
    assert listed == []


def test_an_entry_passes_the_flag_rules_and_alerts_only_the_case(hub: HubFixture) -> None:
    """A supervisor not on the case adds an entry "keep an eye on this one", source
    "personal interest", naming their own unit: the entry is filed for review (its
    wording, the case not assigned), and its alerts (read, place, images) go to the
    case's assigned users only, not to its author nor the unit it names."""
    set_unit(hub, "supervisor", "Patrol East")
    set_unit(hub, "detective", "Patrol East")
    set_unit(hub, "detective2", "Patrol East")
    entry = add_entry(
        hub,
        plate="UN1T42",
        case_number=OTHER_CASE,
        unit="Patrol East",
        reason="keep an eye on this one",
        source="personal interest",
    )
    with hub.database.read() as connection:
        items = connection.execute(
            sa.select(review_items.c.username, review_items.c.unit, review_items.c.rules,
                      review_items.c.params, review_items.c.source)
        ).all()  # fmt: skip
    assert len(items) == 1
    (item,) = items
    assert (item.username, item.unit, item.source) == ("supervisor", "Patrol East", "hotlist")
    rules = {rule["rule"]: rule["reason"] for rule in json.loads(item.rules)}
    assert {"justification_words", "case_not_assigned"} <= set(rules)
    assert "keep an eye" in rules["justification_words"]
    assert "personal" in rules["justification_words"]
    assert json.loads(item.params)["entry_ids"] == [entry["entry_id"]]
    assert "flag.raise" in actions(hub, "flag.")

    read_id = ingest(hub, hub.feed_token(), "UN1T42")
    assert [a["read_id"] for a in my_alerts(hub, "technician")] == [read_id]  # on the case
    for outsider in ("supervisor", "detective", "admin"):  # the author, the unit, neither
        assert my_alerts(hub, outsider) == []
    with hub.database.read() as connection:
        image = connection.execute(
            sa.select(reads.c.image_sha256).where(reads.c.read_id == read_id)
        ).scalar_one()
    seen = hub.client.get(f"/api/v1/images/{image}", headers=hub.headers("supervisor"))
    assert seen.status_code == 404


def test_a_routine_entry_by_an_assigned_user_is_not_flagged(hub: HubFixture) -> None:
    assign(hub, "supervisor", CASE)
    set_policy(hub, **QUIET)  # no random sample, no off hours
    add_entry(hub)  # NCIC stolen vehicle, on the supervisor's case
    add_entry(hub, plate="ABC123")
    with hub.database.read() as connection:
        logged = connection.execute(
            sa.select(search_log.c.source, search_log.c.item_id).order_by(search_log.c.log_id)
        ).all()
    assert [(row.source, row.item_id) for row in logged] == [("hotlist", None)] * 2
