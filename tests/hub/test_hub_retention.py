"""Retention: expired reads and their images go unless held; tombstones reach slices."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.core.canonical import utc_iso
from hub.db.tables import audit_events, read_changes, reads
from hub.images import open_image_store
from hub.main import create_app
from hub.partitions import partition_name, utc_day
from hub.reads import insert_reads
from hub.retention import purge
from tests.hub.hub_support import CASE, HubFixture, assign, old_read


def _custodians(hub: HubFixture) -> None:
    """The technician and the supervisor handle CASE (custody is tied to the case)."""
    for username in ("technician", "supervisor"):
        assign(hub, username, CASE)


def _hold(hub: HubFixture, username: str, read_ids: list[str]) -> list[dict[str, Any]]:
    reply = hub.client.post(
        "/api/v1/holds",
        json={"case_number": CASE, "read_ids": read_ids, "note": "evidence"},
        headers=hub.headers(username),
    )
    assert reply.status_code == 201, reply.text
    created: list[dict[str, Any]] = reply.json()
    return created


def _read_ids(hub: HubFixture) -> set[str]:
    with hub.database.read() as connection:
        return set(connection.execute(sa.select(reads.c.read_id)).scalars())


def _purge_events(hub: HubFixture) -> list[dict[str, Any]]:
    with hub.database.read() as connection:
        rows = connection.execute(
            sa.select(audit_events.c.params)
            .where(audit_events.c.action == "retention.purge")
            .order_by(audit_events.c.row_id)
        ).scalars()
        return [json.loads(params) for params in rows]


def test_old_reads_and_images_go_unless_held(hub: HubFixture) -> None:
    _custodians(hub)
    store = open_image_store(hub.settings)
    shared_scene = hub.reads[0]["image_sha256"]  # a fresh read uses this scene too
    gone = old_read(hub, "A")
    held = old_read(hub, "B")
    sharing = old_read(hub, "C", image=shared_scene)
    released = old_read(hub, "D")
    young = old_read(hub, "E", days=29)
    _hold(hub, "technician", [held["read_id"]])
    (release_me,) = _hold(hub, "supervisor", [released["read_id"]])
    reply = hub.client.post(
        f"/api/v1/holds/{release_me['hold_id']}/release",
        json={"reason": "not needed for the case"},
        headers=hub.headers("supervisor"),
    )
    assert reply.status_code == 200, reply.text

    result = purge(hub.database, store, now=hub.clock.now, retention_days=30, batch_size=2)

    assert result.as_json() == {"deleted_reads": 3, "deleted_images": 5, "kept_on_hold": 1}
    left = _read_ids(hub)
    assert {gone["read_id"], sharing["read_id"], released["read_id"]}.isdisjoint(left)
    assert {held["read_id"], young["read_id"], hub.reads[0]["read_id"]} <= left
    for row in (gone, released):
        assert not store.exists(row["image_sha256"])
        assert not store.exists(row["crop_sha256"])
    assert not store.exists(sharing["crop_sha256"])
    assert store.exists(shared_scene)
    assert store.exists(held["image_sha256"])
    assert store.exists(held["crop_sha256"])
    (event,) = _purge_events(hub)
    assert event["deleted_reads"] == 3
    assert event["kept_on_hold"] == 1
    assert event["cutoff"] == utc_iso(hub.clock.now - timedelta(days=30))
    again = purge(hub.database, store, now=hub.clock.now, retention_days=30)
    assert again.as_json() == {"deleted_reads": 0, "deleted_images": 0, "kept_on_hold": 1}


def _pull(
    hub: HubFixture, headers: dict[str, str], slice_id: str, cursor: str | None = None
) -> tuple[list[str], list[str], str]:
    read_ids: list[str] = []
    tombstones: list[str] = []
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        reply = hub.client.get(f"/api/v1/slices/{slice_id}/changes", params=params, headers=headers)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        read_ids += [read["read_id"] for read in page["reads"]]
        tombstones += page["tombstones"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            assert cursor is not None
            return read_ids, tombstones, cursor


def test_purge_sends_tombstones_to_slices(hub: HubFixture) -> None:
    _custodians(hub)
    detective = hub.headers("detective")
    reply = hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=detective)
    assert reply.status_code == 201, reply.text
    slice_id = reply.json()["slice_id"]
    synced, _, cursor = _pull(hub, detective, slice_id)
    assert set(synced) == {row["read_id"] for row in hub.reads}
    proposed = hub.reads[0]["read_id"]
    confirmed = hub.reads[1]["read_id"]
    (proposal,) = _hold(hub, "detective", [proposed])
    assert proposal["status"] == "proposed"
    (placed,) = _hold(hub, "technician", [confirmed])
    reply = hub.client.post(
        f"/api/v1/holds/{placed['hold_id']}/release",
        json={"reason": "not needed for the case"},
        headers=hub.headers("supervisor"),
    )
    assert reply.json()["status"] == "released"

    # 31 days on, every seeded read (all captured in the last 2 days) has expired.
    later = hub.clock.now + timedelta(days=31)
    store = open_image_store(hub.settings)
    result = purge(hub.database, store, now=later, retention_days=30, batch_size=100)

    assert result.as_json() == {
        "deleted_reads": len(hub.reads) - 1,
        "deleted_images": 2 * (len(hub.reads) - 1),
        "kept_on_hold": 1,
    }
    assert _read_ids(hub) == {proposed}
    upserts, tombstones, _ = _pull(hub, detective, slice_id, cursor)
    assert upserts == []
    assert sorted(tombstones) == sorted(row["read_id"] for row in hub.reads[1:])
    assert store.exists(hub.reads[0]["image_sha256"])
    assert not store.exists(hub.reads[1]["image_sha256"])


def test_cli_purge_and_transparency(hub: HubFixture) -> None:
    db_args = ["--db", hub.settings.database_url] if hub.settings.database_url else []
    base = [sys.executable, "-m", "hub.cli"]
    later = utc_iso(hub.clock.now + timedelta(days=31))
    run = subprocess.run(
        [*base, "purge", "--data", str(hub.settings.data_dir), *db_args, "--now", later],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "deleted_reads": len(hub.reads),
        "deleted_images": 2 * len(hub.reads),
        "kept_on_hold": 0,
    }
    assert _purge_events(hub)[-1]["deleted_reads"] == len(hub.reads)
    run = subprocess.run(
        [*base, "transparency", "--data", str(hub.settings.data_dir), *db_args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    served = hub.client.get("/transparency.json").json()
    assert set(printed) == set(served)
    assert printed["last_purge_at"] == served["last_purge_at"] is not None
    bad = subprocess.run(
        [*base, "purge", "--data", str(hub.settings.data_dir), *db_args, "--now", "yesterday"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "--now" in bad.stderr


def test_daily_job_purges_at_start(hub: HubFixture) -> None:
    gone = old_read(hub, "J")
    settings = hub.settings.model_copy(update={"retention_job": True})
    app = create_app(settings, database=hub.database, clock=hub.clock)
    with TestClient(app):
        deadline = time.monotonic() + 10
        while not _purge_events(hub) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _purge_events(hub)[0]["deleted_reads"] == 1
    assert gone["read_id"] not in _read_ids(hub)


def _day_partitions(hub: HubFixture) -> set[str]:
    with hub.database.read() as connection:
        return set(
            connection.exec_driver_sql(
                "SELECT child.relname FROM pg_inherits "
                "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
                "WHERE pg_inherits.inhparent = 'reads'::regclass"
            ).scalars()
        )


def test_postgresql_purge_drops_whole_days_and_keeps_held_reads(hub: HubFixture) -> None:
    _custodians(hub)
    if not hub.database.is_postgresql:
        pytest.skip("reads are partitioned by day on PostgreSQL only")
    store = open_image_store(hub.settings)
    gone = old_read(hub, "A", days=40)
    held = old_read(hub, "B", days=40)
    day = partition_name(utc_day(gone["captured_at"]))
    assert day in _day_partitions(hub)  # the insert made the day's partition
    (hold,) = _hold(hub, "technician", [held["read_id"]])

    result = purge(hub.database, store, now=hub.clock.now, retention_days=30)

    assert result.as_json() == {"deleted_reads": 1, "deleted_images": 2, "kept_on_hold": 1}
    assert day not in _day_partitions(hub)  # dropped whole, not deleted row by row
    left = _read_ids(hub)
    assert held["read_id"] in left
    assert gone["read_id"] not in left
    assert store.exists(held["image_sha256"])
    assert not store.exists(gone["image_sha256"])
    with hub.database.read() as connection:
        tombstones = connection.execute(
            sa.select(read_changes.c.read_id).where(read_changes.c.op == "delete")
        ).scalars()
        assert list(tombstones) == [gone["read_id"]]
    # The held read lives on in the default partition; released, the next purge takes it.
    reply = hub.client.post(
        f"/api/v1/holds/{hold['hold_id']}/release",
        json={"reason": "not needed for the case"},
        headers=hub.headers("supervisor"),
    )
    assert reply.status_code == 200, reply.text
    again = purge(hub.database, store, now=hub.clock.now, retention_days=30)
    assert again.as_json() == {"deleted_reads": 1, "deleted_images": 2, "kept_on_hold": 0}
    assert held["read_id"] not in _read_ids(hub)
    # A late read of the dropped day is still stored (in the default partition).
    late = old_read(hub, "L", days=40)
    assert late["read_id"] in _read_ids(hub)


def test_a_read_id_names_one_read_across_days(hub: HubFixture) -> None:
    first = old_read(hub, "F", days=3)
    again = {**first, "captured_at": first["captured_at"] - timedelta(days=2)}
    with pytest.raises(sa.exc.IntegrityError), hub.database.write() as connection:
        insert_reads(connection, [again], now=hub.clock.now)


def test_postgresql_partitioning_keeps_every_read(hub: HubFixture) -> None:
    """Migration 0009 copies the reads of an existing hub into day partitions, and back."""
    if not hub.database.is_postgresql:
        pytest.skip("reads are partitioned by day on PostgreSQL only")
    from alembic import command
    from alembic.config import Config

    from hub.core.db import MIGRATIONS_DIR

    old_read(hub, "M", days=12)
    before = _read_ids(hub)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    for target, partitions in (("0008", False), ("head", True)):
        with hub.database.engine.connect() as connection:
            config.attributes["connection"] = connection
            if target == "head":
                command.upgrade(config, target)
            else:
                command.downgrade(config, target)
            connection.commit()
        assert _read_ids(hub) == before
        assert bool(_day_partitions(hub)) is partitions
