"""Changes pushed between hub nodes on PostgreSQL: LISTEN/NOTIFY.

Two channels:
- ALERTS: a transaction stored new alerts (hub.hotlists.record_hits); the alert
  streams of every node look for them at once instead of every POLL_SECONDS;
- SESSIONS: a session, user or device changed (sign-out, lock, revocation, training,
  a new device): every node clears its session cache (hub.sessions.SESSIONS) and
  its alert streams check their sessions at once.

`notify` is transactional (PostgreSQL delivers a NOTIFY when its transaction
commits, never when it rolls back). Each `serve` process runs one ChangeListener: a
thread on a connection of its own, LISTENing, that wakes the streams on the event
loop. While its connection is down the streams poll as on SQLite, and when it is back
every stream looks once (a notification may have been missed meanwhile). An idle
stream sleeps until a notification, its session's own expiry or a long safety
timeout; when the listener stops listening it wakes every stream, which then polls.

On SQLite there is one node: streams poll, and the session cache is cleared by the
process's own changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

import anyio
import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

ALERTS = "platedesk_alerts"
SESSIONS = "platedesk_sessions"
CHANNELS = (ALERTS, SESSIONS)
WAIT_SECONDS = (
    0.1  # how long the listener blocks before looking at its stop flag (a stop waits that long)
)
RETRY_SECONDS = 1.0  # after its connection failed


def notify(connection: Connection, channel: str) -> None:
    """Tell every node, once this transaction commits (PostgreSQL; nothing on SQLite)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"NOTIFY {channel}")


def libpq_url(sqlalchemy_url: str) -> str:
    """The hub's database URL as psycopg.connect takes it (no +driver)."""
    url = sa.engine.make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class ChangeListener:
    """LISTENs on ALERTS and SESSIONS and wakes the waiters of `changed` on the event
    loop it was started from. `generation` counts the wake-ups; a waiter that saw
    generation g waits until it moves on."""

    def __init__(
        self,
        database_url: str,
        *,
        on_sessions: Callable[[], None],
        on_listening: Callable[[bool], None],
    ) -> None:
        self._url = libpq_url(database_url)
        self._on_sessions = on_sessions  # on the listener's thread
        self._on_listening = on_listening  # True once listening, False once not
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()
        self.listening = False  # its connection is up and LISTENing
        self.alerts_generation = 0
        self.sessions_generation = 0
        self.waiting = 0  # streams asleep in wait() now (on the event loop)

    def start(self) -> None:
        """Start listening (call it on the event loop that runs the streams)."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="hub-listen", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await anyio.to_thread.run_sync(self._thread.join)

    async def wait(self, *, seen: tuple[int, int], timeout: float, also: anyio.Event) -> None:
        """Until a change after `seen` (alerts_generation, sessions_generation), `also`
        is set, or `timeout` seconds pass."""
        if self.seen != seen or also.is_set() or not self.listening:
            return  # (a listener that stops listening wakes its waiters: see _listening)
        changed = self._changed
        self.waiting += 1
        try:
            with anyio.move_on_after(timeout):
                async with anyio.create_task_group() as group:

                    async def until(event: asyncio.Event | anyio.Event) -> None:
                        await event.wait()
                        group.cancel_scope.cancel()

                    group.start_soon(until, changed)
                    group.start_soon(until, also)
        finally:
            self.waiting -= 1

    @property
    def seen(self) -> tuple[int, int]:
        return (self.alerts_generation, self.sessions_generation)

    def _wake(self, alerts: bool, sessions: bool) -> None:
        """On the event loop: count the change and wake every waiter."""
        if alerts:
            self.alerts_generation += 1
        if sessions:
            self.sessions_generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _post(self, alerts: bool, sessions: bool) -> None:
        if sessions:
            self._on_sessions()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake, alerts, sessions)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as connection:
                    for channel in CHANNELS:
                        connection.execute(f"LISTEN {channel}")
                    self._listening(True)
                    self._post(alerts=True, sessions=True)  # missed while not listening
                    while not self._stop.is_set():
                        for note in connection.notifies(timeout=WAIT_SECONDS):
                            self._post(
                                alerts=note.channel == ALERTS, sessions=note.channel == SESSIONS
                            )
            except psycopg.Error as error:
                if self.listening:
                    log.warning("the hub stopped listening for changes (%s)", type(error).__name__)
                self._listening(False)
                self._stop.wait(RETRY_SECONDS)
        self._listening(False)

    def _listening(self, listening: bool) -> None:
        stopped = self.listening and not listening
        self.listening = listening
        self._on_listening(listening)
        if stopped:
            # Waiters may sleep long while they hear of changes: wake them to poll.
            self._post(alerts=False, sessions=False)
