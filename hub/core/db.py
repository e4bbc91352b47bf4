"""The hub's database: one engine, explicit transactions, migrations.

SQLite (the embedded default) runs in WAL mode with foreign keys on; a write
transaction starts with BEGIN IMMEDIATE so writers queue instead of failing.
PostgreSQL goes through psycopg 3. The same Core queries run on both.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

from app.core.errors import KnownError
from hub.core.config import DB_FILE_NAME, HubSettings, database_kind
from hub.db.tables import metadata
from hub.partitions import detached_tables

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_WRITE_OPTION = "platedesk_write"


def create_engine(url: str) -> Engine:
    """An engine for the hub's URL, with the SQLite pragmas and transaction mode set."""
    if database_kind(url) == "postgresql":
        # psycopg prepares a statement after 5 runs, and PostgreSQL may then switch to a
        # generic plan: one that cannot know a LIKE pattern, so it never uses the pg_trgm
        # index (a remote search then scans every day partition). Plan every run afresh.
        return sa.create_engine(
            url,
            pool_pre_ping=True,
            hide_parameters=True,
            connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
        )
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" hook issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


class Database:
    """The hub's engine and its two kinds of transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.kind = database_kind(url)
        self.engine = create_engine(url)

    @property
    def is_postgresql(self) -> bool:
        return self.kind == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on SQLite)."""
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any error."""
        with self.engine.connect() as connection:
            connection.execution_options(**{_WRITE_OPTION: True})
            with connection.begin():
                yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise KnownError("The hub has no migrations; the installation is damaged.")
    return head


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


# Keys of PostgreSQL advisory locks (one bigint space per database) that make a
# step run on one hub node at a time: several nodes share one database.
MIGRATE_LOCK = 0x706C_6400_0001
PURGE_LOCK = 0x706C_6400_0002
AUDIT_LOCK = 0x706C_6400_0003  # held by each audit log writer until its commit (hub.audit)


@contextmanager
def advisory_lock(database: Database, key: int, *, wait: bool = True) -> Iterator[bool]:
    """Hold PostgreSQL's session advisory lock `key` for the block, on a connection
    of its own (a node that dies lets go of it with its connection). With `wait`
    it waits for the lock; without, it yields False at once when another node holds
    it. On SQLite it yields True: one machine, whose `serve --workers N` runs such
    steps in its supervising process alone."""
    if not database.is_postgresql:
        yield True
        return
    with database.engine.connect() as connection:
        function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        got = connection.execute(sa.text(f"SELECT {function}(:key)"), {"key": key}).scalar()
        held = wait or bool(got)
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()


def migrate(database: Database) -> str:
    """Bring the schema to the newest revision; returns it. Nodes that start together
    take turns (an advisory lock on PostgreSQL): the first migrates, the others find
    the schema at its head."""
    with advisory_lock(database, MIGRATE_LOCK):
        return _migrate(database)


def _migrate(database: Database) -> str:
    current = current_revision(database)
    head = head_revision()
    if current is not None and current != head:
        from alembic.script import ScriptDirectory

        known = {
            rev.revision for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions()
        }
        if current not in known:
            raise KnownError(
                f"This database was written by a newer hub (schema {current}); "
                "upgrade platedesk-hub before using it."
            )
    config = _alembic_config()
    with database.engine.connect() as connection:
        connection.execution_options(**{_WRITE_OPTION: True})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
    return head


def drop_everything(database: Database, settings: HubSettings) -> None:
    """Remove every table (PostgreSQL) or the database file and images (SQLite)."""
    if database.is_postgresql:
        with database.write() as connection:
            metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            connection.exec_driver_sql("DROP TABLE IF EXISTS purge_images")  # 0009
            for table in detached_tables(connection):  # days a crashed purge left unswept
                connection.exec_driver_sql(f"DROP TABLE {table}")
            connection.exec_driver_sql("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        database.dispose()
        for suffix in ("", "-wal", "-shm"):
            (settings.data_dir / (DB_FILE_NAME + suffix)).unlink(missing_ok=True)
    shutil.rmtree(settings.images_dir, ignore_errors=True)
    log.info("database and image store wiped")
