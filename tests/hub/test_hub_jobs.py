"""Several hub nodes on one database: the daily purge runs once between them, and
migrations run once (PostgreSQL advisory locks; SQLite is one machine)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.core.db import MIGRATE_LOCK, PURGE_LOCK, advisory_lock, head_revision, migrate
from hub.db.tables import audit_events
from hub.images import open_image_store
from hub.jobs import purge_once
from hub.retention import PURGE_ACTION
from tests.hub.hub_support import HubFixture, old_read

WAIT_SECONDS = 30  # at most, for another session to show as waiting (not a timing check)


def _purges(hub: HubFixture) -> int:
    with hub.database.read() as connection:
        count: int = connection.execute(
            sa.select(sa.func.count()).where(audit_events.c.action == PURGE_ACTION)
        ).scalar_one()
    return count


def _purge(hub: HubFixture) -> object:
    return purge_once(
        hub.settings,
        hub.database,
        open_image_store(hub.settings),
        clock=hub.clock,
        stop=threading.Event(),
    )


def test_a_purge_completed_less_than_a_day_ago_is_not_run_again(hub: HubFixture) -> None:
    """What a second node (or a restarted one) finds: the day's purge is done."""
    expired = old_read(hub, "J", days=40)
    assert _purge(hub) is not None
    assert _purges(hub) == 1
    hub.clock.advance(timedelta(hours=3))
    assert _purge(hub) is None
    assert _purges(hub) == 1
    hub.clock.advance(timedelta(hours=21))
    assert _purge(hub) is not None
    assert _purges(hub) == 2
    assert not open_image_store(hub.settings).exists(expired["image_sha256"])


def test_a_node_skips_the_purge_while_another_purges(hub: HubFixture) -> None:
    if not hub.database.is_postgresql:
        pytest.skip("nodes share PostgreSQL; SQLite's workers purge in one process")
    with advisory_lock(hub.database, PURGE_LOCK, wait=False) as mine:  # the other node
        assert mine
        with advisory_lock(hub.database, PURGE_LOCK, wait=False) as second:
            assert not second
        assert _purge(hub) is None
    assert _purges(hub) == 0
    assert _purge(hub) is not None  # the lock is free again
    assert _purges(hub) == 1


def _waiting_for_advisory_lock(hub: HubFixture) -> bool:
    with hub.database.read() as connection:
        waiting: int = connection.execute(
            sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        ).scalar_one()
    return waiting > 0


def test_migrations_wait_for_the_node_that_migrates(hub: HubFixture) -> None:
    if not hub.database.is_postgresql:
        pytest.skip("nodes share PostgreSQL")
    with ThreadPoolExecutor(1) as pool:
        with advisory_lock(hub.database, MIGRATE_LOCK):  # another node is migrating
            started: Future[str] = pool.submit(migrate, hub.database)
            deadline = time.monotonic() + WAIT_SECONDS
            while not _waiting_for_advisory_lock(hub):
                assert time.monotonic() < deadline, "migrate() did not wait for the lock"
                time.sleep(0.05)
            assert not started.done()
        assert started.result() == head_revision()
