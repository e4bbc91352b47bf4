"""Local search ordered by camera: by the name the user sees, then camera id, then row id."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import app.cache.search as search
from app.cache.catalog import CatalogRepository
from app.cache.connection import Database, open_encrypted
from app.cache.migrations import migrate
from app.cache.reads import ReadRepository
from app.cache.search import SearchRepository
from app.core.plates import fuzzy_matches, parse_pattern
from app.core.records import ReadRecord, SearchCursor, SearchOrder, SearchQuery, SortKey
from app.core.schemas import CameraPublic, ReadPublic
from tests.unit.cache.cache_support import day_slice

CASE = "2026-004211"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
# Two cameras share a name; CAM-X has reads but no row in the cameras table, so it
# goes by its id, which sorts between the names; CAM-E has a name but no reads.
NAMES = {
    "CAM-A": "Dell Range & Yellowstone",
    "CAM-B": "Central Ave",
    "CAM-C": "Central Ave",
    "CAM-D": "Airport Pkwy",
    "CAM-E": "Zeta St",
}
READ_CAMERAS = ("CAM-A", "CAM-B", "CAM-C", "CAM-D", "CAM-X")
READS = 150


def _read(n: int, rng: random.Random) -> ReadPublic:
    return ReadPublic(
        read_id=f"r{rng.randrange(10**6):06d}-{n}",  # read ids in another order than row ids
        plate="AB7K2" if n % 9 == 0 else "".join(rng.choice("AB7K2") for _ in range(6)),
        state="WY",
        confidence=0.9,
        captured_at=T0 + timedelta(minutes=n),
        camera_id=rng.choice(READ_CAMERAS),
        latitude=41.14,
        longitude=-104.82,
        direction="N",
        make="Ford",
        model="F-150",
        color=rng.choice(("blue", "white")),
        body_type="pickup",
        features=[],
        image_sha256=f"{n:064x}",
        image_size=100,
        crop_sha256=f"{n + 1000:064x}",
        crop_size=10,
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_encrypted(tmp_path / "cache.db", os.urandom(32))
    migrate(database)
    catalog = CatalogRepository(database)
    catalog.replace_cameras(
        CameraPublic(
            camera_id=camera_id,
            name=name,
            agency="CPD",
            latitude=41.1,
            longitude=-104.8,
            direction="N",
            active=True,
        )
        for camera_id, name in NAMES.items()
    )
    rng = random.Random(7)
    reads = ReadRepository(database)
    # Another purpose's slice holds reads too (from the same cameras): never in results.
    for slice_id, purpose, numbers in (("s1", "robbery", range(READS)), ("s2", "homicide", range(READS, READS + 30))):  # fmt: skip
        catalog.save_slice(
            day_slice(slice_id, case_number=CASE, start=T0, estimated_reads=READS, purpose=purpose)
        )
        reads.apply_page(
            slice_id=slice_id,
            reads=[_read(n, rng) for n in numbers],
            tombstones=[],
            next_cursor="c1",
            complete=True,
        )
    yield database
    database.close()


@pytest.fixture(params=["sorted_whole", "walked"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a page is made: few matches sorted whole, or cameras walked one by one."""
    if request.param == "walked":
        monkeypatch.setattr(search, "SORT_WHOLE_MAX", 0)
    return str(request.param)


FILTERS: dict[str, dict[str, object]] = {
    "everything": {},
    "prefix": {"pattern": parse_pattern("AB*")},
    "wildcard": {"pattern": parse_pattern("*7K*")},
    "exact": {"pattern": parse_pattern("AB7K2")},
    "fuzzy": {"pattern": parse_pattern("AB7K2"), "fuzzy": True},
    "cameras": {"camera_ids": ("CAM-X", "CAM-C", "CAM-E")},
    "colour": {"color": "BLUE"},
}


def _query(**filters: object) -> SearchQuery:
    values: dict[str, object] = {"pattern": None, **filters}
    return SearchQuery(case_number=CASE, purpose="robbery", **values)  # type: ignore[arg-type]


def _row_ids(db: Database) -> dict[str, int]:
    return {row[0]: row[1] for row in db.execute("SELECT read_id, id FROM reads")}


def _expected(db: Database, query: SearchQuery, descending: bool) -> list[str]:
    """The matching reads' ids by a plain sort of (camera name, camera id, row id)."""
    page = SearchRepository(db).page(_query(), after=None, limit=search.MAX_PAGE)
    assert page.next_cursor is None

    def matches(row: ReadRecord) -> bool:
        pattern = query.pattern
        if pattern is not None and not (
            fuzzy_matches(pattern, row.plate) if query.fuzzy else pattern.matches(row.plate)
        ):
            return False
        if query.camera_ids and row.camera_id not in query.camera_ids:
            return False
        return query.color is None or row.color.casefold() == query.color.casefold()

    ids = _row_ids(db)
    chosen = [row for row in page.rows if matches(row)]
    chosen.sort(
        key=lambda row: (NAMES.get(row.camera_id, row.camera_id), row.camera_id, ids[row.read_id]),
        reverse=descending,
    )
    return [row.read_id for row in chosen]


