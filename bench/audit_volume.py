"""A scratch PostgreSQL hub holding a large audit log, for the audit trail and insights
benchmarks (bench_audit_search.py, bench_operator_insights.py).

The events are written by the database itself (generate_series), spread evenly over
DAYS days up to `end`: USERS users, the first UNIT_USERS of them in one unit, one
device each; per ten events six workstation searches, one hub search, one case open,
one review decision and one refused search; plate patterns cycle over 997 values, so
a user searches some plates more than once. Hashes are filler (the benchmarks search
and analyse; they do not verify chains).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa

from app.core.schemas import Role
from hub.core.config import HubSettings
from hub.core.db import Database, migrate
from hub.db.tables import users
from hub.slices import Caller

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
USERS = 500
UNIT = "bench-unit"
UNIT_USERS = 50
DAYS = 60
INDEX = "ix_audit_events_username_occurred_at"
END = datetime(2026, 12, 1, tzinfo=UTC)

FILL = """
INSERT INTO audit_events (event_id, device_id, username, session_id, seq, occurred_at,
    action, object_refs, params, outcome, prev_hash, hash, received_at, late)
SELECT md5(i::text), 'dev-' || (mod(i, {users})), 'user' || (mod(i, {users})), 's', i / {users} + 1,
    to_char((%(start)s::timestamptz + (i * %(step)s::interval)) AT TIME ZONE 'UTC',
            'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    (ARRAY['search','search','search','search','search','search','search.request',
           'case.open','review.decision','search.refused'])[mod(i, 10) + 1],
    '{{"case_number":"2026-' || lpad((mod(i, 400))::text, 6, '0') || '"}}',
    '{{"pattern":"P' || (mod(i, 997)) || '*","purpose":"robbery"}}',
    CASE WHEN mod(i, 10) = 9 THEN 'refused' ELSE 'ok' END,
    md5((i - 1)::text) || md5((i - 1)::text), md5(i::text) || md5(i::text),
    %(start)s::timestamptz + (i * %(step)s::interval), false
FROM generate_series(1, %(events)s) AS i
"""


def supervisor(database: Database) -> Caller:
    with database.read() as connection:
        user_id = connection.execute(
            sa.select(users.c.user_id).where(users.c.username == "sergeant")
        ).scalar_one()
    return Caller(user_id=int(user_id), username="sergeant", role=Role.SUPERVISOR,
                  session_id="bench")  # fmt: skip


@contextmanager
def audit_hub(events: int) -> Iterator[Database]:
    """A migrated scratch database holding `events` audit events (dropped afterwards)."""
    name = f"platedesk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    database = Database(HubSettings(data_dir=Path("."), database_url=url).sqlalchemy_url)
    try:
        migrate(database)
        with database.write() as connection:
            connection.execute(
                users.insert(),
                [
                    {"username": f"user{u}", "display_name": f"Officer {u}", "role": "detective",
                     "password_hash": "-", "totp_secret": "-", "created_at": END,
                     "unit": UNIT if u < UNIT_USERS else "other-unit"}
                    for u in range(USERS)
                ]
                + [{"username": "sergeant", "display_name": "Sgt. Bench", "role": "supervisor",
                    "password_hash": "-", "totp_secret": "-", "created_at": END, "unit": UNIT}],
            )  # fmt: skip
        with psycopg.connect(url, autocommit=True) as direct:
            step = timedelta(days=DAYS) / events
            direct.execute(
                FILL.format(users=USERS).encode(),
                {"start": END - timedelta(days=DAYS), "step": step, "events": events},
            )
            direct.execute("ANALYZE audit_events")
        yield database
    finally:
        database.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def set_index(database: Database, *, present: bool) -> None:
    """Drop the 0016 index (the baseline: the log as it was before) or create it."""
    with database.write() as connection:
        if present:
            connection.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON audit_events (username, occurred_at)"
            )
        else:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {INDEX}")
        connection.exec_driver_sql("ANALYZE audit_events")


def percentile(samples: list[float], q: int) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, (len(ordered) * q) // 100)], 1)
