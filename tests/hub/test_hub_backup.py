"""`platedesk-hub backup` and `restore`: a backup restored into an empty data folder
(and an empty database) serves the same reads and images, keeps its users' sign-ins
and verifies its audit chains and checkpoints; a damaged backup or a used target is
refused with nothing written."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub import cli
from hub.backup import MANIFEST, PORTABLE_FILE, sha256_file
from hub.core.config import create_secret
from hub.core.db import Database, migrate
from hub.core.security import PasswordService
from hub.db.tables import audit_events
from hub.main import create_app
from tests.hub.hub_support import (
    PG_ADMIN,
    FakeClock,
    HubFixture,
    fast_settings,
    pg_reachable,
    pg_url,
    seed_small,
)

READS = 12


@pytest.fixture
def hub(hub_db: str | None, tmp_path: Path) -> Iterator[HubFixture]:
    """The seeded hub of tests/hub/conftest.py with a dozen reads and their images."""
    settings = fast_settings(tmp_path / "data", hub_db)
    settings.data_dir.mkdir()
    create_secret(settings.secret_path)
    database = Database(settings.sqlalchemy_url)
    migrate(database)
    clock = FakeClock()
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        fixture = HubFixture(settings, database, client, clock, totp={})
        seed_small(fixture, PasswordService(settings), count=READS)
        yield fixture
    database.dispose()


@pytest.fixture(params=[False, True], ids=["native", "portable"])
def portable(request: pytest.FixtureRequest) -> bool:
    """A native backup (SQLite's backup API, pg_dump) or a portable one (rows as JSON)."""
    return bool(request.param)


@pytest.fixture
def empty_db(hub_db: str | None, portable: bool) -> Iterator[str | None]:
    """Where to restore: None (SQLite in the new data folder) or a new, empty PG database.
    A native backup goes back to its own kind of database, a portable one to the other
    (SQLite to PostgreSQL and back: the way to move a hub between them)."""
    if (hub_db is None) != portable:
        yield None
        return
    if not pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (user postgres, db test)")
    name = f"platedesk_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield pg_url(name)
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cli(capsys: pytest.CaptureFixture[str], data: Path, db: str | None, *args: str) -> Any:
    code = cli.main([*args, "--data", str(data), "--json", *(["--db", db] if db else [])])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _events(database: Database, action: str) -> list[dict[str, Any]]:
    with database.read() as connection:
        params = connection.execute(
            sa.select(audit_events.c.params).where(audit_events.c.action == action)
        ).scalars()
        return [json.loads(value) for value in params]


def _slice_reads(hub: HubFixture, slice_id: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The detective's slice over the seeded window (made when None) and its reads."""
    headers = hub.headers("detective")
    if slice_id is None:
        reply = hub.client.post("/api/v1/slices", json=hub.slice_body(), headers=headers)
        assert reply.status_code == 201, reply.text
        slice_id = reply.json()["slice_id"]
    reads: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = hub.client.get(f"/api/v1/slices/{slice_id}/changes", params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        reads += body["reads"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return slice_id, sorted(reads, key=lambda read: read["read_id"])


def test_a_restored_backup_serves_the_same_hub(
    hub: HubFixture,
    empty_db: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    portable: bool,
) -> None:
    data, db = hub.settings.data_dir, hub.settings.database_url
    slice_id, reads = _slice_reads(hub)
    assert len(reads) == READS
    signed_in = hub.headers("supervisor")  # a session the backup holds
    code, _, err = _cli(capsys, data, db, "audit-checkpoint")
    assert code == 0, err
    folder = tmp_path / "backup"
    code, out, err = _cli(capsys, data, db, "backup", str(folder), *(["--portable"] * portable))
    assert code == 0, err
    made = json.loads(out)
    expected = "portable" if portable else ("pg_dump" if db else "sqlite-backup")
    assert (made["method"], made["images"]) == (expected, 2 * READS)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert {"data/hub-secret.key", "data/hub-signing.key", "data/audit-checkpoints.jsonl"} <= set(
        manifest["files"]
    )

    restored_dir = tmp_path / "restored"
    code, out, err = _cli(capsys, restored_dir, empty_db, "restore", str(folder))
    assert code == 0, err
    assert json.loads(out)["files_checked"] == made["files"]

    settings = fast_settings(restored_dir, empty_db)
    database = Database(settings.sqlalchemy_url)
    with TestClient(create_app(settings, database=database, clock=hub.clock)) as client:
        restored = HubFixture(settings, database, client, hub.clock, hub.totp, hub.reads,
                              hub.last_steps)  # fmt: skip
        # The same reads through the same slice, and the same images.
        assert _slice_reads(restored, slice_id) == (slice_id, reads)
        headers = restored.headers("detective")
        for read in reads[:3]:
            image = client.get(f"/api/v1/images/{read['image_sha256']}", headers=headers)
            assert image.status_code == 200
            assert hashlib.sha256(image.content).hexdigest() == read["image_sha256"]
        # The hub's own secret and sessions: a token issued before the backup is good.
        assert client.get("/api/v1/cases", headers=signed_in).status_code == 200
    database.dispose()

    code, out, err = _cli(capsys, restored_dir, empty_db, "audit-verify")
    assert code == 0, err
    report = json.loads(out)
    assert (report["chains_ok"], report["problems"]) == (True, [])
    assert report["checkpoints"]["checked"] == 1
    # Each log names the backup by its manifest: the original's backup, the copy's restore.
    manifest_sha = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()
    (backed_up,) = _events(hub.database, "admin.backup")
    assert backed_up["manifest_sha256"] == manifest_sha
    restored_db = Database(settings.sqlalchemy_url)
    (restored_event,) = _events(restored_db, "admin.restore")
    copied_backups = _events(restored_db, "admin.backup")
    restored_db.dispose()
    assert restored_event["manifest_sha256"] == manifest_sha
    assert copied_backups == []  # recorded after the snapshot

    # A target that is not empty is refused, and so is a damaged backup.
    code, _, err = _cli(capsys, restored_dir, empty_db, "restore", str(folder))
    assert code == 1
    assert "is not empty" in err
    image = next((folder / "images").rglob("*.jpg"))
    image.write_bytes(image.read_bytes()[:-1] + b"\x00")
    fresh = tmp_path / "fresh"
    code, _, err = _cli(capsys, fresh, None, "restore", str(folder))
    assert code == 1
    assert "The backup is damaged, nothing was restored" in err
    assert "its sha256 differs" in err
    assert not fresh.exists()
    assert "Traceback" not in err


def test_backup_refusals(
    hub: HubFixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, db = hub.settings.data_dir, hub.settings.database_url
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("keep me", encoding="utf-8")
    code, _, err = _cli(capsys, data, db, "backup", str(used))
    assert (code, err.count("\n")) == (1, 1)
    assert "not an empty folder" in err
    assert (used / "notes.txt").read_text(encoding="utf-8") == "keep me"
    code, _, err = _cli(capsys, tmp_path / "new", None, "restore", str(tmp_path / "nothing"))
    assert code == 1
    assert "holds no manifest.json" in err
    if db:  # restoring into the live database is refused before anything is written
        folder = tmp_path / "backup"
        assert _cli(capsys, data, db, "backup", str(folder))[0] == 0
        code, _, err = _cli(capsys, tmp_path / "other", db, "restore", str(folder))
        assert code == 1
        assert "is not empty; create a new, empty database" in err


def test_a_failed_restore_keeps_nothing(
    hub: HubFixture, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup whose manifest matches but whose rows cannot go in (here a case without
    its title, as an edited dump would have) leaves the folder and database empty."""
    data, db = hub.settings.data_dir, hub.settings.database_url
    folder = tmp_path / "backup"
    assert _cli(capsys, data, db, "backup", str(folder), "--portable")[0] == 0
    dump = folder / PORTABLE_FILE
    with gzip.open(dump, "at", encoding="utf-8") as lines:
        lines.write(json.dumps({"table": "cases", "row": {"case_number": "2026-999999"}}) + "\n")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][PORTABLE_FILE] = {"sha256": sha256_file(dump), "size": dump.stat().st_size}
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    target_db: str | None = None
    if db:
        target_db = pg_url(f"platedesk_failed_{uuid.uuid4().hex[:10]}")
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{target_db.rsplit("/", 1)[1]}"')
    target = tmp_path / "restored"
    try:
        code, out, err = _cli(capsys, target, target_db, "restore", str(folder))
        assert (code, out, err.count("\n")) == (1, "", 1)
        assert "could not be restored (IntegrityError); nothing of it was kept" in err
        assert list(target.iterdir()) == []
        if target_db:
            with psycopg.connect(target_db) as connection:
                tables = connection.execute(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                ).fetchone()
            assert tables == (0,)
        # Nothing was left in the way: the same folder and database take a good backup.
        good = tmp_path / "good"
        assert _cli(capsys, data, db, "backup", str(good))[0] == 0
        assert _cli(capsys, target, target_db, "restore", str(good))[0] == 0
    finally:
        if target_db:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(
                    f'DROP DATABASE IF EXISTS "{target_db.rsplit("/", 1)[1]}" WITH (FORCE)'
                )
