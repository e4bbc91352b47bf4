"""Opening the SQLCipher cache, and explicit transactions that nest.

Repositories receive a `Database`; the driver is picked here alone (sqlcipher3
for the product, the standard sqlite3 for pure-storage unit tests).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlcipher3

from app.core.errors import KnownError

KEY_BYTES = 32


class CacheError(KnownError):
    """The cache cannot be opened or used; the message says what to do."""


class WrongKeyError(CacheError):
    pass


Row = sqlite3.Row


class WriteGate:
    """The turn to write one cache file, handed between this process's threads in order.

    SQLite lets one writer in at a time, and a connection that finds the file locked
    polls for it (busy_timeout) with growing sleeps: it can miss short gaps between
    another connection's transactions and wait far longer than any one of them. Every
    write transaction of this process takes the file's gate first, so the lock goes to
    the thread that waited longest as soon as it is free, and a long writer (a sync)
    can see that someone waits (`contended`) and commit at once. Reentrant: a thread
    that holds the gate may take it again (SQLite then decides, as it did before).
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._owner: int | None = None
        self._depth = 0
        self._next_ticket = 0
        self._serving = 0
        self._bulk_writers = 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._condition:
            if self._owner == me:
                self._depth += 1
                return
            ticket = self._next_ticket
            self._next_ticket += 1
            self._condition.wait_for(lambda: self._owner is None and self._serving == ticket)
            self._serving += 1
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._condition:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._condition.notify_all()

    @property
    def contended(self) -> bool:
        """Whether a thread waits for its turn to write."""
        with self._condition:
            return self._next_ticket > self._serving

    @contextmanager
    def checkpoints_deferred(self) -> Iterator[None]:
        """While a bulk writer runs, the other connections' commits run no WAL checkpoint
        (the bulk writer's checkpointer does, off everyone's way): a checkpoint run by
        whichever commit crosses wal_autocheckpoint copies every page the bulk writer
        left in the WAL, inside that commit."""
        with self._condition:
            self._bulk_writers += 1
        try:
            yield
        finally:
            with self._condition:
                self._bulk_writers -= 1

    @property
    def bulk_writing(self) -> bool:
        """Whether a bulk writer runs (and runs the WAL's checkpoints)."""
        return self._bulk_writers > 0  # an int read: atomic under the GIL


_GATES: weakref.WeakValueDictionary[str, WriteGate] = weakref.WeakValueDictionary()
_GATES_LOCK = threading.Lock()


def write_gate(path: Path) -> WriteGate:
    """The gate shared by every connection of this process to the file at `path`."""
    key = str(path.resolve())
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            gate = _GATES[key] = WriteGate()
        return gate


