"""Opening the SQLCipher cache, and explicit transactions that nest.

Repositories receive a `Database`; the driver is picked here alone (sqlcipher3
for the product, the standard sqlite3 for pure-storage unit tests).
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlcipher3

from app.core.errors import KnownError

KEY_BYTES = 32

# The cache is two SQLCipher files under one key, one connection over both (the mirror
# ATTACHed): the desk file ("main") holds the workstation's own records (the journal,
# marks, holds, settings, the catalog); the mirror file holds what the hub sends (slices,
# their reads with the plate index, images). A sync writes the mirror alone, so it holds
# the mirror's write lock while a search's journal entry takes the desk's (issue 25: a
# sync's commit of a few thousand reads holds its lock for 300 ms).
DESK = "main"
MIRROR = "mirror"
MIRROR_SUFFIX = "-mirror"
# A table in each file that nothing writes: a transaction that writes one file alone
# begins with a no-op DELETE from it, which takes that file's write lock and no other
# (BEGIN IMMEDIATE takes the lock of every attached file).
WRITE_LOCK_TABLE = "write_lock"


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


def mirror_path(path: Path) -> Path:
    """The mirror file beside the cache file at `path`."""
    return path.with_name(path.name + MIRROR_SUFFIX)


def cache_files(path: Path) -> list[Path]:
    """The cache's files on disk: the desk and the mirror, each with its write-ahead log."""
    mirror = mirror_path(path)
    return [path, mirror, *(p.with_name(p.name + "-wal") for p in (path, mirror))]


