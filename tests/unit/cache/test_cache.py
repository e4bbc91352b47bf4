"""The encrypted cache: search, feed pages, journal, keys and migrations."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cache.catalog import CatalogRepository
from app.cache.connection import CacheError, Database, WrongKeyError, open_encrypted
from app.cache.journal import Actor, JournalRepository
from app.cache.migrations import MIGRATIONS, migrate
from app.cache.reads import ReadRepository
from app.cache.review import ReviewRepository
from app.cache.search import SearchRepository
from app.core.plates import parse_pattern
from app.core.records import ReadRecord, SearchOrder, SearchQuery, SortKey, parse_order
from app.core.schemas import ReadPublic, SlicePublic
from tests.unit.cache.cache_support import day_slice

CASE = "2026-004211"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PLATES = [
    "ABC1234",
    "AB7K2CD",
    "7K2XYZ",
    "XYZ7K20",
    "ZZZ9999",
    "ABD1234",
    "Q7K2",
    "A8C1234",
    "ABC123",
    "A8CI2345",
]


def _read(n: int, plate: str) -> ReadPublic:
    return ReadPublic(
        read_id=f"r{n:04d}",
        plate=plate,
        state="WY",
        confidence=0.9,
        captured_at=T0 + timedelta(minutes=n),
        camera_id="CAM-001",
        latitude=41.14,
        longitude=-104.82,
        direction="N",
        make="Ford",
        model="F-150",
        color="blue" if n % 2 else "white",
        body_type="pickup",
        features=["roof rack"],
        image_sha256=f"{n:064x}",
        image_size=100,
        crop_sha256=f"{n + 1000:064x}",
        crop_size=10,
    )


@pytest.fixture
def key() -> bytes:
    return os.urandom(32)


def _slice(slice_id: str, purpose: str) -> SlicePublic:
    return day_slice(
        slice_id, case_number=CASE, start=T0, estimated_reads=len(PLATES), purpose=purpose
    )


@pytest.fixture
def db(tmp_path: Path, key: bytes) -> Iterator[Database]:
    database = open_encrypted(tmp_path / "cache.db", key)
    migrate(database)
    CatalogRepository(database).save_slice(_slice("s1", "robbery"))
    ReadRepository(database).apply_page(
        slice_id="s1",
        reads=[_read(n, plate) for n, plate in enumerate(PLATES)],
        tombstones=[],
        next_cursor="c1",
        complete=True,
    )
    yield database
    database.close()


def _plates(db: Database, pattern: str | None, **filters: object) -> list[str]:
    query = SearchQuery(
        case_number=CASE,
        purpose="robbery",
        pattern=None if pattern is None else parse_pattern(pattern),
        **filters,  # type: ignore[arg-type]
    )
    page = SearchRepository(db).page(query, after=None, limit=100)
    return sorted(row.plate for row in page.rows)


@pytest.mark.parametrize(
    "pattern",
    ["ABC1234", "AB*", "*7K2*", "AB?1234", "*2*", "7K2*", "*K2X*", "Q?K2"],
)
def test_search_agrees_with_the_pattern_definition(db: Database, pattern: str) -> None:
    expected = sorted(p for p in PLATES if parse_pattern(pattern).matches(p))
    assert _plates(db, pattern) == expected


@pytest.mark.parametrize("pattern", ["ABC1234", "A8C1Z34", "ABC123", "*7K2*", "8C1234"])
def test_fuzzy_search_agrees_with_the_fuzzy_definition(db: Database, pattern: str) -> None:
    from app.core.plates import fuzzy_matches

    expected = sorted(p for p in PLATES if fuzzy_matches(parse_pattern(pattern), p))
    assert _plates(db, pattern, fuzzy=True) == expected
    assert len(expected) >= 1


def test_search_is_limited_to_the_case_and_purpose(db: Database) -> None:
    query = SearchQuery(case_number=CASE, purpose="homicide", pattern=None)
    assert SearchRepository(db).count(query) == 0
    other = SearchQuery(case_number="2026-000001", purpose="robbery", pattern=None)
    assert SearchRepository(db).count(other) == 0


def test_filters_narrow_the_results(db: Database) -> None:
    assert _plates(db, None, color="BLUE") == sorted(PLATES[1::2])
    assert _plates(db, None, feature="Roof Rack") == sorted(PLATES)
    assert _plates(db, None, feature="bumper sticker") == []
    assert _plates(db, None, make="ford", model="F-150", state="wy", body_type="pickup") == sorted(
        PLATES
    )
    assert _plates(db, None, min_confidence=0.95) == []
    assert _plates(db, None, time_from=T0 + timedelta(minutes=5)) == sorted(PLATES[5:])


def _plan(db: Database, pattern: str, *, fuzzy: bool = False) -> str:
    query = SearchQuery(
        case_number=CASE, purpose="robbery", pattern=parse_pattern(pattern), fuzzy=fuzzy
    )
    where = SearchRepository(db).where(query)
    rows = db.execute(
        f"EXPLAIN QUERY PLAN SELECT * FROM {where.source} WHERE {where.sql}", where.params
    )
    return " ".join(str(row[3]) for row in rows)


def test_wildcard_search_uses_the_trigram_index(db: Database) -> None:
    assert "reads_plate_fts VIRTUAL TABLE INDEX" in _plan(db, "*7K2*")


def test_exact_and_prefix_search_use_the_plate_index(db: Database) -> None:
    for text in ("ABC1234", "AB*"):
        assert "USING INDEX reads_plate" in _plan(db, text)


def test_fuzzy_search_uses_the_folded_indexes(db: Database) -> None:
    plan = _plan(db, "ABC1234", fuzzy=True)
    assert "INDEX reads_plate_folded" in plan
    assert "reads_plate_fts VIRTUAL TABLE INDEX" in plan
    assert re.search(r"SCAN (r|reads)\b(?!_)", plan) is None  # no full scan of the reads


def test_paging_by_key_visits_every_row_once_newest_first(db: Database) -> None:
    query = SearchQuery(case_number=CASE, purpose="robbery", pattern=None)
    repo = SearchRepository(db)
    seen: list[str] = []
    page = repo.page(query, after=None, limit=3)
    while True:
        seen += [row.read_id for row in page.rows]
        if page.next_cursor is None:
            break
        page = repo.page(query, after=page.next_cursor, limit=3)
    assert seen == [f"r{n:04d}" for n in reversed(range(len(PLATES)))]


def _all_pages(repo: SearchRepository, query: SearchQuery, order: SearchOrder) -> list[ReadRecord]:
    rows: list[ReadRecord] = []
    page = repo.page(query, order=order, after=None, limit=3)
    while True:
        rows += page.rows
        if page.next_cursor is None:
            return rows
        page = repo.page(query, order=order, after=page.next_cursor, limit=3)


@pytest.mark.parametrize("sort_key", list(SortKey))
@pytest.mark.parametrize("descending", [False, True])
def test_paging_in_any_order_visits_every_row_once_in_that_order(
    db: Database, sort_key: SortKey, descending: bool
) -> None:
    # Colours and confidences tie across reads: the read id must break the ties.
    query = SearchQuery(case_number=CASE, purpose="robbery", pattern=None)
    order = SearchOrder(sort_key, descending)
    rows = _all_pages(SearchRepository(db), query, order)

    def value(row: ReadRecord) -> object:
        if sort_key is SortKey.CAMERA:
            return row.camera_name
        return row.captured_at if sort_key is SortKey.TIME else getattr(row, sort_key.value)

    assert sorted(row.read_id for row in rows) == sorted(f"r{n:04d}" for n in range(len(PLATES)))
    expected = sorted(rows, key=lambda row: (value(row), row.read_id), reverse=descending)
    assert [row.read_id for row in rows] == [row.read_id for row in expected]


@pytest.mark.parametrize("sort_key", [key for key in SortKey if key is not SortKey.CAMERA])
def test_a_further_page_seeks_an_index_instead_of_sorting_every_read(
    db: Database, sort_key: SortKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sorting every matching read for each page took 4-40 s over 1,000,000 reads.
    # Cameras sort by their names (a join) and are read camera by camera instead:
    # test_search_camera_order.py.
    repo = SearchRepository(db)
    query = SearchQuery(case_number=CASE, purpose="robbery", pattern=None)
    order = SearchOrder(sort_key, descending=True)
    first = repo.page(query, order=order, after=None, limit=3)
    plans: list[str] = []
    execute = db.execute

    def explained(sql: str, params: tuple[object, ...] = ()) -> object:
        if sql.startswith("SELECT r.*"):
            plans.extend(row[3] for row in execute(f"EXPLAIN QUERY PLAN {sql}", params))
        return execute(sql, params)

    monkeypatch.setattr(db, "execute", explained)
    repo.page(query, order=order, after=first.next_cursor, limit=3)
    assert plans
    assert not [step for step in plans if "TEMP B-TREE" in step], plans


def test_sorting_by_plate_orders_the_plates(db: Database) -> None:
    query = SearchQuery(case_number=CASE, purpose="robbery", pattern=parse_pattern("AB*"))
    rows = _all_pages(SearchRepository(db), query, parse_order("plate"))
    assert [row.plate for row in rows] == sorted(p for p in PLATES if p.startswith("AB"))


def test_a_cursor_cannot_continue_another_order(db: Database) -> None:
    query = SearchQuery(case_number=CASE, purpose="robbery", pattern=None)
    repo = SearchRepository(db)
    cursor = repo.page(query, after=None, limit=3).next_cursor
    with pytest.raises(ValueError, match="order"):
        repo.page(query, order=parse_order("plate"), after=cursor, limit=3)


def test_a_tombstone_removes_the_read_and_its_images(db: Database) -> None:
    reads = ReadRepository(db)
    reads.put_image(f"{0:064x}", b"jpeg")
    applied = reads.apply_page(
        slice_id="s1", reads=[], tombstones=["r0000"], next_cursor="c2", complete=True
    )
    assert applied.deleted == 1
    assert reads.get("r0000") is None
    assert reads.image(f"{0:064x}") is None
    assert CatalogRepository(db).slice_cursor("s1") == "c2"
    assert "ABC1234" not in _plates(db, None)


def test_a_read_held_by_another_slice_survives_a_tombstone(db: Database) -> None:
    CatalogRepository(db).save_slice(_slice("s2", "robbery"))
    reads = ReadRepository(db)
    reads.apply_page(
        slice_id="s2", reads=[_read(0, PLATES[0])], tombstones=[], next_cursor="x", complete=True
    )
    reads.apply_page(slice_id="s1", reads=[], tombstones=["r0000"], next_cursor="c2", complete=True)
    assert reads.get("r0000") is not None


def test_reapplying_a_page_adds_no_duplicate(db: Database) -> None:
    reads = ReadRepository(db)
    before = reads.count()
    applied = reads.apply_page(
        slice_id="s1", reads=[_read(1, PLATES[1])], tombstones=[], next_cursor="c1", complete=True
    )
    assert reads.count() == before
    assert (applied.upserted, applied.added) == (1, 0)  # not a new read: "Synced 0 new reads"


def test_the_journal_is_a_verifiable_chain(db: Database) -> None:
    journal = JournalRepository(db)
    actor = Actor("device-1", "detective", "session-1")
    for n in range(5):
        journal.append(actor, "search", params={"n": n})
    status = journal.status()
    assert (status.pending, status.delivered, status.chain_ok) == (5, 0, True)
    assert journal.mark_delivered(through_seq=3) == 3
    assert journal.status().pending == 2
    assert journal.status(full=False).chain_ok  # remembers it verified through event 5
    db.execute("UPDATE journal SET params = '{\"n\": 9}' WHERE seq = 2")
    status = journal.status()
    assert not status.chain_ok
    assert "event 2" in status.problems[0]
    db.execute("UPDATE journal SET hash = 'x' WHERE seq = 5")
    assert not journal.status(full=False).chain_ok  # the verified point itself changed


def test_a_failed_action_leaves_no_journal_event(db: Database) -> None:
    journal = JournalRepository(db)
    actor = Actor("device-1", "detective", "session-1")

    def search_whose_effect_fails() -> None:
        with db.atomic():
            journal.append(actor, "search")
            raise RuntimeError("the effect failed")

    with pytest.raises(RuntimeError):
        search_whose_effect_fails()
    assert journal.status().pending == 0


def test_the_file_holds_no_plate_text(db: Database, tmp_path: Path) -> None:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.is_file())
    for plate in PLATES:
        assert plate.encode() not in raw
    assert CASE.encode() not in raw
    assert b"SQLite format 3" not in raw


def test_a_wrong_key_is_a_clear_error_and_deletes_nothing(db: Database, tmp_path: Path) -> None:
    db.close()
    size = (tmp_path / "cache.db").stat().st_size
    with pytest.raises(WrongKeyError, match="Nothing was deleted"):
        open_encrypted(tmp_path / "cache.db", os.urandom(32))
    assert (tmp_path / "cache.db").stat().st_size == size


def test_a_cache_from_a_newer_platedesk_is_refused(db: Database) -> None:
    db.execute("INSERT INTO schema_migrations VALUES ('0999_future', '2027-01-01T00:00:00.000Z')")
    with pytest.raises(CacheError, match="newer Platedesk"):
        migrate(db, MIGRATIONS)


def test_purge_removes_expired_reads_but_keeps_evidence(db: Database) -> None:
    from app.cache.review import ReviewRepository

    ReviewRepository(db).add_mark(
        read_id="r0001", case_number=CASE, kind="evidence", corrected_plate=None, note="",
        marked_by="detective",
    )  # fmt: skip
    cutoff = T0 + timedelta(minutes=2, seconds=30)  # r0000, r0001 and r0002 are older
    reads = ReadRepository(db)
    assert reads.purge_expired(cutoff=cutoff.strftime("%Y-%m-%dT%H:%M:%S.000Z")) == (2, 1)
    assert reads.get("r0000") is None
    assert reads.get("r0001") is not None
    assert reads.get("r0003") is not None
    assert reads.count() == len(PLATES) - 2
    # the slice's search counts what its pages list: the purged reads are in neither
    assert len(_plates(db, None)) == len(PLATES) - 2
    query = SearchQuery(case_number=CASE, purpose="robbery", pattern=None)
    assert SearchRepository(db).count(query) == len(PLATES) - 2


def test_a_partner_slice_awaiting_approval_is_kept_without_a_count(db: Database) -> None:
    """The hub gives no count for a partner's slice before approval (null); the cache
    keeps the slice, its count 0 until the approved slice is saved again."""
    waiting = day_slice("s9", case_number=CASE, start=T0, estimated_reads=None, purpose="robbery")
    catalog = CatalogRepository(db)
    catalog.save_slice(waiting)
    kept = catalog.slice("s9")
    assert kept is not None
    assert kept.estimated_reads == 0
    catalog.save_slice(waiting.model_copy(update={"estimated_reads": 12}))
    again = catalog.slice("s9")
    assert again is not None
    assert again.estimated_reads == 12


def test_sorted_by_plate_one_plates_reads_are_in_time_order_on_every_page(db: Database) -> None:
    # Three more sightings of ABC1234, synced newest first: row ids against time order.
    ReadRepository(db).apply_page(
        slice_id="s1",
        reads=[_read(n, PLATES[0]) for n in (40, 30, 20)],
        tombstones=[],
        next_cursor="c9",
        complete=True,
    )
    query = SearchQuery(case_number=CASE, purpose="robbery", pattern=parse_pattern("ABC1234"))
    repo = SearchRepository(db)
    for order in (parse_order("plate"), parse_order("plate:desc")):
        rows: list[ReadRecord] = []
        cursor = None
        while True:  # a page of one row at a time: the cursor keeps the order too
            page = repo.page(query, order=order, after=cursor, limit=1)
            rows += page.rows
            if (cursor := page.next_cursor) is None:
                break
        times = [row.captured_at for row in rows]
        assert len(times) == 4
        assert times == sorted(times, reverse=order.descending)


def test_a_corrected_plate_is_found_and_each_row_carries_its_review_marks(db: Database) -> None:
    review = ReviewRepository(db)
    for case, kind, corrected in (
        (CASE, "misread", "QRS123"),  # r0004 is read ZZZ9999; the image shows QRS123
        (CASE, "evidence", None),
        ("2026-009999", "misread", "QRT777"),  # another case's mark: not this search's
    ):
        review.add_mark(
            read_id="r0004", case_number=case, kind=kind, corrected_plate=corrected,
            note="", marked_by="detective",
        )  # fmt: skip
    repo = SearchRepository(db)
    for text in ("QRS123", "QRS*", "*RS1?3"):
        query = SearchQuery(case_number=CASE, purpose="robbery", pattern=parse_pattern(text))
        assert repo.count(query) == 1, text
        [read] = repo.page(query, after=None, limit=10).rows
        assert (read.read_id, read.plate) == ("r0004", "ZZZ9999")
        assert read.review == ("misread", "evidence")
        assert read.corrected_plate == "QRS123"
    other = SearchQuery(case_number=CASE, purpose="robbery", pattern=parse_pattern("QRT777"))
    assert repo.count(other) == 0
    everything = SearchQuery(case_number=CASE, purpose="robbery", pattern=None)
    unmarked = [r for r in repo.page(everything, after=None, limit=50).rows if r.read_id != "r0004"]
    assert unmarked
    assert all(r.review == () and r.corrected_plate is None for r in unmarked)
