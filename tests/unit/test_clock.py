"""The clock that drives the hub check (and upload) and the purge, on a fake time."""

from __future__ import annotations

from app.services.clock import Chore, Clock, ClockSettings


class Time:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_hub_check_is_due_at_once_then_every_minute_and_every_5_s_offline() -> None:
    time = Time()
    clock = Clock(ClockSettings(), now=time)
    assert clock.due() == [Chore.CHECK_HUB]
    clock.contact(online=True)
    time.now += 59
    assert clock.due() == []
    time.now += 1
    assert clock.due() == [Chore.CHECK_HUB]

    clock.contact(online=False)  # the desk went offline: look again in 5 s, not a minute
    assert clock.tick_s == 5
    time.now += 5
    assert clock.due() == [Chore.CHECK_HUB]
    time.now += 5
    assert clock.due() == [Chore.CHECK_HUB]
    clock.contact(online=True)
    assert clock.tick_s == 60


def test_the_purge_is_due_hourly() -> None:
    time = Time()
    clock = Clock(now=time)
    clock.due()
    clock.contact(online=True)
    time.now += 3599
    assert Chore.PURGE not in clock.due()
    time.now += 1
    assert Chore.PURGE in clock.due()
    assert Chore.PURGE not in clock.due()
