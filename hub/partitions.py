"""Day partitions of the reads table on PostgreSQL, so the purge drops whole days.

On PostgreSQL `reads` is partitioned by range of captured_at: one partition per
UTC day (`reads_pYYYYMMDD`, holding [day 00:00, next day 00:00)), and
`reads_default` for a moment whose day has no partition, which is where the held
reads of a dropped day go back to. SQLite has no partitions: every function here
does nothing there, and the purge deletes in batches (hub.retention).

insert_reads calls ensure_day_partitions under the change-log lock that every
writer of reads takes (hub.reads.lock_change_log), so two writers never race to
create the same day. PostgreSQL needs the partition key in every unique
constraint, so the primary key is (read_id, captured_at); insert_reads keeps
read_id unique by looking for the ids it inserts under the same lock
(refuse_stored_read_ids).

The purge of a whole expired day (purge_day_partition), in one transaction: the
day's held reads are copied aside, a tombstone is written for each of the others
(read_changes, as for a deleted read; inserted in read_id order, so the read_id
index takes them in key order instead of at random), the partition is detached
from reads and renamed `purge_reads_pYYYYMMDD_<suffix>`, and the held reads are
put back (into reads_default). The detached table is the list of the day's images:
nothing is copied. Once every expired day is detached, sweep_images takes them one
by one, a transaction each: it finds the day's images that no remaining read
names, has their files unlinked and drops the table. A crash before its commit
leaves the table for the next purge's sweep (and `purge_images`, the list kept by
an earlier version of the purge, is swept and emptied too).

Detaching or dropping a partition locks reads (ACCESS EXCLUSIVE) until commit, so
it is the last heavy step of its transaction; the sweep does not lock reads.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

DEFAULT_PARTITION = "reads_default"
_PREFIX = "reads_p"
_NAME = re.compile(r"reads_p([0-9]{8})")  # fullmatch
_DETACHED_PREFIX = "purge_"
_DETACHED_NAME = re.compile(r"^purge_reads_p[0-9]{8}_[0-9a-f]{8}$")
SWEEP_WORK_MEM = "128MB"
SWEEP_CHUNK = 20_000  # orphaned sha256 fetched (and handed to unlink) at a time


def partitioned(connection: Connection) -> bool:
    """Whether reads is partitioned by day here: on PostgreSQL (migration 0009)."""
    return connection.dialect.name == "postgresql"


def partition_name(day: date) -> str:
    return f"{_PREFIX}{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def create_day_partition(connection: Connection, day: date) -> bool:
    """Create the partition of one UTC day; False when reads_default already holds
    reads of that day (they stay there; the purge deletes them in batches)."""
    name = partition_name(day)
    start = day_start(day)
    statement = (
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF reads "
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{(start + timedelta(days=1)).isoformat()}')"
    )
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(statement)
    except sa.exc.DBAPIError:
        log.warning("reads of %s are in the default partition; that day keeps no partition", day)
        return False
    return True


def ensure_day_partitions(connection: Connection, days: Iterable[date]) -> None:
    """Make sure each day has its partition (call it under the change-log lock)."""
    if not partitioned(connection):
        return
    wanted = {partition_name(day): day for day in days}
    if not wanted:
        return
    existing = set(
        connection.execute(
            sa.text("SELECT relname FROM pg_class WHERE relname = ANY(:names)"),
            {"names": list(wanted)},
        ).scalars()
    )
    for name in sorted(set(wanted) - existing):
        create_day_partition(connection, wanted[name])


def refuse_stored_read_ids(connection: Connection, read_ids: list[str]) -> None:
    """IntegrityError when one of these read ids is stored already (under any day).

    Each day partition keeps read_id unique within its day only; the writers'
    change-log lock makes this check and the insert that follows one step.
    """
    if not partitioned(connection) or not read_ids:
        return
    found = connection.execute(
        sa.text("SELECT read_id FROM reads WHERE read_id = ANY(:ids) LIMIT 1"), {"ids": read_ids}
    ).first()
    if found is not None:
        raise sa.exc.IntegrityError(
            "INSERT INTO reads", None, ValueError("a read with this read_id is stored already")
        )


def expired_day_partitions(connection: Connection, cutoff: datetime) -> list[date]:
    """The days whose partition lies wholly before the cutoff, oldest first."""
    if not partitioned(connection):
        return []
    names = connection.execute(
        sa.text(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE parent.relname = 'reads'"
        )
    ).scalars()
    days = []
    for name in names:
        matched = _NAME.fullmatch(name)
        if matched is None:
            continue
        day = datetime.strptime(matched.group(1), "%Y%m%d").date()
        if day_start(day) + timedelta(days=1) <= cutoff:
            days.append(day)
    return sorted(days)


@dataclass(frozen=True)
class DayPurge:
    deleted_reads: int
    kept_on_hold: int


def purge_day_partition(connection: Connection, day: date, *, now: datetime) -> DayPurge:
    """Detach one expired day's partition, keeping its held reads (see the module doc).

    The caller holds the change-log lock (hub.reads.lock_change_log), commits, and
    calls sweep_images once the expired days are detached.
    """
    name = partition_name(day)
    held = "EXISTS (SELECT 1 FROM holds h WHERE h.read_id = r.read_id AND h.released_at IS NULL)"
    connection.exec_driver_sql(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE purge_kept ON COMMIT DROP AS SELECT * FROM {name} r WHERE {held}"
    )
    # Any order of a day's tombstones is a valid feed; read_id order (bytewise, as the
    # hex ids sort in any collation) fills the read_id index page by page.
    deleted = connection.execute(
        sa.text(
            "INSERT INTO read_changes (read_id, op, camera_id, captured_at, changed_at) "
            f"SELECT read_id, 'delete', camera_id, captured_at, :now FROM {name} r "
            f'WHERE NOT {held} ORDER BY read_id COLLATE "C"'
        ),
        {"now": now},
    ).rowcount
    connection.exec_driver_sql(f"ALTER TABLE reads DETACH PARTITION {name}")
    connection.exec_driver_sql(
        f"ALTER TABLE {name} RENAME TO {_DETACHED_PREFIX}{name}_{uuid.uuid4().hex[:8]}"
    )
    kept = connection.exec_driver_sql("INSERT INTO reads SELECT * FROM purge_kept").rowcount
    return DayPurge(deleted_reads=int(deleted), kept_on_hold=int(kept))


def detached_tables(connection: Connection) -> list[str]:
    """The detached day tables waiting for sweep_images, by name (none on SQLite)."""
    if not partitioned(connection):
        return []
    return list(
        connection.execute(
            sa.text(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ :pattern "
                "AND relnamespace = current_schema()::regnamespace ORDER BY relname"
            ),
            {"pattern": _DETACHED_NAME.pattern},
        ).scalars()
    )


def _copied_lines(connection: Connection, query: str) -> Iterator[list[str]]:
    """The one text column of the query's rows, in chunks of about SWEEP_CHUNK, streamed
    by COPY TO STDOUT: millions of rows at the cost of splitting lines (a result
    row through the driver and SQLAlchemy costs over a microsecond in Python)."""
    driver = connection.connection.driver_connection  # psycopg 3, in this transaction
    if driver is None:
        raise RuntimeError("the connection is closed")
    cursor = driver.cursor()
    try:
        with cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
            rest = b""
            lines: list[bytes] = []
            for block in copy:
                parts = (rest + bytes(block)).split(b"\n")
                rest = parts.pop()
                lines += parts
                if len(lines) >= SWEEP_CHUNK:
                    yield [line.decode() for line in lines]
                    lines = []
            if rest:
                lines.append(rest)
            if lines:
                yield [line.decode() for line in lines]
    finally:
        cursor.close()


def sweep_images(connection: Connection, table: str, unlink: Callable[[list[str]], object]) -> None:
    """Hand `unlink` the sha256 of the images of one detached day (`table`) that no
    read names any more (in chunks, as PostgreSQL finds them), then drop the table.
    The images `purge_images` lists (an earlier version's list) go along.

    Call it under the change-log lock (hub.reads.lock_change_log) and let the files
    go before the commit (hub.retention), so no ingest can name one of them meanwhile.
    An image named twice is handed over twice: the second unlink finds nothing.
    """
    if not partitioned(connection):
        return
    connection.exec_driver_sql("LOCK TABLE purge_images IN EXCLUSIVE MODE")  # one sweep at a time
    listed = (
        "SELECT sha256 FROM purge_images "
        f"UNION ALL SELECT image_sha256 FROM {table} UNION ALL SELECT crop_sha256 FROM {table}"
    )
    # Two hash anti-joins against the reads left, streamed: the first orphans reach
    # `unlink` while PostgreSQL scans on.
    connection.exec_driver_sql(f"SET LOCAL work_mem = '{SWEEP_WORK_MEM}'")
    query = (
        f"SELECT p.sha256 FROM ({listed}) p "
        "WHERE NOT EXISTS (SELECT 1 FROM reads r WHERE r.image_sha256 = p.sha256) "
        "AND NOT EXISTS (SELECT 1 FROM reads r WHERE r.crop_sha256 = p.sha256)"
    )
    for chunk in _copied_lines(connection, query):
        unlink(chunk)
    connection.exec_driver_sql(f"DROP TABLE {table}")
    connection.exec_driver_sql("TRUNCATE purge_images")