class Database:
    """One connection over the cache's two files, with nesting transactions; the
    Workstation gives each thread its own.

    Connections to one file that share a WriteGate take turns to write in the order
    they asked (open_encrypted shares one per file). `gates` lists the files in the
    order a transaction over several takes their turns: the mirror first, so that
    one waiting behind a sync holds no turn at the desk meanwhile.
    """

    def __init__(self, connection: Any, *, gates: dict[str, WriteGate] | None = None) -> None:
        self.connection = connection
        self.gates = gates or {MIRROR: WriteGate(), DESK: WriteGate()}
        self._depth = 0
        self._owner = threading.get_ident()
        self._autocheckpoint = AUTOCHECKPOINT_PAGES  # what this connection runs now
        self._held: list[WriteGate] = []  # the turns the open transaction holds
        self._only: str | None = None  # the one file it writes, when it writes one

    @property
    def gate(self) -> WriteGate:
        """The desk file's turn to write (the journal's)."""
        return self.gates[DESK]

    def _follow_gates(self, gates: list[WriteGate]) -> None:
        """Run no WAL checkpoint in this connection's commits while a bulk writer of a
        file they write runs them (WriteGate.checkpoints_deferred); the usual ones
        otherwise. (A commit checkpoints only the files it wrote.)"""
        wanted = 0 if any(gate.bulk_writing for gate in gates) else AUTOCHECKPOINT_PAGES
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
    def atomic(self, *, only: str | None = None) -> Iterator[Database]:
        """A write transaction over both files (BEGIN IMMEDIATE), or over the one file
        `only` names (DESK or MIRROR), or a SAVEPOINT inside the open transaction.

        A transaction over one file takes that file's turn and lock alone: a journal
        entry (DESK) does not wait for a sync (MIRROR). Writing the other file in it is
        refused (SQLite's "not authorized"): it would take that lock unordered, and a
        file read earlier in the transaction could have moved on meanwhile.
        """
        if self._depth == 0:
            self._begin(only)
        else:
            self.connection.execute(f"SAVEPOINT sp{self._depth}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._end("ROLLBACK")
            else:
                self.connection.execute(f"ROLLBACK TO sp{self._depth}")
                self.connection.execute(f"RELEASE sp{self._depth}")
            raise
        self._depth -= 1
        if self._depth == 0:
            self._end("COMMIT")
        else:
            self.connection.execute(f"RELEASE sp{self._depth}")

    def _begin(self, only: str | None) -> None:
        gates = list(self.gates.values()) if only is None else [self.gates[only]]
        try:
            for gate in gates:
                gate.acquire()
                self._held.append(gate)
            self._follow_gates(gates)
            if only is None:
                self.connection.execute("BEGIN IMMEDIATE")
                return
            self.connection.set_authorizer(_writes_to(only))
            self._only = only
            self.connection.execute("BEGIN")
            try:
                self.connection.execute(f"DELETE FROM {only}.{WRITE_LOCK_TABLE} WHERE 0")
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
        except BaseException:
            self._release()
            raise

    def _end(self, statement: str) -> None:
        try:
            self.connection.execute(statement)
        finally:
            self._release()

    def _release(self) -> None:
        if self._only is not None:
            self._only = None
            self.connection.set_authorizer(None)
        while self._held:
            self._held.pop().release()

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def close(self) -> None:
        self.connection.close()


_WRITES = frozenset(
    (
        sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE,
        sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_CREATE_TRIGGER,
        sqlite3.SQLITE_CREATE_VTABLE, sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_DROP_INDEX,
        sqlite3.SQLITE_DROP_TRIGGER, sqlite3.SQLITE_DROP_VTABLE, sqlite3.SQLITE_ALTER_TABLE,
    )
)  # fmt: skip


@functools.cache
def _writes_to(schema: str) -> Callable[[int, str | None, str | None, str | None, str | None], int]:
    """An authorizer that lets statements write the file `schema` alone (and temp)."""

    def authorize(
        action: int,
        _arg1: str | None,
        _arg2: str | None,
        database: str | None,
        _trigger: str | None,
    ) -> int:
        if action in _WRITES and database not in (None, schema, "temp"):
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    return authorize


PAGE_CACHE_KIB = 64 * 1024
# SQLite's default: a commit that leaves the WAL longer than this checkpoints it.
AUTOCHECKPOINT_PAGES = 1000
# A WAL is cut back to this size once it starts again from its beginning: a sync's
# two-second transactions grow the mirror's WAL to about 90 MB, which it would otherwise
# keep on disk until the last connection closes.
JOURNAL_SIZE_LIMIT = 32 * 1024 * 1024


def _configure(connection: Any) -> None:
    """Set up a connection whose mirror is attached (each file keeps its own settings)."""
    connection.row_factory = _row_factory(connection)
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA busy_timeout = 10000")
    connection.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
    for schema in (DESK, MIRROR):
        connection.execute(f"PRAGMA {schema}.journal_mode = WAL")
        connection.execute(f"PRAGMA {schema}.journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        # FULL: a committed journal event survives a power cut (WAL alone may lose the
        # last commits).
        connection.execute(f"PRAGMA {schema}.synchronous = FULL")
        # SQLCipher decrypts every page it reads from the file: a page cache that holds
        # the plate index and the reads' indexes keeps searches over 1,000,000 cached
        # reads in milliseconds (bench/bench_local_search.py). Pages are taken only as
        # they are used.
        connection.execute(f"PRAGMA {schema}.cache_size = -{PAGE_CACHE_KIB}")
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.{WRITE_LOCK_TABLE} (never_written INTEGER)"
        )


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
    raw_key = f"x'{key.hex()}'"
    connection.execute(f'PRAGMA key = "{raw_key}"')
    mirror = mirror_path(path)
    checking = path
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        checking = mirror
        connection.execute(f"ATTACH DATABASE ? AS {MIRROR} KEY ?", (str(mirror), raw_key))
        connection.execute(f"SELECT count(*) FROM {MIRROR}.sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        connection.close()
        raise WrongKeyError(
            f"The cache {checking} cannot be read with the key in this computer's keyring: the "
            "key is wrong or the file is damaged. Nothing was deleted; ask your administrator "
            "before removing the profile, as it may hold audit events not yet sent to the hub."
        ) from exc
    _configure(connection)
    return Database(connection, gates={MIRROR: write_gate(mirror), DESK: write_gate(path)})


def open_plain(path: str = ":memory:") -> Database:
    """An unencrypted database with the same behaviour, for storage unit tests (its
    mirror in memory too, or in the file beside `path`)."""
    connection = sqlite3.connect(path, isolation_level=None)
    mirror = path if path == ":memory:" else str(mirror_path(Path(path)))
    connection.execute(f"ATTACH DATABASE ? AS {MIRROR}", (mirror,))
    _configure(connection)
    return Database(connection)


# A WAL longer than this (4 KiB pages) is emptied before the bulk writer's next
# transaction, so that transaction writes it again from the start.
WAL_RESTART_FRAMES = 4096


class BatchedWrites:
    """Many small units of work (feed pages) in few write transactions over one file
    (`file`: the mirror, for a sync).

    A transaction stays open across units until it has been held `hold_s`, another
    thread of this process waits to write that file (its gate is contended), or the
    caller is about to wait for something else (`release`): commits are few and large,
    which is where a bulk sync's time went (65% of it in COMMIT with one page a
    transaction), while another writer of the file waits at most for the unit in
    progress and one commit. Writers of the other file (a search's journal entry, at
    the desk) do not wait at all. A unit that must be all or nothing opens its own
    SAVEPOINT (Database.atomic inside the open transaction). Leaving the block commits
    what is open; an error out of the block rolls it back (a feed page's cursor
    commits with its last reads, so a sync then resumes after the last commit).

    `deferred_fsync` (a sync): the units' commits skip their fsync, and the file's WAL
    checkpoints run here, after each commit, off the write lock. This connection alone
    runs `synchronous = NORMAL` on the file (SQLite keeps it per connection and file),
    so a commit holds the lock only to write its pages to the WAL, not to wait for the
    disk; and no other connection's commit to the file runs a checkpoint meanwhile
    (WriteGate.checkpoints_deferred), which would copy every page the sync left in the
    WAL inside that commit. The checkpoint after each commit (PASSIVE: it takes no lock
    and waits for no one) fsyncs the WAL, then copies it into the database file, so the
    WAL stays short. Durability:

    - Every other write keeps `synchronous = FULL`: its commit returns only once its
      file's WAL is fsynced. Journal entries are in the other file (the desk), which
      these units never write, so no acknowledged journal entry depends on them.
      Another writer of this file fsyncs its WAL, these units' frames with it; WAL
      frames are only appended, and recovery keeps the frames up to the last intact
      commit, so what a power cut can take is a tail of these units' commits.
    - Each commit holds whole units, and a feed page's cursor commits with its last
      part, so the mirror after a power cut is the mirror of an earlier moment of the
      sync, and the next sync fetches exactly the pages it lost again.
    - When the block ends, a last checkpoint makes every unit durable and this
      connection is back on FULL before anything else is written on it (a sync
      journals sync.start before the block and sync.end after it).

    Inside a caller's transaction commits keep their fsync.
    """

    def __init__(
        self, db: Database, *, hold_s: float, deferred_fsync: bool = False, file: str = MIRROR
    ) -> None:
        self.db = db
        self.file = file  # the one file the units write
        self.gate = db.gates[file]
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
            self.db.execute(f"PRAGMA {self.file}.synchronous = NORMAL")
            mode.callback(self._durable_again)
            mode.enter_context(self.gate.checkpoints_deferred())
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
            self.db.execute(f"PRAGMA {self.file}.synchronous = FULL")

    def _checkpoint(self) -> None:
        self._wal_frames = int(self.db.one(f"PRAGMA {self.file}.wal_checkpoint(PASSIVE)")[1])
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
                self.gate.acquire()
                stack.callback(self.gate.release)
                self._checkpoint()
            stack.enter_context(self.db.atomic(only=self.file))
            self._open, self._since = stack, time.monotonic()
        yield self.db
        if self.gate.contended or time.monotonic() - self._since >= self.hold_s:
            self.release()

    def release(self) -> None:
        """Commit what is open (before waiting for the next unit's input)."""
        open_, self._open = self._open, None
        if open_ is not None:
            open_.close()
            self.commits += 1
            if self._mode is not None:
                self._checkpoint()
