"""Turns to write the cache: a long writer (a sync) keeps one transaction on the mirror
file across many small units, and hands the lock to another writer of that file as soon
as that one waits; a writer of the desk file alone (a journal entry) does not wait."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlcipher3

from app.cache import connection
from app.cache.connection import DESK, MIRROR, BatchedWrites, Database, open_encrypted


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    """Two connections to one encrypted cache file (as two threads of a workstation hold)."""
    key = os.urandom(32)
    first = open_encrypted(tmp_path / "cache.db", key)
    first.execute("CREATE TABLE mirror.writes (who TEXT NOT NULL)")
    first.execute("CREATE TABLE main.desk_writes (who TEXT NOT NULL)")
    second = open_encrypted(tmp_path / "cache.db", key)
    yield first, second
    first.close()
    second.close()


def _written(db: Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT who FROM writes ORDER BY rowid")]


def until(check: Callable[[], bool]) -> None:
    """Wait (bounded) until `check()` holds; fail the test rather than hang."""
    pause = threading.Event()
    for _ in range(10_000):
        if check():
            return
        pause.wait(0.001)
    pytest.fail("the other writer never asked for its turn")


def test_a_waiting_writer_gets_the_lock_after_the_unit_in_progress(
    pair: tuple[Database, Database],
) -> None:
    long, other = pair
    assert long.gates[MIRROR] is other.gates[MIRROR]  # one file, one gate

    def other_writes() -> None:
        with other.atomic():
            other.execute("INSERT INTO writes VALUES ('other')")

    with BatchedWrites(long, hold_s=3600) as writes:
        with writes.unit():
            long.execute("INSERT INTO writes VALUES ('unit 1')")
        # No one waits and the hold is long: the transaction stays open across units.
        assert long.in_transaction
        assert _written(other) == []
        waiter = threading.Thread(target=other_writes)
        waiter.start()
        until(lambda: long.gates[MIRROR].contended)
        with writes.unit():
            long.execute("INSERT INTO writes VALUES ('unit 2')")
        assert not long.in_transaction  # handed over at once
        waiter.join()
        with writes.unit():
            long.execute("INSERT INTO writes VALUES ('unit 3')")
        assert writes.commits == 1
    assert _written(other) == ["unit 1", "unit 2", "other", "unit 3"]


def test_units_commit_once_held_long_enough(pair: tuple[Database, Database]) -> None:
    long, other = pair
    with BatchedWrites(long, hold_s=0) as writes:
        for n in range(3):
            with writes.unit():
                long.execute("INSERT INTO writes VALUES (?)", (f"unit {n}",))
            assert _written(other)[-1] == f"unit {n}"
    assert writes.commits == 3


def test_an_error_rolls_back_what_is_open_and_keeps_what_committed(
    pair: tuple[Database, Database],
) -> None:
    long, other = pair

    def sync_that_fails() -> None:
        with BatchedWrites(long, hold_s=3600) as writes:
            with writes.unit():
                long.execute("INSERT INTO writes VALUES ('committed')")
            writes.release()
            with writes.unit():
                long.execute("INSERT INTO writes VALUES ('lost')")
            raise RuntimeError("the link dropped")

    with pytest.raises(RuntimeError):
        sync_that_fails()
    assert _written(other) == ["committed"]
    assert not long.in_transaction
    with other.atomic():  # the lock is free again
        other.execute("INSERT INTO writes VALUES ('after')")
    assert _written(long) == ["committed", "after"]


def _pragma(db: Database, name: str) -> int:
    return int(db.scalar(f"PRAGMA {name}"))


def test_deferred_fsync_is_the_bulk_writers_alone_and_is_put_back(
    pair: tuple[Database, Database],
) -> None:
    long, other = pair
    with BatchedWrites(long, hold_s=3600, deferred_fsync=True) as writes:
        with writes.unit():
            long.execute("INSERT INTO writes VALUES ('bulk')")
        assert _pragma(long, "mirror.synchronous") == 1  # NORMAL: its commits skip the fsync
        assert _pragma(long, "main.synchronous") == 2  # the desk's commits keep theirs
        writes.release()
        with other.atomic():  # a journal entry's commit keeps its fsync, runs no checkpoint
            other.execute("INSERT INTO writes VALUES ('other')")
        assert _pragma(other, "mirror.synchronous") == 2  # FULL
        assert _pragma(other, "wal_autocheckpoint") == 0
    assert _pragma(long, "mirror.synchronous") == 2
    with other.atomic():
        other.execute("INSERT INTO writes VALUES ('after')")
    assert _pragma(other, "wal_autocheckpoint") == 1000  # checkpoints as before
    with pytest.raises(RuntimeError), BatchedWrites(long, hold_s=0, deferred_fsync=True):
        raise RuntimeError("the hub went away")
    assert _pragma(long, "mirror.synchronous") == 2
    assert not long.gates[MIRROR].bulk_writing


def test_the_bulk_writers_checkpoints_keep_the_wal_short(
    pair: tuple[Database, Database], tmp_path: Path
) -> None:
    """Its checkpoints copy the WAL into the file after each commit, and the WAL starts
    again from its beginning, even when another connection's reading kept a checkpoint
    from copying all of it (that connection's commits run no checkpoint meanwhile)."""
    long, other = pair
    unit_bytes, units = 1_000_000, 40
    with BatchedWrites(long, hold_s=3600, deferred_fsync=True) as writes:
        for _ in range(units):
            with writes.unit():
                long.execute("INSERT INTO writes VALUES (hex(randomblob(?)))", (unit_bytes // 2,))
            other.execute("BEGIN")  # a search reads while the sync commits
            other.execute("SELECT count(*) FROM writes").fetchone()
            writes.release()
            other.execute("COMMIT")
        assert writes.checkpoints >= units
    wal = (tmp_path / "cache.db-mirror-wal").stat().st_size
    assert wal < units * unit_bytes / 2  # without a restart it holds every unit
    assert len(_written(other)) == units


def test_a_wal_grown_by_a_large_transaction_is_cut_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once checkpointed, the next transaction starts the WAL again and cuts the file to
    the limit, rather than keeping the size of the largest transaction on disk."""
    monkeypatch.setattr(connection, "JOURNAL_SIZE_LIMIT", 1_000_000)
    db = open_encrypted(tmp_path / "cache.db", os.urandom(32))
    try:
        db.execute("CREATE TABLE mirror.writes (who TEXT NOT NULL)")
        wal = tmp_path / "cache.db-mirror-wal"
        with db.atomic(only=MIRROR):
            for _ in range(8):
                db.execute("INSERT INTO writes VALUES (hex(randomblob(500000)))")
        assert wal.stat().st_size > 8_000_000
        db.one("PRAGMA mirror.wal_checkpoint(PASSIVE)")
        with db.atomic(only=MIRROR):
            db.execute("INSERT INTO writes VALUES ('small')")
        assert wal.stat().st_size <= 1_000_000
    finally:
        db.close()


def test_a_desk_writer_does_not_wait_for_the_mirrors_open_transaction(
    pair: tuple[Database, Database],
) -> None:
    """A journal entry (the desk file alone) commits while a sync holds the mirror's
    write lock, and takes no turn from it; the mirror's rows it cannot see yet."""
    long, other = pair
    done = threading.Event()

    def journal_entry() -> None:
        with other.atomic(only=DESK):
            other.execute("INSERT INTO desk_writes VALUES ('search')")
        done.set()

    with BatchedWrites(long, hold_s=3600) as writes:
        with writes.unit():
            long.execute("INSERT INTO writes VALUES ('unit 1')")
        entry = threading.Thread(target=journal_entry)
        entry.start()
        entry.join(timeout=5)
        assert done.is_set()  # committed with the mirror's transaction still open
        assert long.in_transaction
        assert not long.gates[MIRROR].contended
        assert _written(other) == []
    assert _written(other) == ["unit 1"]
    assert [row[0] for row in long.execute("SELECT who FROM desk_writes")] == ["search"]


def test_a_transaction_of_one_file_cannot_write_the_other(
    pair: tuple[Database, Database],
) -> None:
    """Writing the mirror from a desk-only transaction would take the mirror's lock out
    of turn: SQLite refuses it, and the transaction is rolled back whole."""
    _, other = pair

    def out_of_turn() -> None:
        with other.atomic(only=DESK):
            other.execute("INSERT INTO desk_writes VALUES ('kept?')")
            other.execute("INSERT INTO writes VALUES ('out of turn')")

    with pytest.raises(sqlcipher3.DatabaseError, match="not authorized"):
        out_of_turn()
    assert [row[0] for row in other.execute("SELECT who FROM desk_writes")] == []
    assert _written(other) == []
    with other.atomic():  # both files, both turns: allowed
        other.execute("INSERT INTO desk_writes VALUES ('both')")
        other.execute("INSERT INTO writes VALUES ('both')")
    assert _written(other) == ["both"]
