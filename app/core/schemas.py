"""Wire schemas: what the hub and the workstation say to each other.

The hub serves these (FastAPI builds its OpenAPI from them) and the workstation
parses them, so both sides share one definition. Names follow XCreate / XPublic.
Every time is timezone-aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

API_PREFIX = "/api/v1"


class Role(StrEnum):
    DETECTIVE = "detective"
    EVIDENCE_TECHNICIAN = "evidence_technician"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorPublic(WireModel):
    """Every 4xx and 5xx body: a sentence naming the problem and what to do."""

    detail: str


class LoginRequest(WireModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str = Field(min_length=6, max_length=8, pattern=r"^\d+$")


class RefreshRequest(WireModel):
    refresh_token: str = Field(min_length=16, max_length=512)


class UserPublic(WireModel):
    username: str
    display_name: str
    role: Role
    training_valid_until: date | None


class TokenPublic(WireModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int  # seconds until the access token expires
    session_expires_at: AwareDatetime  # a full sign-in is forced after this
    user: UserPublic


class DeviceCreate(WireModel):
    name: str = Field(min_length=1, max_length=128)
    public_key: str | None = Field(default=None, max_length=512)  # Ed25519, base64


class DevicePublic(WireModel):
    device_id: str
    name: str
    registered_at: AwareDatetime


class PurposePublic(WireModel):
    code: str
    label: str


class CasePublic(WireModel):
    case_number: str
    title: str
    offense_category: str
    status: str  # "open" or "closed"
    assigned: list[str]


class CameraPublic(WireModel):
    camera_id: str
    name: str
    agency: str
    latitude: float
    longitude: float
    direction: str
    active: bool


class SliceCreate(WireModel):
    case_number: str = Field(min_length=1, max_length=32)
    purpose: str = Field(min_length=1, max_length=64)
    justification: str = Field(max_length=2000)
    time_from: AwareDatetime
    time_to: AwareDatetime
    camera_ids: list[str] | None = None  # None: all cameras
    plate_pattern: str | None = Field(default=None, max_length=32)


class SlicePublic(WireModel):
    slice_id: str
    case_number: str
    purpose: str
    justification: str
    time_from: AwareDatetime
    time_to: AwareDatetime
    camera_ids: list[str] | None
    plate_pattern: str | None
    estimated_reads: int
    created_at: AwareDatetime
    expires_at: AwareDatetime
    status: str  # "active", "expired" or "revoked"


class ReadPublic(WireModel):
    read_id: str
    plate: str
    state: str
    confidence: float
    captured_at: AwareDatetime
    camera_id: str
    latitude: float
    longitude: float
    direction: str
    make: str
    model: str
    color: str
    body_type: str
    features: list[str]
    image_sha256: str
    image_size: int
    crop_sha256: str
    crop_size: int


class FeedPage(WireModel):
    """One page of a slice's change feed.

    `checksum` is app.core.canonical.page_checksum over `reads` and `tombstones`
    exactly as they appear in this JSON body. `next_cursor` resumes after this
    page; pass it back as `cursor`. `has_more` is false on the last page.
    """

    slice_id: str
    reads: list[ReadPublic]
    tombstones: list[str]
    next_cursor: str
    has_more: bool
    checksum: str


class AuditEventIn(WireModel):
    """One journal event as a workstation sends it (app.core.audit_chain)."""

    event_id: str = Field(min_length=1, max_length=64)
    device_id: str = Field(min_length=1, max_length=64)
    username: str
    session_id: str
    seq: int = Field(ge=1)
    occurred_at: str  # UTC to the millisecond, as hashed
    action: str = Field(min_length=1, max_length=64)
    object_refs: dict[str, Any]
    params: dict[str, Any]
    outcome: str
    prev_hash: str = Field(min_length=64, max_length=64)
    hash: str = Field(min_length=64, max_length=64)


class AuditBatch(WireModel):
    device_id: str
    events: list[AuditEventIn] = Field(max_length=1000)


class AuditAck(WireModel):
    """`acked_seq`: every event of this device up to this seq is kept at the hub."""

    acked_seq: int
    accepted: int
    duplicates: int
    problems: list[str]


class HealthPublic(WireModel):
    status: str
    version: str
    database: str  # "sqlite" or "postgresql"
    retention_days: int
    time: datetime


# --- Camera ingest, administration, device status and remote search (hub 0002) ---


class VehicleAttributes(WireModel):
    """What the camera's classifier saw; no person data."""

    make: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=64)
    color: str = Field(min_length=1, max_length=32)
    body_type: str = Field(min_length=1, max_length=32)
    features: list[str] = Field(default_factory=list, max_length=16)


class ReadIngestCreate(WireModel):
    """One read as a camera feed posts it; the JPEGs travel base64-encoded."""

    read_id: UUID
    plate: str = Field(min_length=1, max_length=16)
    state: str = Field(min_length=2, max_length=8)
    confidence: float = Field(ge=0.0, le=1.0)
    captured_at: AwareDatetime
    camera_id: str = Field(min_length=1, max_length=32)
    direction: str = Field(min_length=1, max_length=16)
    attributes: VehicleAttributes
    image_jpeg: str = Field(min_length=4, description="the full scene, JPEG, base64")
    crop_jpeg: str = Field(min_length=4, description="the plate crop, JPEG, base64")


