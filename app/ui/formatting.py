"""Display formats shared by the widgets: times in local time, counts with separators."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from PySide6.QtCore import QDateTime

from app.core.records import CameraInfo


def local_time(moment: datetime) -> str:
    """A stored UTC time as the workstation's local time, to the second."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


HEADINGS = {"NB": "northbound", "SB": "southbound", "EB": "eastbound", "WB": "westbound"}


def camera_names(cameras: Iterable[CameraInfo]) -> dict[str, str]:
    """Each camera's name by its id (to show a name where a record has only the id)."""
    return {camera.camera_id: camera.name for camera in cameras}


def travelling(direction: str) -> str:
    """A read's direction of travel, in words ("travelling northbound"). A read travels;
    a camera faces (the camera's own direction is said as "facing NB")."""
    return f"travelling {HEADINGS.get(direction, direction)}" if direction else ""


def count_of(n: int, singular: str, plural: str | None = None) -> str:
    """`1 read`, `1,234 reads`."""
    word = singular if n == 1 else (plural or f"{singular}s")
    return f"{n:,} {word}"


def percent(confidence: float) -> str:
    """A 0..1 confidence as a whole percentage."""
    return f"{confidence * 100:.0f}%"


def to_qdatetime(moment: datetime) -> QDateTime:
    """A UTC (or any aware) time for a QDateTimeEdit, which shows local time."""
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()))


def to_utc(value: QDateTime) -> datetime:
    """What a QDateTimeEdit shows (local time), as an aware UTC datetime."""
    return datetime.fromtimestamp(value.toSecsSinceEpoch(), tz=UTC)


def file_size(size: int) -> str:
    """`812 bytes`, `3.4 MB`, `1.2 GB` (powers of 1024)."""
    if size < 1024:
        return f"{size:,} bytes"
    value = size / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
