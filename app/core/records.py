"""What the workstation's services hand to their callers (CLI and UI).

Plain frozen dataclasses: no Qt, no I/O. The UI paints these; the CLI prints
them as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.core.plates import PlatePattern


@dataclass(frozen=True)
class SessionInfo:
    username: str
    display_name: str
    role: str
    hub_url: str
    device_id: str
    session_expires_at: datetime
    insecure_keyring: bool  # the secrets sit in a plaintext file backend: warn


@dataclass(frozen=True)
class CaseInfo:
    case_number: str
    title: str
    offense_category: str
    status: str


@dataclass(frozen=True)
class PurposeInfo:
    code: str
    label: str


@dataclass(frozen=True)
class CameraInfo:
    camera_id: str
    name: str
    latitude: float
    longitude: float
    direction: str
    active: bool


@dataclass(frozen=True)
class SliceInfo:
    slice_id: str
    case_number: str
    purpose: str
    justification: str
    time_from: datetime
    time_to: datetime
    camera_ids: tuple[str, ...] | None
    plate_pattern: str | None
    estimated_reads: int
    expires_at: datetime
    synced_reads: int
    complete: bool  # the change feed has been pulled to its end at least once


@dataclass(frozen=True)
class SyncProgress:
    """Reported after every applied page; `estimated` may be 0 when unknown."""

    slice_id: str
    applied: int
    estimated: int
    deleted: int


@dataclass(frozen=True)
class SyncResult:
    reads: int
    images: int
    deleted: int
    cancelled: bool


@dataclass(frozen=True)
class SearchQuery:
    """A local search: always a case and a purpose, then a plate pattern and filters."""

    case_number: str
    purpose: str
    pattern: PlatePattern | None
    time_from: datetime | None = None
    time_to: datetime | None = None
    camera_ids: tuple[str, ...] = ()
    state: str | None = None
    make: str | None = None
    model: str | None = None
    color: str | None = None
    body_type: str | None = None
    feature: str | None = None  # one of the read's features, e.g. "roof rack"
    min_confidence: float | None = None  # 0..1
    fuzzy: bool = False  # also find misreads: confusable characters, one missing or extra


@dataclass(frozen=True)
class ReadRecord:
    read_id: str
    plate: str
    state: str
    confidence: float
    captured_at: datetime
    camera_id: str
    camera_name: str
    latitude: float
    longitude: float
    direction: str
    make: str
    model: str
    color: str
    body_type: str
    features: tuple[str, ...]
    image_sha256: str
    crop_sha256: str


@dataclass(frozen=True)
class SearchCursor:
    """Keyset position: results are ordered newest first, then by read id."""

    captured_at: str
    read_id: str


@dataclass(frozen=True)
class SearchPage:
    rows: tuple[ReadRecord, ...]
    next_cursor: SearchCursor | None  # None: no more rows
    total: int | None = None  # the result count, on the first page only


@dataclass(frozen=True)
class JournalStatus:
    pending: int
    delivered: int
    chain_ok: bool
    problems: tuple[str, ...] = field(default_factory=tuple)
