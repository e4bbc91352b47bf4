"""The cache's two files: a cache from before the mirror file moves what the hub sent
into it, whole, even when the move was cut off; and the mirror is as encrypted, and as
strict about its key, as the desk file."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.cache.catalog import CatalogRepository
from app.cache.connection import MIRROR, Database, WrongKeyError, mirror_path, open_encrypted
from app.cache.journal import Actor, JournalRepository
from app.cache.migrations import CACHE_UPDATE, MIGRATIONS, MIRROR_MOVE, PREPARATIONS, migrate
from app.cache.reads import ReadRepository
from app.cache.review import ReviewRepository
from app.cache.search import SearchRepository
from app.core.plates import parse_pattern
from app.core.records import SearchQuery
from app.core.schemas import ReadPublic
from tests.unit.cache.cache_support import day_slice

CASE = "2026-004211"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PLATES = ["ABC1234", "AB7K2CD", "7K2XYZ", "XYZ7K20", "ZZZ9999"]
MOVED = ("slices", "reads", "reads_plate_fts", "slice_reads", "images")
BEFORE_THE_MIRROR = tuple(m for m in MIGRATIONS if m[0] != MIRROR_MOVE)


def _read(n: int, plate: str) -> ReadPublic:
    return ReadPublic(
        read_id=f"r{n:04d}", plate=plate, state="WY", confidence=0.9,
        captured_at=T0.replace(minute=n), camera_id="CAM-001", latitude=41.1,
        longitude=-104.8, direction="N", make="Ford", model="F-150", color="white",
        body_type="pickup", features=[], image_sha256=f"{n:064x}", image_size=100,
        crop_sha256=f"{n + 1000:064x}", crop_size=10,
    )  # fmt: skip


def _one_file_cache(path: Path, key: bytes) -> Database:
    """A cache as Platedesk kept it before the mirror file: every table in one file."""
    db = open_encrypted(path, key)
    migrate(db, BEFORE_THE_MIRROR)
    with db.atomic():  # both files (the repositories would write the mirror alone)
        CatalogRepository(db).save_slice(
            day_slice("s1", case_number=CASE, start=T0, estimated_reads=5, purpose="robbery")
        )
        ReadRepository(db).apply_page(
            slice_id="s1",
            reads=[_read(n, plate) for n, plate in enumerate(PLATES)],
            tombstones=[],
            next_cursor="c1",
            complete=True,
        )
        db.execute("INSERT INTO images VALUES (?, ?, '2026-11-20T08:00:00.000Z')", ("0" * 64, b"j"))
    ReviewRepository(db).add_mark(
        read_id="r0001", case_number=CASE, kind="evidence", corrected_plate=None, note="",
        marked_by="detective",
    )  # fmt: skip
    JournalRepository(db).append(Actor("device-1", "detective", "session-1"), "search")
    return db


def _tables(db: Database, schema: str) -> set[str]:
    return {row[0] for row in db.execute(f"SELECT name FROM {schema}.sqlite_master")}


def _assert_moved_whole(db: Database) -> None:
    assert not _tables(db, "main") & set(MOVED)
    assert set(MOVED) <= _tables(db, MIRROR)
    query = SearchQuery(case_number=CASE, purpose="robbery", pattern=parse_pattern("*7K2*"))
    page = SearchRepository(db).page(query, after=None, limit=100)
    assert sorted(row.plate for row in page.rows) == ["7K2XYZ", "AB7K2CD", "XYZ7K20"]
    assert ReadRepository(db).count() == len(PLATES)
    assert CatalogRepository(db).slice_cursor("s1") == "c1"
    assert ReadRepository(db).image("0" * 64) == b"j"
    assert [m.read_id for m in ReviewRepository(db).marks(case_number=CASE)] == ["r0001"]
    assert JournalRepository(db).status().chain_ok
    # the mirror keeps its rules: a slice's rows go with it, the plate index follows
    with db.atomic():
        db.execute("DELETE FROM slices WHERE slice_id = 's1'")
    assert db.scalar("SELECT count(*) FROM slice_reads") == 0
    with db.atomic():
        db.execute("UPDATE reads SET plate = 'NEW7K2', plate_folded = 'NEW7K2'")
    assert db.scalar("SELECT count(*) FROM reads_plate_fts WHERE plate MATCH '7K2'") == 5


def test_a_cache_of_one_file_moves_what_the_hub_sent_into_the_mirror(tmp_path: Path) -> None:
    key = os.urandom(32)
    db = _one_file_cache(tmp_path / "cache.db", key)
    told: list[str] = []
    assert migrate(db, announce=told.append) == [MIRROR_MOVE]
    assert told == [CACHE_UPDATE]  # the sign-in says why it waits (tests/gui/test_sign_in.py)
    _assert_moved_whole(db)
    db.close()


def test_a_new_cache_is_made_without_telling_of_an_update(tmp_path: Path) -> None:
    db = open_encrypted(tmp_path / "cache.db", os.urandom(32))
    told: list[str] = []
    assert MIRROR_MOVE in migrate(db, announce=told.append)
    assert told == []
    db.close()


def test_a_move_cut_off_after_the_copy_is_done_again_whole(tmp_path: Path) -> None:
    """The copy committed, the originals not yet dropped (the process died between):
    the next start copies again from the originals, and nothing is doubled."""
    key = os.urandom(32)
    db = _one_file_cache(tmp_path / "cache.db", key)
    with db.atomic(only=MIRROR):
        PREPARATIONS[MIRROR_MOVE](db)
    db.close()
    again = open_encrypted(tmp_path / "cache.db", key)
    assert migrate(again) == [MIRROR_MOVE]
    _assert_moved_whole(again)
    again.close()


def test_a_mirror_made_with_another_key_is_a_clear_error(tmp_path: Path) -> None:
    key, other = os.urandom(32), os.urandom(32)
    for folder, made_with in (("mine", key), ("stranger", other)):
        db = open_encrypted(tmp_path / folder / "cache.db", made_with)
        migrate(db)
        db.close()
    mine = tmp_path / "mine" / "cache.db"
    shutil.copy(mirror_path(tmp_path / "stranger" / "cache.db"), mirror_path(mine))
    size = mirror_path(mine).stat().st_size
    with pytest.raises(WrongKeyError, match=r"cache\.db-mirror cannot be read") as refused:
        open_encrypted(mine, key)
    assert "Nothing was deleted" in str(refused.value)
    assert mirror_path(mine).stat().st_size == size
