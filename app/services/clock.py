"""The clock that drives the workstation's chores: checking the hub and sending the
audit events (every minute online, every 5 s offline, so the desk finds the hub again
by itself), and purging expired reads (hourly). Plain Python: the window ticks it with
a timer and runs what is due on the right lane."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

CHECK_ONLINE_S = 60.0
CHECK_OFFLINE_S = 5.0
PURGE_S = 3600.0


class Chore(StrEnum):
    CHECK_HUB = "check_hub"  # remote: is the hub there? then send the audit events
    PURGE = "purge"  # local: drop cached reads past retention


@dataclass
class ClockSettings:
    check_online_s: float = CHECK_ONLINE_S
    check_offline_s: float = CHECK_OFFLINE_S
    purge_s: float = PURGE_S


class Clock:
    """What is due when; `online` (what the last check found) sets the check's pace."""

    def __init__(
        self,
        settings: ClockSettings | None = None,
        *,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or ClockSettings()
        self._now = now
        self.online: bool | None = None  # None: not checked yet
        start = now()
        self._next = {Chore.CHECK_HUB: start, Chore.PURGE: start + self.settings.purge_s}

    @property
    def check_interval_s(self) -> float:
        s = self.settings
        return s.check_offline_s if self.online is False else s.check_online_s

    @property
    def tick_s(self) -> float:
        """How often to ask what is due (the shortest pace in use)."""
        return min(self.check_interval_s, self.settings.purge_s)

    def due(self) -> list[Chore]:
        """The chores due now; each is scheduled again at its pace."""
        now = self._now()
        chores = [chore for chore, at in self._next.items() if at <= now]
        for chore in chores:
            pace = self.check_interval_s if chore is Chore.CHECK_HUB else self.settings.purge_s
            self._next[chore] = now + pace
        return chores

    def contact(self, *, online: bool) -> None:
        """What a check found; going offline brings the next check forward."""
        was = self.online
        self.online = online
        if was is not False and not online:
            self._next[Chore.CHECK_HUB] = min(
                self._next[Chore.CHECK_HUB], self._now() + self.settings.check_offline_s
            )
