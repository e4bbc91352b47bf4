"""Sightings, associates (convoy) and multi-place analyses over a case's cached reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cache.analysis import AnalysisRepository
from app.cache.catalog import CatalogRepository
from app.cache.connection import Database, open_encrypted
from app.cache.migrations import migrate
from app.cache.reads import ReadRepository
from app.cache.review import ReviewRepository
from app.core.plates import parse_pattern
from app.core.records import SearchQuery, query_from_dict, query_to_dict
from app.core.schemas import ReadPublic
from tests.unit.cache.cache_support import day_slice

CASE = "2026-004211"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
# (plate, camera, seconds after T0)
SIGHTINGS = [
    ("TARGET1", "A", 0),
    ("TARGET1", "B", 600),
    ("TARGET1", "C", 1200),
    ("CONVOY1", "A", 30),  # with the target at A and at B: a convoy
    ("CONVOY1", "B", 580),
    ("NOISE1", "A", 10),  # with the target at A only
    ("LATE1", "A", 300),  # at A, but five minutes later
    ("LATE1", "B", 900),
    ("OTHER1", "D", 0),
]


def _read(n: int, plate: str, camera: str, seconds: int) -> ReadPublic:
    return ReadPublic(
        read_id=f"r{n:03d}",
        plate=plate,
        state="WY",
        confidence=0.9,
        captured_at=T0 + timedelta(seconds=seconds),
        camera_id=camera,
        latitude=41.1,
        longitude=-104.8,
        direction="N",
        make="Ford",
        model="F-150",
        color="white",
        body_type="pickup",
        features=[],
        image_sha256=f"{n:064x}",
        image_size=1,
        crop_sha256=f"{n + 500:064x}",
        crop_size=1,
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_encrypted(tmp_path / "cache.db", os.urandom(32))
    migrate(database)
    CatalogRepository(database).save_slice(
        day_slice(
            "s1", case_number=CASE, start=T0, estimated_reads=len(SIGHTINGS), purpose="robbery"
        )
    )
    ReadRepository(database).apply_page(
        slice_id="s1",
        reads=[_read(n, *row) for n, row in enumerate(SIGHTINGS)],
        tombstones=[],
        next_cursor="c",
        complete=True,
    )
    yield database
    database.close()


def test_sightings_of_a_plate_oldest_first(db: Database) -> None:
    found = AnalysisRepository(db).sightings(case_number=CASE, purpose="robbery", plate="target1")
    assert [(r.camera_id, r.captured_at) for r in found] == [
        ("A", T0),
        ("B", T0 + timedelta(seconds=600)),
        ("C", T0 + timedelta(seconds=1200)),
    ]


def test_associates_are_seen_with_the_plate_at_two_or_more_cameras(db: Database) -> None:
    found = AnalysisRepository(db).associates(
        case_number=CASE, purpose="robbery", plate="TARGET1", window_seconds=60, min_cameras=2
    )
    assert [(a.plate, a.cameras, a.sightings) for a in found] == [("CONVOY1", 2, 2)]
    looser = AnalysisRepository(db).associates(
        case_number=CASE, purpose="robbery", plate="TARGET1", window_seconds=60, min_cameras=1
    )
    assert {a.plate for a in looser} == {"CONVOY1", "NOISE1"}


def test_associates_stay_inside_the_case(db: Database) -> None:
    found = AnalysisRepository(db).associates(
        case_number="2026-000001", purpose="robbery", plate="TARGET1"
    )
    assert found == []


def test_multi_place_finds_plates_seen_at_every_place(db: Database) -> None:
    repo = AnalysisRepository(db)
    found = repo.multi_place(case_number=CASE, purpose="robbery", places=[["A"], ["B"]])
    assert {(m.plate, m.sightings) for m in found} == {
        ("TARGET1", (1, 1)),
        ("CONVOY1", (1, 1)),
        ("LATE1", (1, 1)),
    }
    narrowed = repo.multi_place(
        case_number=CASE,
        purpose="robbery",
        places=[["A"], ["B", "C"]],
        time_to=T0 + timedelta(seconds=590),
    )
    assert {m.plate for m in narrowed} == {"CONVOY1"}


def test_review_marks_and_saved_searches(db: Database) -> None:
    repo = ReviewRepository(db)
    repo.add_mark(
        read_id="r000", case_number=CASE, kind="misread", corrected_plate="TARGETI",
        note="the last character is an I", marked_by="detective",
    )  # fmt: skip
    repo.add_mark(
        read_id="r000", case_number=CASE, kind="evidence", corrected_plate=None, note="",
        marked_by="detective",
    )  # fmt: skip
    assert [m.kind for m in repo.marks(read_id="r000")] == ["misread", "evidence"]
    assert repo.marks(case_number="2026-000001") == []

    query = SearchQuery(
        case_number=CASE, purpose="robbery", pattern=parse_pattern("*7K2*"), color="blue",
        min_confidence=0.8, fuzzy=True, time_from=T0,
    )  # fmt: skip
    saved = {k: v for k, v in query_to_dict(query).items() if k not in ("case_number", "purpose")}
    first = repo.save_search(case_number=CASE, name="blue 7K2", query=saved)
    again = repo.save_search(case_number=CASE, name="blue 7K2", query=saved)
    assert first == again
    [kept] = repo.saved_searches(case_number=CASE)
    assert query_from_dict(kept.query, case_number=CASE, purpose="robbery") == query
    assert repo.delete_saved_search(kept.saved_id)
    assert repo.saved_searches(case_number=CASE) == []
