"""Jobs that run inside `platedesk-hub serve`: the daily retention purge.

The job is an asyncio task started in the app's lifespan (when the
`retention_job` setting is on; tests turn it off). It purges once at start and
then every 24 hours; each purge runs in a worker thread so requests keep being
served. On shutdown the running purge stops after its current batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import timedelta

from hub.context import HubContext
from hub.retention import purge

log = logging.getLogger(__name__)

PURGE_INTERVAL = timedelta(hours=24)


class RetentionJob:
    """Purge now and every `interval`; `stop()` ends it between batches."""

    def __init__(self, context: HubContext, *, interval: timedelta = PURGE_INTERVAL) -> None:
        self.context = context
        self.interval = interval
        self._stop = threading.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _purge_once(self) -> None:
        context = self.context
        purge(
            context.database,
            context.images,
            now=context.clock(),
            retention_days=context.settings.retention_days,
            stop=self._stop,
        )

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self._purge_once)
            except Exception:
                log.exception("the retention purge failed; it runs again at the next interval")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval.total_seconds())

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="retention-purge")

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
