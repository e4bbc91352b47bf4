"""Display formats shared by the widgets: times in local time, counts with separators."""

from __future__ import annotations

from datetime import datetime


def local_time(moment: datetime) -> str:
    """A stored UTC time as the workstation's local time, to the second."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def count_of(n: int, singular: str, plural: str | None = None) -> str:
    """`1 read`, `1,234 reads`."""
    word = singular if n == 1 else (plural or f"{singular}s")
    return f"{n:,} {word}"


def percent(confidence: float) -> str:
    """A 0..1 confidence as a whole percentage."""
    return f"{confidence * 100:.0f}%"
