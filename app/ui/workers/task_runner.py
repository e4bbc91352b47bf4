"""The one way the UI runs blocking work: off the GUI thread, results back on it.

Modelled on Anki's `QueryOp`: a work function that takes no widgets runs on a
worker thread; its result or exception comes back through callbacks that run on
the GUI thread. Two lanes:

- `Lane.CACHE`: one thread, in order, for the local encrypted cache (searches,
  reads, the journal's status), as Anki's executor with one worker;
- `Lane.NETWORK`: a few threads for calls that may wait on the hub (sign-in,
  cases, slice requests, sync, images, journal upload), so a long sync never
  holds up a search;
- `Lane.VISION`: one thread for image work (decoding, enhancement, plate
  reading), so slider moves never queue behind a sync or a search;
- `Lane.SYNC`: one thread, at a lower CPU priority (BACKGROUND_NICE), for pulling
  change feeds: a sync keeps a core busy for minutes, and on a loaded PC the OS
  would otherwise make the window's thread wait its turn behind it. What the sync
  thread starts (its fetching thread, the feed page parser's process) inherits
  the lower priority. Where the OS has no per-thread priority (not Linux) the
  lane runs at normal priority.
- `Lane.EXPORT`: one thread, at the same lower priority, for writing evidence
  packets (hashing, the PDF, signing) with a cache connection of its own, so a
  1,000-read export never holds up a search on the cache lane.

Progress and cancellation cross into the work function as a plain callable and
a `threading.Event` (STYLE section 1). `shutdown()` cancels what can be
cancelled, waits for every task, and drops results that arrive afterwards.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.core.errors import KnownError

log = logging.getLogger(__name__)

ProgressFn = Callable[[Any], None]
NETWORK_THREADS = 4
RETIRED_KEPT = 64  # finished tasks' relays kept before they are released (GUI thread)
BACKGROUND_NICE = 10  # added to the process's own niceness, up to 19


class Lane(StrEnum):
    CACHE = "cache"
    NETWORK = "network"
    VISION = "vision"
    SYNC = "sync"
    EXPORT = "export"


def lower_thread_priority() -> None:
    """Run the calling thread BACKGROUND_NICE steps nicer than the process (Linux: the
    niceness is per thread). Once lowered it stays: an unprivileged process cannot
    raise it again, which is why the sync lane has a thread of its own."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    thread = threading.get_native_id()
    try:
        wanted = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + BACKGROUND_NICE)
        if os.getpriority(os.PRIO_PROCESS, thread) < wanted:
            os.setpriority(os.PRIO_PROCESS, thread, wanted)
    except OSError as exc:  # not permitted here: the work runs at normal priority
        log.warning("could not lower the sync thread's priority: %s", exc)


class _Relay(QObject):
    """Lives on the GUI thread; its signals carry one task's outcome back there."""

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
        on_progress: ProgressFn | None,
    ) -> None:
        super().__init__()
        self._runner = runner
        self._on_success = on_success
        self._on_failure = on_failure
        self._on_progress = on_progress
        self.fn: Callable[..., Any] | None = None  # held here, on the GUI thread's side
        self.succeeded.connect(self._deliver_success)
        self.failed.connect(self._deliver_failure)
        self.progressed.connect(self._deliver_progress)

    @Slot(object)
    def _deliver_success(self, result: object) -> None:
        if self._runner.finish(self):
            self._on_success(result)

    @Slot(object)
    def _deliver_failure(self, exc: object) -> None:
        if self._runner.finish(self):
            assert isinstance(exc, BaseException)
            self._on_failure(exc)

    @Slot(object)
    def _deliver_progress(self, value: object) -> None:
        if self._on_progress is not None and self._runner.accepts(self):
            self._on_progress(value)


