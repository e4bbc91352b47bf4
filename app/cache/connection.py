"""Opening the SQLCipher cache, and explicit transactions that nest.

Repositories receive a `Database`; the driver is picked here alone (sqlcipher3
for the product, the standard sqlite3 for pure-storage unit tests).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3

from app.core.errors import KnownError

KEY_BYTES = 32


class CacheError(KnownError):
    """The cache cannot be opened or used; the message says what to do."""


class WrongKeyError(CacheError):
    pass


Row = sqlite3.Row


class Database:
    """One connection with nesting transactions; the Workstation gives each thread its own."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
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
            self.connection.execute("BEGIN IMMEDIATE")
        else:
            self.connection.execute(f"SAVEPOINT sp{self._depth}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.connection.execute("ROLLBACK")
            else:
                self.connection.execute(f"ROLLBACK TO sp{self._depth}")
                self.connection.execute(f"RELEASE sp{self._depth}")
            raise
        self._depth -= 1
        if self._depth == 0:
            self.connection.execute("COMMIT")
        else:
            self.connection.execute(f"RELEASE sp{self._depth}")

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
    return Database(connection)


def open_plain(path: str = ":memory:") -> Database:
    """An unencrypted database with the same behaviour, for storage unit tests."""
    connection = sqlite3.connect(path, isolation_level=None)
    _configure(connection)
    return Database(connection)
