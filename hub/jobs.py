"""Jobs that run inside `platedesk-hub serve`: the daily retention purge.

With one worker (the default) the job is an asyncio task started in the app's
lifespan (RetentionJob; when the `retention_job` setting is on, tests turn it
off). With `serve --workers N` the workers are built with the job off and the
supervising process runs it on a thread of its own (RetentionThread), so the
purge runs once per hub, not once per worker, and a worker that dies and is
restarted does not start another one.

Either way it looks at start and then every hour whether a purge is due (the hub's
audit chain records no completed purge in the last 23 hours) and runs it, so the
hub purges about once a day, a restart or a failed purge delaying it an hour at
most; a purge runs off the event loop so requests keep being served, and on
shutdown the running purge stops after its current batch.

Several hub nodes on one PostgreSQL (each a `serve`) purge once between them
(purge_once): under an advisory lock that a node skips while another holds it, and
not again within a day of a completed purge that the hub's audit chain records.
A node that dies lets go of the lock with its connection; another purges within the
hour after the purge falls due.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa

from hub.audit import HUB_DEVICE_ID
from hub.context import Clock, HubContext, system_clock
from hub.core.config import HubSettings
from hub.core.db import PURGE_LOCK, Database, advisory_lock
from hub.db.tables import audit_events
from hub.images import ImageStore, open_image_store
from hub.retention import PURGE_ACTION, PurgeResult, purge

log = logging.getLogger(__name__)

PURGE_INTERVAL = timedelta(hours=24)
PURGE_SLACK = timedelta(hours=1)
# How often a node looks whether the day's purge is due: a node that restarts, or
# one whose purging peer died, purges within this of the purge falling due.
CHECK_EVERY = timedelta(hours=1)
_FAILED = "the retention purge failed; it is tried again within the hour"


def purge_once(
    settings: HubSettings,
    database: Database,
    images: ImageStore,
    *,
    clock: Clock,
    stop: threading.Event,
    interval: timedelta = PURGE_INTERVAL,
) -> PurgeResult | None:
    """One retention purge with the hub's settings; `stop` ends it between batches.

    Several hub nodes on one PostgreSQL purge once between them: a node purges under
    an advisory lock and skips (None) while another node holds it, or when the hub's
    audit chain records a completed purge less than `interval` before now (less a
    little slack, so that a node's own daily purge is never skipped for its own last
    one)."""
    with advisory_lock(database, PURGE_LOCK, wait=False) as mine:
        if not mine:
            log.info("retention purge skipped: another hub node is purging")
            return None
        now = clock()
        last = last_completed_purge(database)
        if last is not None and now - last < interval - PURGE_SLACK:
            log.info("retention purge skipped: one completed at %s", last.isoformat())
            return None
        return purge(
            database,
            images,
            now=now,
            retention_days=settings.retention_days,
            stop=stop,
        )


def last_completed_purge(database: Database) -> datetime | None:
    """When the newest completed retention purge was recorded (the hub's audit chain)."""
    with database.read() as connection:
        rows = connection.execute(
            sa.select(audit_events.c.received_at, audit_events.c.params)
            .where(
                audit_events.c.device_id == HUB_DEVICE_ID,
                audit_events.c.action == PURGE_ACTION,
            )
            .order_by(audit_events.c.seq.desc())
            .limit(10)
        ).all()
    for row in rows:
        if json.loads(row.params).get("completed", True):
            received: datetime = row.received_at
            return received
    return None


class RetentionJob:
    """Purge now and every `interval` as an asyncio task (looking every CHECK_EVERY
    whether it is due: purge_once); `stop()` ends it between batches."""

    def __init__(self, context: HubContext, *, interval: timedelta = PURGE_INTERVAL) -> None:
        self.context = context
        self.interval = interval
        self._stop = threading.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _purge_once(self) -> None:
        context = self.context
        purge_once(
            context.settings,
            context.database,
            context.images,
            clock=context.clock,
            stop=self._stop,
            interval=self.interval,
        )

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self._purge_once)
            except Exception:
                log.exception(_FAILED)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=CHECK_EVERY.total_seconds())

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention-purge")

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task


class RetentionThread:
    """Purge now and every `interval` on a thread of its own (`serve --workers N`
    runs it in the supervising process); `stop()` ends it between batches and joins."""

    def __init__(
        self,
        settings: HubSettings,
        database: Database,
        *,
        interval: timedelta = PURGE_INTERVAL,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.database = database
        self.images: ImageStore = open_image_store(settings)
        self.interval = interval
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                purge_once(
                    self.settings,
                    self.database,
                    self.images,
                    clock=self.clock,
                    stop=self._stop,
                    interval=self.interval,
                )
            except Exception:
                log.exception(_FAILED)
            self._stop.wait(CHECK_EVERY.total_seconds())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retention-purge")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
