"""What the workstation's services hand to their callers (CLI and UI).

Plain frozen dataclasses: no Qt, no I/O. The UI paints these; the CLI prints
them as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.core.canonical import parse_utc, utc_iso
from app.core.plates import PlatePattern, parse_pattern


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
    images_remaining: int = 0  # the slices' images not in the cache after this sync


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
    # What reviewers recorded about the read under the searched case: the kinds of its
    # marks (REVIEW_KINDS), and the plate a misread mark says the vehicle shows.
    review: tuple[str, ...] = ()
    corrected_plate: str | None = None


class SortKey(StrEnum):
    """The columns results can be ordered by (each with the read id as tiebreak)."""

    TIME = "time"
    PLATE = "plate"
    STATE = "state"
    CAMERA = "camera"
    MAKE = "make"
    MODEL = "model"
    COLOR = "color"
    CONFIDENCE = "confidence"


@dataclass(frozen=True)
class SearchOrder:
    key: SortKey = SortKey.TIME
    descending: bool = True

    @property
    def label(self) -> str:
        return f"{self.key.value} {'descending' if self.descending else 'ascending'}"


NEWEST_FIRST = SearchOrder()


def parse_order(text: str) -> SearchOrder:
    """'plate', 'plate:asc' or 'time:desc' as a SearchOrder; ValueError names the problem."""
    name, _, direction = text.strip().lower().partition(":")
    try:
        key = SortKey(name)
    except ValueError:
        keys = ", ".join(k.value for k in SortKey)
        raise ValueError(f"'{name}' is not a sort key; use one of {keys}") from None
    if direction not in ("", "asc", "desc"):
        raise ValueError(f"'{direction}' is not a direction; use asc or desc")
    descending = direction == "desc" if direction else key in (SortKey.TIME, SortKey.CONFIDENCE)
    return SearchOrder(key, descending)


@dataclass(frozen=True)
class SearchCursor:
    """Keyset position: the last row's sort value and its row id in the cache (which
    breaks ties), in the page's order. In the camera order the value is the camera's
    name and `camera_id` the camera, which breaks ties between cameras of one name."""

    value: str | float
    row_id: int
    order: SearchOrder = NEWEST_FIRST
    camera_id: str | None = None
    # In the plate order, the last row's captured_at: one plate's rows are in time order,
    # the row id breaking the ties left.
    captured_at: str | None = None


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


@dataclass(frozen=True)
class HubContact:
    """One check of the hub: online (it answered), or offline with the reason: the
    ErrorKind value of the failure (unreachable, timed_out, ...) and its sentence."""

    online: bool
    reason: str | None = None
    detail: str = ""
    at: datetime | None = None  # when the hub answered


@dataclass(frozen=True)
class DeskStatus:
    """The truth about this workstation and its hub (`platedesk status --json`)."""

    hub: str  # "online" | "offline"
    reason: str | None  # why offline (an ErrorKind value); None online
    last_contact: datetime | None  # when the hub last answered this profile
    pending_events: int  # audit events not yet delivered
    user: str | None
    role: str | None


SEARCH_OUTCOMES: dict[str, str] = {
    "lead": "Lead",
    "no_lead": "No lead",
    "vehicle_recovered": "Vehicle recovered",
    "arrest": "Arrest",
    "suspect_cleared": "Cleared a suspect",
}

REVIEW_KINDS = ("evidence", "misread")


@dataclass(frozen=True)
class ReviewMark:
    """A reviewer's marking of a read: evidence for the case, or a misread with the true plate."""

    mark_id: int
    read_id: str
    case_number: str
    kind: str  # one of REVIEW_KINDS
    corrected_plate: str | None
    note: str
    marked_by: str
    marked_at: datetime


@dataclass(frozen=True)
class SavedSearch:
    saved_id: int
    case_number: str
    name: str
    query: dict[str, object]  # query_to_dict's form, minus case and purpose
    created_at: datetime


@dataclass(frozen=True)
class Associate:
    """A plate seen near a target plate: same camera, within the window of one of its reads."""

    plate: str
    cameras: int
    sightings: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class PlaceMatch:
    """A plate seen at every chosen place; sightings per place, in the order given."""

    plate: str
    sightings: tuple[int, ...]


def query_to_dict(query: SearchQuery) -> dict[str, object]:
    """A search's parameters as plain JSON values (what is journaled and saved)."""
    return {
        "case_number": query.case_number,
        "purpose": query.purpose,
        "pattern": None if query.pattern is None else query.pattern.text,
        "pattern_kind": None if query.pattern is None else query.pattern.kind.value,
        "fuzzy": query.fuzzy,
        "time_from": None if query.time_from is None else utc_iso(query.time_from),
        "time_to": None if query.time_to is None else utc_iso(query.time_to),
        "camera_ids": list(query.camera_ids),
        "state": query.state,
        "make": query.make,
        "model": query.model,
        "color": query.color,
        "body_type": query.body_type,
        "feature": query.feature,
        "min_confidence": query.min_confidence,
    }


def query_from_dict(data: dict[str, object], *, case_number: str, purpose: str) -> SearchQuery:
    """The inverse of query_to_dict, for a saved search run under a case and purpose."""

    def text(name: str) -> str | None:
        value = data.get(name)
        return None if value is None else str(value)

    def moment(name: str) -> datetime | None:
        value = text(name)
        return None if value is None else parse_utc(value)

    pattern = text("pattern")
    confidence = data.get("min_confidence")
    cameras = data.get("camera_ids") or []
    return SearchQuery(
        case_number=case_number,
        purpose=purpose,
        pattern=None if pattern is None else parse_pattern(pattern),
        time_from=moment("time_from"),
        time_to=moment("time_to"),
        camera_ids=tuple(str(c) for c in cameras) if isinstance(cameras, list) else (),
        state=text("state"),
        make=text("make"),
        model=text("model"),
        color=text("color"),
        body_type=text("body_type"),
        feature=text("feature"),
        min_confidence=float(confidence) if isinstance(confidence, int | float) else None,
        fuzzy=bool(data.get("fuzzy", False)),
    )


# --- Evidence holds and packet receipts at the hub (issue 7) ---


@dataclass(frozen=True)
class HoldState:
    """Where a read marked as evidence stands at the hub: "pending" (not yet delivered;
    retried at the next contact), "proposed", "confirmed", "released", or "refused"
    (the hub said no; `detail` says why)."""

    case_number: str
    read_id: str
    status: str
    hold_id: str | None
    detail: str
    updated_at: datetime


# --- Hotlist alerts (issue 4 item 5; the alerts panel of issue 6 item 8) ---

ALERT_OUTCOMES = ("correct_read", "wrong_state", "misread", "entry_no_longer_valid", "action_taken")


@dataclass(frozen=True)
class AlertRecord:
    """One hotlist hit for the user: the entry, the read (None once purged at the hub),
    and the acknowledgement once someone has recorded it. `match` is "exact" or
    "fuzzy" (a likely misread: check the image)."""

    alert_id: int
    case_number: str
    entry_id: str
    entry_plate: str
    entry_state: str | None
    reason: str
    source: str
    unit: str | None
    match: str
    created_at: datetime
    read_id: str
    read_plate: str | None
    read_state: str | None
    captured_at: datetime | None
    camera_id: str | None
    image_sha256: str | None
    crop_sha256: str | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    outcome: str | None
    visual_confirmed: bool | None
    state_match: bool | None
    entry_confirmed: bool | None
    note: str | None