class IngestPublic(WireModel):
    read_id: str
    status: str  # "created" or "duplicate"
    image_sha256: str
    crop_sha256: str


class IngestBatchItemPublic(WireModel):
    """One read's outcome in POST /ingest/reads:batch, in the order the reads were sent."""

    index: int
    read_id: str | None  # None when the read had no usable read_id
    status: str  # "created", "duplicate", "conflict" or "refused"
    reason: str | None = None  # why a read was refused or is a conflict
    image_sha256: str | None = None
    crop_sha256: str | None = None


class IngestBatchPublic(WireModel):
    created: int
    duplicate: int
    conflict: int
    refused: int
    results: list[IngestBatchItemPublic]


class FeedTokenCreate(WireModel):
    name: str = Field(min_length=1, max_length=128)
    camera_id: str | None = Field(default=None, max_length=32)  # None: any registered camera


class FeedTokenPublic(WireModel):
    """A camera feed's credentials; the token is shown once and stored hashed."""

    feed_id: str
    name: str
    camera_id: str | None
    token: str


class UserCreate(WireModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    display_name: str = Field(min_length=1, max_length=128)
    role: Role
    password: str = Field(min_length=1, max_length=256)
    training_valid_until: date | None = None


class UserCreatedPublic(WireModel):
    """The new user; the TOTP secret and provisioning URI are shown this once."""

    user: UserPublic
    totp_secret: str
    provisioning_uri: str


class TrainingUpdate(WireModel):
    training_valid_until: date | None


class DeviceStatusPublic(WireModel):
    device_id: str
    name: str
    registered_at: AwareDatetime
    status: str  # "active" or "revoked"
    revoked_at: AwareDatetime | None


class AttributeFilter(WireModel):
    """Vehicle attributes a search narrows on; every given one must match."""

    make: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=64)
    color: str | None = Field(default=None, max_length=32)
    body_type: str | None = Field(default=None, max_length=32)
    features: list[str] = Field(default_factory=list, max_length=8)


class SearchCreate(WireModel):
    """A remote search over all the hub's reads; its result becomes a slice."""

    case_number: str = Field(min_length=1, max_length=32)
    purpose: str = Field(min_length=1, max_length=64)
    justification: str = Field(max_length=2000)
    plate_pattern: str = Field(min_length=1, max_length=32)
    time_from: AwareDatetime
    time_to: AwareDatetime
    camera_ids: list[str] | None = None
    attributes: AttributeFilter | None = None


class SearchPublic(WireModel):
    """The slice the search created, how many reads match, and the newest of them."""

    slice: SlicePublic
    attributes: AttributeFilter | None
    total: int
    reads: list[ReadPublic]


# --- Evidence holds and the transparency report (hub 0003) ---


class HoldCreate(WireModel):
    """Reads to preserve as evidence in a case (read ids as 32 hex characters)."""

    case_number: str = Field(min_length=1, max_length=32)
    read_ids: list[str] = Field(min_length=1, max_length=1000)
    note: str = Field(default="", max_length=2000)


class HoldPublic(WireModel):
    """One read held for one case; `status` is "proposed", "confirmed" or "released"."""

    hold_id: str
    case_number: str
    read_id: str
    status: str
    note: str
    proposed_by: str
    proposed_at: AwareDatetime
    confirmed_by: str | None
    confirmed_at: AwareDatetime | None
    released_by: str | None
    released_at: AwareDatetime | None


class TransparencyPublic(WireModel):
    """The public figures of /transparency.json: counts only, never a plate, case or name."""

    agency_policy: str
    generated_at: AwareDatetime
    period_days: int
    period_start: AwareDatetime
    cameras_in_use: int
    searches: int
    searches_by_kind: dict[str, int]
    unique_vehicles: int
    refused_searches: int
    flagged_searches: int
    review_outcomes: dict[str, int]
    search_outcomes: dict[str, int]
    partner_agencies: list[str]
    retention_days: int
    last_purge_at: AwareDatetime | None
    acceptable_uses: list[str]
    prohibited_uses: list[str]
    counting_rules: list[str]


# --- The audit log's Merkle tree (app.core.merkle) ---


class AuditCheckpointPublic(WireModel):
    """A signed view of the whole audit log: its size and Merkle root (RFC 9162).

    `signature` (base64) is Ed25519 by `public_key` (base64, raw 32 bytes) over
    app.core.merkle.checkpoint_text(tree_size, root_hash, signed_at).
    """

    tree_size: int
    root_hash: str  # 64 lower-case hex characters
    signed_at: str  # UTC to the millisecond, as signed
    signature: str
    public_key: str


class AuditInclusionProofPublic(WireModel):
    """The audit path of one event (leaf `leaf_index`) in the tree of `tree_size` leaves."""

    leaf_index: int
    tree_size: int
    proof: list[str]  # hex, leaf level first


class AuditConsistencyProofPublic(WireModel):
    """Proof that the tree of `second` leaves extends the tree of `first` leaves."""

    proof: list[str]  # hex
