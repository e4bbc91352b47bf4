"""The supervisor's desk at the hub: the queue ordered by stored severity and paged
by key; bulk approval of low-severity random-sample items only; the reads a flagged
search returned, viewable (and their images) with no case assignment, audited; the
user's searches around it; the council's monthly transparency report as PDF."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.cli import main as hub_cli
from tests.hub.flag_support import (
    ITEMS,
    Workstation,
    hub_events,
    local_search_params,
    oversight,
    review_list,
    search_body,
)
from tests.hub.hub_support import OTHER_CASE, HubFixture
from tests.support.tools import need_tool


def _search_item(hub: HubFixture, username: str = "detective", **body: Any) -> str:
    """Run a remote search; the id of the review item it filed."""
    reply = hub.client.post(
        "/api/v1/search", json=search_body(hub, **body), headers=hub.headers(username)
    )
    assert reply.status_code == 201, reply.text
    event_id = hub_events(hub, "search.request")[-1].event_id
    filed = [json.loads(row.object_refs) for row in hub_events(hub, "flag.raise")]
    item_id: str = next(refs["item_id"] for refs in filed if refs["event_id"] == event_id)
    return item_id


def _approve_sample(hub: HubFixture, ids: list[str], username: str = "supervisor") -> Any:
    return hub.client.post(
        f"{ITEMS}/approve-sample",
        json={"item_ids": ids, "note": "Routine sample; within the case."},
        headers=hub.headers(username),
    )


def test_queue_is_most_severe_then_newest_and_pages_by_key(hub: HubFixture) -> None:
    oversight(hub, sample_rate=1.0)  # every search is sampled: low at least
    low_old = _search_item(hub)
    hub.clock.advance(timedelta(minutes=5))
    medium = _search_item(hub, plate_pattern="A*")
    hub.clock.advance(timedelta(minutes=5))
    low_new = _search_item(hub, "detective2")
    desk = Workstation(hub, "detective2")  # not assigned to OTHER_CASE: high
    desk.upload([desk.event("search", local_search_params(case_number=OTHER_CASE))])

    items = review_list(hub)
    assert [item["severity"] for item in items] == ["high", "medium", "low", "low"]
    assert [item["item_id"] for item in items[1:]] == [medium, low_new, low_old]
    assert "case_not_assigned" in [rule["rule"] for rule in items[0]["rules"]]
    assert (items[0]["case_number"], items[0]["case_status"]) == (OTHER_CASE, "open")
    first = review_list(hub, limit=3)
    rest = review_list(hub, limit=3, after=first[-1]["item_id"])
    assert [i["item_id"] for i in first + rest] == [i["item_id"] for i in items]
    assert review_list(hub, limit=3, after=items[-1]["item_id"]) == []
    bad = hub.client.get(ITEMS, params={"after": "nope"}, headers=hub.headers("supervisor"))
    assert bad.status_code == 422
    assert [i["item_id"] for i in review_list(hub, rule="overbroad_pattern")] == [medium]
    assert [i["item_id"] for i in review_list(hub, user="detective")] == [medium, low_old]


def test_bulk_approve_takes_only_low_random_sample_items(hub: HubFixture) -> None:
    oversight(hub, sample_rate=1.0)
    first = _search_item(hub)
    second = _search_item(hub, "detective2")
    broad = _search_item(hub, plate_pattern="A*")  # sampled too, but medium

    mixed = _approve_sample(hub, [first, broad])
    assert mixed.status_code == 409
    assert broad in mixed.json()["detail"]
    assert first not in mixed.json()["detail"]
    assert {item["status"] for item in review_list(hub)} == {"open"}  # nothing decided
    assert _approve_sample(hub, [first], username="detective").status_code == 403

    done = _approve_sample(hub, [first, second])
    assert done.status_code == 200, done.text
    assert {(i["item_id"], i["status"]) for i in done.json()} == {
        (first, "approved"),
        (second, "approved"),
    }
    events = hub_events(hub, "review.decision")
    assert {json.loads(e.object_refs)["item_id"] for e in events} == {first, second}
    assert all(json.loads(e.params)["bulk"] is True for e in events)
    assert all(e.username == "supervisor" for e in events)
    assert [i["item_id"] for i in review_list(hub)] == [broad]
    assert _approve_sample(hub, [first]).status_code == 409  # closed already


def test_reviewer_sees_the_reads_a_search_returned_and_their_images(hub: HubFixture) -> None:
    oversight(hub)
    item_id = _search_item(hub, plate_pattern="A*")
    [item] = review_list(hub)
    supervisor = hub.headers("supervisor")
    assert (
        hub.client.get(f"{ITEMS}/{item_id}/reads", headers=hub.headers("detective2")).status_code
        == 403
    )

    returned = [r for r in hub.reads if r["plate"].startswith("A")]
    sha = max(returned, key=lambda r: r["captured_at"])["image_sha256"]
    before = hub.client.get(f"/api/v1/images/{sha}", headers=supervisor)
    assert before.status_code == 404  # no case assignment, no grant yet

    reply = hub.client.get(f"{ITEMS}/{item_id}/reads", headers=supervisor)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["basis"] == "slice"
    assert body["total"] == item["result_count"] == len(returned)
    assert {r["plate"] for r in body["reads"]} <= {r["plate"] for r in returned}
    assert all(r["plate"].startswith("A") for r in body["reads"])
    [viewed] = hub_events(hub, "review.reads")
    assert viewed.username == "supervisor"
    assert json.loads(viewed.object_refs)["item_id"] == item_id
    assert json.loads(viewed.object_refs)["username"] == "detective"

    image = hub.client.get(f"/api/v1/images/{sha}", headers=supervisor)
    assert image.status_code == 200
    fetched = hub_events(hub, "image.fetch")[-1]
    assert json.loads(fetched.object_refs)["review_item_id"] == item_id
    other = next(r for r in hub.reads if not r["plate"].startswith("A"))["image_sha256"]
    assert hub.client.get(f"/api/v1/images/{other}", headers=supervisor).status_code == 404
    hub.clock.advance(timedelta(hours=2))  # the grant ran out
    assert (
        hub.client.get(f"/api/v1/images/{sha}", headers=hub.headers("supervisor")).status_code
        == 404
    )


def test_workstation_search_reads_and_searches_around(hub: HubFixture) -> None:
    oversight(hub)
    slice_reply = hub.client.post(
        "/api/v1/slices",
        json=search_body(hub, plate_pattern="ABC0*", camera_ids=["CAM-001"]),
        headers=hub.headers("detective"),
    )
    assert slice_reply.status_code == 201, slice_reply.text
    desk = Workstation(hub, "detective")
    hub.clock.advance(timedelta(minutes=1))
    desk.upload([desk.event("search", local_search_params(pattern="A*", result_count=9))])
    [item] = review_list(hub)
    assert item["severity"] == "medium"
    supervisor = hub.headers("supervisor")
    body = hub.client.get(f"{ITEMS}/{item['item_id']}/reads", headers=supervisor).json()
    assert body["basis"] == "search"
    expected = {
        r["plate"]
        for r in hub.reads
        if r["plate"].startswith("ABC0") and r["camera_id"] == "CAM-001"
    }
    assert {r["plate"] for r in body["reads"]} == expected
    around = hub.client.get(f"{ITEMS}/{item['item_id']}/searches", headers=supervisor)
    assert around.status_code == 200
    assert [(s["source"], s["flagged"]) for s in around.json()] == [
        ("slice", False),
        ("workstation", True),
    ]


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    tool = need_tool("pdftotext")
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    done = subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode()


def test_monthly_transparency_report_pdf(
    hub: HubFixture, hub_db: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oversight(hub)
    headers = hub.headers("detective")
    assert (
        hub.client.post("/api/v1/search", json=search_body(hub), headers=headers).status_code == 201
    )
    assert (
        hub.client.post("/api/v1/search", json=search_body(hub), headers=headers).status_code == 201
    )
    refused = hub.slice_body(justification="Find the protest organizers' cars at the rally.")
    assert hub.client.post("/api/v1/slices", json=refused, headers=headers).status_code == 422
    month = f"{hub.clock.now:%Y-%m}"
    figures = hub.client.get("/transparency.json").json()

    reply = hub.client.get(
        f"{ITEMS.removesuffix('/items')}/transparency-report",
        params={"month": month},
        headers=hub.headers("supervisor"),
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/pdf"
    text = _pdf_text(reply.content, tmp_path)
    assert f"ALPR transparency report: {hub.clock.now:%B %Y}" in text
    assert "Refused requests (1)" in text
    assert "Robbery" in text  # the purpose the refused request asked for
    searches_line = next(line for line in text.splitlines() if line.strip().startswith("Searches"))
    assert searches_line.split()[-1] == str(figures["searches"]) == "2"
    assert "No partner agency received reads this month." in text
    [made] = hub_events(hub, "transparency.report")
    assert (made.username, json.loads(made.object_refs)) == ("supervisor", {"month": month})
    path = f"{ITEMS.removesuffix('/items')}/transparency-report"
    bad = hub.client.get(path, params={"month": "2026-13"}, headers=hub.headers("supervisor"))
    assert bad.status_code == 422
    assert "YYYY-MM" in bad.json()["detail"]
    assert hub.client.get(path, params={"month": month}, headers=headers).status_code == 403

    out = tmp_path / "council.pdf"
    db = ["--db", hub_db] if hub_db else []
    argv = ["transparency-report", "--data", str(hub.settings.data_dir), *db]
    assert hub_cli([*argv, "--month", month, "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["searches"], printed["refusals"]) == (2, 1)
    assert "Refused requests (1)" in _pdf_text(out.read_bytes(), tmp_path)
    assert hub_cli([*argv, "--month", "11/2026", "--out", str(out)]) == 1
    assert "YYYY-MM" in capsys.readouterr().err


def test_migration_0017_gives_existing_items_their_severity(hub: HubFixture) -> None:
    """Items filed before 0017 get the severity of their most severe rule."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hub.core.db import MIGRATIONS_DIR

    oversight(hub, sample_rate=1.0)
    _search_item(hub)  # low
    _search_item(hub, plate_pattern="A*")  # medium
    desk = Workstation(hub, "detective2")  # high
    desk.upload([desk.event("search", local_search_params(case_number=OTHER_CASE))])
    before = {item["item_id"]: item["severity"] for item in review_list(hub)}
    assert sorted(before.values()) == ["high", "low", "medium"]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    previous = ScriptDirectory.from_config(config).get_revision("0017").down_revision
    assert isinstance(previous, str)
    for step, target in ((command.downgrade, previous), (command.upgrade, "head")):
        with hub.database.engine.connect() as connection:
            config.attributes["connection"] = connection
            step(config, target)
            connection.commit()
    assert {item["item_id"]: item["severity"] for item in review_list(hub)} == before