def _all_pages(
    repo: SearchRepository, query: SearchQuery, order: SearchOrder, limit: int
) -> tuple[list[ReadRecord], int]:
    rows: list[ReadRecord] = []
    pages = 1
    page = repo.page(query, order=order, after=None, limit=limit)
    while True:
        rows += page.rows
        if page.next_cursor is None:
            return rows, pages
        assert len(page.rows) == limit
        page = repo.page(query, order=order, after=page.next_cursor, limit=limit)
        pages += 1


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("filters", list(FILTERS), ids=list(FILTERS))
def test_camera_order_pages_agree_with_a_plain_sort(
    db: Database, strategy: str, filters: str, descending: bool
) -> None:
    query = _query(**FILTERS[filters])
    expected = _expected(db, query, descending)
    assert len(expected) >= 5, "a filter this narrow tests nothing"
    repo = SearchRepository(db)
    rows, pages = _all_pages(repo, query, SearchOrder(SortKey.CAMERA, descending), limit=7)
    assert [row.read_id for row in rows] == expected  # every matching read once, in order
    assert pages == -(-len(expected) // 7)  # no trailing empty page
    assert repo.count(query) == len(expected)
    for row in rows:
        assert row.camera_name == NAMES.get(row.camera_id, row.camera_id)


def test_the_fixture_has_what_the_order_must_handle(db: Database) -> None:
    rows = _all_pages(SearchRepository(db), _query(), SearchOrder(SortKey.CAMERA, False), 50)[0]
    cameras = [row.camera_id for row in rows]
    # Shared name broken by camera id; the unnamed camera between the named ones.
    assert list(dict.fromkeys(cameras)) == ["CAM-D", "CAM-X", "CAM-B", "CAM-C", "CAM-A"]
    ids = _row_ids(db)
    assert sorted(rows, key=lambda row: row.read_id) != sorted(rows, key=lambda r: ids[r.read_id])


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_a_cursor_from_one_strategy_continues_in_the_other(
    db: Database, descending: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The probe can pick differently from page to page as a sync adds reads.
    query = _query()
    order = SearchOrder(SortKey.CAMERA, descending)
    repo = SearchRepository(db)
    rows: list[ReadRecord] = []
    after: SearchCursor | None = None
    for n in range(1000):
        monkeypatch.setattr(search, "SORT_WHOLE_MAX", 0 if n % 2 else 5000)
        page = repo.page(query, order=order, after=after, limit=11)
        rows += page.rows
        after = page.next_cursor
        if after is None:
            break
    assert [row.read_id for row in rows] == _expected(db, query, descending)


def test_a_cursor_names_the_camera_that_breaks_a_tie_of_names(db: Database) -> None:
    repo = SearchRepository(db)
    order = SearchOrder(SortKey.CAMERA, False)
    query = _query(camera_ids=("CAM-B", "CAM-C"))
    count = repo.count(_query(camera_ids=("CAM-B",)))
    page = repo.page(query, order=order, after=None, limit=count)
    assert page.next_cursor is not None
    assert (page.next_cursor.value, page.next_cursor.camera_id) == ("Central Ave", "CAM-B")
    rest = repo.page(query, order=order, after=page.next_cursor, limit=search.MAX_PAGE)
    assert {row.camera_id for row in rest.rows} == {"CAM-C"}
    with pytest.raises(ValueError, match="camera"):
        repo.page(query, order=order, after=SearchCursor("Central Ave", 1, order), limit=5)


def test_walking_the_cameras_seeks_an_index_instead_of_sorting_every_read(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sorting every matching read by camera name took 15 s a page over 1,000,000 reads.
    monkeypatch.setattr(search, "SORT_WHOLE_MAX", 10)
    repo = SearchRepository(db)
    order = SearchOrder(SortKey.CAMERA, True)
    first = repo.page(_query(), order=order, after=None, limit=20)
    plans: list[str] = []
    execute = db.execute

    def explained(sql: str, params: tuple[object, ...] = ()) -> object:
        plans.extend(row[3] for row in execute(f"EXPLAIN QUERY PLAN {sql}", params))
        return execute(sql, params)

    monkeypatch.setattr(db, "execute", explained)
    for after in (None, first.next_cursor):
        plans.clear()
        repo.page(_query(), order=order, after=after, limit=20)
        assert "SEARCH r USING INDEX reads_camera (camera_id=? AND id<?)" in plans or (
            after is None and "SEARCH r USING INDEX reads_camera (camera_id=?)" in plans
        ), plans
        assert not [step for step in plans if "TEMP B-TREE" in step], plans