class Database:
    """One connection with nesting transactions; the Workstation gives each thread its own.

    Connections to one file that share a WriteGate take turns to write in the order
    they asked (open_encrypted shares one per file).
    """

    def __init__(self, connection: Any, *, gate: WriteGate | None = None) -> None:
        self.connection = connection
        self.gate = gate or WriteGate()
        self._depth = 0
        self._owner = threading.get_ident()
        self._autocheckpoint = AUTOCHECKPOINT_PAGES  # what this connection runs now

    def _follow_gate(self) -> None:
        """Run no WAL checkpoint in this connection's commits while a bulk writer runs
        them (WriteGate.checkpoints_deferred); the usual ones otherwise."""
        wanted = 0 if self.gate.bulk_writing else AUTOCHECKPOINT_PAGES
        if wanted != self._autocheckpoint:
            self.connection.execute(f"PRAGMA wal_autocheckpoint = {wanted}")
            self._autocheckpoint = wanted

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.connection.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return self.connection.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.connection.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.connection.execute(sql, params).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """A write transaction (BEGIN IMMEDIATE), or a SAVEPOINT inside one."""
        if self._depth == 0:
            self.gate.acquire()
            try:
                self._follow_gate()
                self.connection.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.gate.release()
                raise
        else:
            self.connection.execute(f"SAVEPOINT sp{self._depth}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                try:
                    self.connection.execute("ROLLBACK")
                finally:
                    self.gate.release()
            else:
                self.connection.execute(f"ROLLBACK TO sp{self._depth}")
                self.connection.execute(f"RELEASE sp{self._depth}")
            raise
        self._depth -= 1
        if self._depth == 0:
            try:
                self.connection.execute("COMMIT")
            finally:
                self.gate.release()
        else:
            self.connection.execute(f"RELEASE sp{self._depth}")

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def close(self) -> None:
        self.connection.close()


PAGE_CACHE_KIB = 64 * 1024
# SQLite's default: a commit that leaves the WAL longer than this checkpoints it.
AUTOCHECKPOINT_PAGES = 1000


def _configure(connection: Any) -> None:
    connection.row_factory = _row_factory(connection)
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA journal_mode = WAL")
    # FULL: a committed journal event survives a power cut (WAL alone may lose the last commits).
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA busy_timeout = 10000")
    connection.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
    # SQLCipher decrypts every page it reads from the file: a page cache that holds the
    # plate index and the reads' indexes keeps searches over 1,000,000 cached reads in
    # milliseconds (bench/bench_local_search.py). Pages are taken only as they are used.
    connection.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")


def _row_factory(connection: Any) -> Any:
    module = sqlcipher3 if isinstance(connection, sqlcipher3.Connection) else sqlite3
    return module.Row


def open_encrypted(path: Path, key: bytes) -> Database:
    """Open (or create) the cache file with a raw 32-byte key; a wrong key is a clear error."""
    if len(key) != KEY_BYTES:
        raise CacheError("The cache key in the keyring is damaged; sign out and sign in again.")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        connection = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    except sqlcipher3.Error as exc:
        raise CacheError(
            f"The cache {path} cannot be opened: {exc}. Check the disk and its permissions."
        ) from exc
    connection.execute("PRAGMA cipher_log_level = NONE")
    connection.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        connection.close()
        raise WrongKeyError(
            f"The cache {path} cannot be read with the key in this computer's keyring: the key "
            "is wrong or the file is damaged. Nothing was deleted; ask your administrator before "
            "removing the profile, as it may hold audit events not yet sent to the hub."
        ) from exc
    _configure(connection)
    return Database(connection, gate=write_gate(path))


def open_plain(path: str = ":memory:") -> Database:
    """An unencrypted database with the same behaviour, for storage unit tests."""
    connection = sqlite3.connect(path, isolation_level=None)
    _configure(connection)
    return Database(connection)


# A WAL longer than this (4 KiB pages) is emptied before the bulk writer's next
# transaction, so that transaction writes it again from the start.
WAL_RESTART_FRAMES = 4096


class BatchedWrites:
    """Many small units of work (feed pages) in few write transactions.

    A transaction stays open across units until it has been held `hold_s`, another
    thread of this process waits to write (the gate is contended), or the caller is
    about to wait for something else (`release`): commits are few and large, which is
    where a bulk sync's time went (65% of it in COMMIT with one page a transaction),
    while a search's journal entry waits at most for the unit in progress and one
    commit. A unit that must be all or nothing opens its own SAVEPOINT (Database.atomic
    inside the open transaction). Leaving the block commits what is open; an error out
    of the block rolls it back (a feed page's cursor commits with its last reads, so a
    sync then resumes after the last commit).

    `deferred_fsync` (a sync): the units' commits skip their fsync, and the WAL's
    checkpoints run here, after each commit, off the write lock. This connection alone
    runs `synchronous = NORMAL` (SQLite keeps it per connection), so a commit holds the
    lock only to write its pages to the WAL, not to wait for the disk; and no other
    connection's commit runs a checkpoint meanwhile (WriteGate.checkpoints_deferred),
    which would copy every page the sync left in the WAL inside a journal entry's
    commit. The checkpoint after each commit (PASSIVE: it takes no lock and waits for
    no one) fsyncs the WAL, then copies it into the database file, so the WAL stays
    short and a journal entry's commit finds at most one of the sync's commits
    unsynced. Durability:

    - Every other write, journal entries above all, keeps `synchronous = FULL`: its
      commit returns only once the WAL is fsynced, and an fsync covers the whole
      file, so every earlier frame, these units' included, is durable with it. WAL
      frames are only appended, and recovery keeps the frames up to the last intact
      commit, so what a power cut can take is a tail of commits made after the last
      fsync, which holds no acknowledged journal entry.
    - Such a tail holds only these units' work. Each commit holds whole units, and a
      feed page's cursor commits with its last part, so the cache after a power cut is
      the cache of an earlier moment of the sync, and the next sync fetches exactly the
      pages it lost again.
    - When the block ends, a last checkpoint makes every unit durable and this
      connection is back on FULL before anything else is written on it: journal
      entries are never written inside the block (a sync journals sync.start before
      it and sync.end after it).

    Inside a caller's transaction commits keep their fsync.
    """

    def __init__(self, db: Database, *, hold_s: float, deferred_fsync: bool = False) -> None:
        self.db = db
        self.hold_s = hold_s
        self._open: ExitStack | None = None
        self._since = 0.0
        self.commits = 0
        self.checkpoints = 0
        self._deferred = deferred_fsync
        self._mode: ExitStack | None = None
        self._wal_frames = 0  # the WAL's length at the last checkpoint

    def __enter__(self) -> BatchedWrites:
        if self._deferred and not self.db.in_transaction:
            mode = ExitStack()
            self.db.execute("PRAGMA synchronous = NORMAL")
            mode.callback(self._durable_again)
            mode.enter_context(self.db.gate.checkpoints_deferred())
            self._mode = mode
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        open_, self._open = self._open, None
        try:
            if open_ is not None:
                open_.__exit__(kind, error, trace)
        finally:
            mode, self._mode = self._mode, None
            if mode is not None:
                mode.close()

    def _durable_again(self) -> None:
        # A sync stopped because the device was revoked closed the connection (and
        # wiped the cache): that error must surface, not one from here.
        with contextlib.suppress(Exception):
            self._checkpoint()  # every unit durable
        # Back on FULL even when that checkpoint failed: what this connection writes next
        # (sync.end, journal entries) must wait for the disk.
        with contextlib.suppress(Exception):
            self.db.execute("PRAGMA synchronous = FULL")

    def _checkpoint(self) -> None:
        self._wal_frames = int(self.db.one("PRAGMA wal_checkpoint(PASSIVE)")[1])
        self.checkpoints += 1

    @contextmanager
    def unit(self) -> Iterator[Database]:
        """One unit of work, in the open transaction (begun if none is)."""
        if self._open is None:
            stack = ExitStack()
            if self._mode is not None and self._wal_frames > WAL_RESTART_FRAMES:
                # The checkpoint after the last commit could not leave the WAL empty
                # (another connection wrote since): with the lock, copy what is left,
                # a journal entry or two, so this transaction starts the WAL again.
                self.db.gate.acquire()
                stack.callback(self.db.gate.release)
                self._checkpoint()
            stack.enter_context(self.db.atomic())
            self._open, self._since = stack, time.monotonic()
        yield self.db
        if self.db.gate.contended or time.monotonic() - self._since >= self.hold_s:
            self.release()

    def release(self) -> None:
        """Commit what is open (before waiting for the next unit's input)."""
        open_, self._open = self._open, None
        if open_ is not None:
            open_.close()
            self.commits += 1
            if self._mode is not None:
                self._checkpoint()