class _Task(QRunnable):
    def __init__(
        self, fn: Callable[..., Any], relay: _Relay, *, with_progress: bool, background: bool
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn: Callable[..., Any] | None = fn
        self._relay = relay
        self._with_progress = with_progress
        self._background = background

    def run(self) -> None:
        # The work function (and the relay) may hold the last references to Qt objects
        # (a dialog in a lambda): they must never be dropped here, on the worker, or
        # those objects die on the wrong thread (Qt warns, or the process crashes).
        # The relay holds the function; the runner keeps finished relays a while.
        fn, self._fn = self._fn, None
        relay = self._relay
        relay.fn = fn
        del fn
        if self._background:
            lower_thread_priority()
        try:
            args = (relay.progressed.emit,) if self._with_progress else ()
            assert relay.fn is not None
            result = relay.fn(*args)
        except Exception as exc:
            if not isinstance(exc, KnownError):
                log.error("Background task failed", exc_info=exc)
            relay.failed.emit(exc)
        else:
            relay.succeeded.emit(result)


BACKGROUND_LANES = frozenset({Lane.SYNC, Lane.EXPORT})


class TaskRunner(QObject):
    """Runs work functions on worker threads and calls back on the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pools = {
            Lane.CACHE: QThreadPool(self),
            Lane.NETWORK: QThreadPool(self),
            Lane.VISION: QThreadPool(self),
            Lane.SYNC: QThreadPool(self),
            Lane.EXPORT: QThreadPool(self),
        }
        for pool in self._pools.values():
            # Threads never expire: each keeps its own cache connection for its lifetime.
            pool.setExpiryTimeout(-1)
        self._pools[Lane.CACHE].setMaxThreadCount(1)
        self._pools[Lane.NETWORK].setMaxThreadCount(NETWORK_THREADS)
        self._pools[Lane.VISION].setMaxThreadCount(1)
        self._pools[Lane.SYNC].setMaxThreadCount(1)
        self._pools[Lane.EXPORT].setMaxThreadCount(1)
        self._live: dict[_Relay, threading.Event | None] = {}
        self._retired: list[_Relay] = []  # finished, released later on the GUI thread
        self._closed = False

    def run(
        self,
        fn: Callable[..., Any],
        *,
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
        on_progress: ProgressFn | None = None,
        lane: Lane = Lane.CACHE,
        cancel: threading.Event | None = None,
    ) -> None:
        """Run `fn()` (or `fn(progress)` when `on_progress` is given) off the GUI thread.

        `on_success(result)` or `on_failure(exc)` then runs on the GUI thread;
        `progress(value)` called from the worker reaches `on_progress(value)` there.
        A non-KnownError failure is logged with its traceback before `on_failure`.
        `cancel` is set by `shutdown()`.
        """
        if self._closed:
            return
        relay = _Relay(self, on_success, on_failure, on_progress)
        self._live[relay] = cancel
        task = _Task(
            fn, relay, with_progress=on_progress is not None, background=lane in BACKGROUND_LANES
        )
        self._pools[lane].start(task)

    def accepts(self, relay: _Relay) -> bool:
        return not self._closed and relay in self._live

    def finish(self, relay: _Relay) -> bool:
        """Forget a finished task; False when its result should be dropped.

        The relay (with the work function) is kept a while longer, so the worker that
        ran it never drops the last reference to what it holds (see _Task.run)."""
        known = relay in self._live
        self._live.pop(relay, None)
        self._retired.append(relay)
        if len(self._retired) > RETIRED_KEPT:
            for old in self._retired[: -RETIRED_KEPT // 2]:
                old.fn = None
                old.deleteLater()
            del self._retired[: -RETIRED_KEPT // 2]
        return not self._closed and known

    @property
    def pending(self) -> int:
        """Tasks started whose outcome has not been delivered yet."""
        return len(self._live)

    def shutdown(self, timeout_ms: int = -1) -> bool:
        """Cancel what can be cancelled, wait for every task, drop late results."""
        self._closed = True
        for cancel in self._live.values():
            if cancel is not None:
                cancel.set()
        done = all(pool.waitForDone(timeout_ms) for pool in self._pools.values())
        self._live.clear()
        for relay in self._retired:
            relay.fn = None
            relay.deleteLater()
        self._retired.clear()
        return done
