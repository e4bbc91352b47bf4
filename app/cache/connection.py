"""Opening the SQLCipher cache, and explicit transactions that nest.

Repositories receive a `Database`; the driver is picked here alone (sqlcipher3
for the product, the standard sqlite3 for pure-storage unit tests).
"""

from __future__ import annotations

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


def _configure(connection: Any) -> None:
    connection.row_factory = _row_factory(connection)
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA journal_mode = WAL")
    # FULL: a committed journal event survives a power cut (WAL alone may lose the last commits).
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA busy_timeout = 10000")
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
    """

    def __init__(self, db: Database, *, hold_s: float) -> None:
        self.db = db
        self.hold_s = hold_s
        self._open: ExitStack | None = None
        self._since = 0.0
        self.commits = 0

    def __enter__(self) -> BatchedWrites:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        open_, self._open = self._open, None
        if open_ is not None:
            open_.__exit__(kind, error, trace)

    @contextmanager
    def unit(self) -> Iterator[Database]:
        """One unit of work, in the open transaction (begun if none is)."""
        if self._open is None:
            stack = ExitStack()
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
