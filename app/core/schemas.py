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
    totp: str = Field(min_length=6, max_length=8, pattern=r"^[0-9]+$")


class RefreshRequest(WireModel):
    refresh_token: str = Field(min_length=16, max_length=512)


class UserPublic(WireModel):
    username: str
    display_name: str
    role: Role
    training_valid_until: date | None
    unit: str | None = None  # supervisors review their unit's flagged searches
    partner_agency: str | None = None  # a partner agency's user; None: the hub's agency


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


class CameraCreate(WireModel):
    """A camera to register: what the admin API takes (the hub's column sizes)."""

    camera_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=128)
    agency: str = Field(min_length=1, max_length=128)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    direction: str = Field(min_length=1, max_length=16)
    active: bool = True


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
    # How many reads match; null on a partner agency's slice until a supervisor
    # approves it (no count, nor anything else that depends on the reads, before).
    estimated_reads: int | None
    created_at: AwareDatetime
    expires_at: AwareDatetime
    # "active", "expired" or "revoked"; a partner user's slice: "awaiting_approval" or
    # "declined" until a supervisor approves it (its lifetime starts then).
    status: str


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


class ReadIngestFields(WireModel):
    """A read's fields as a camera feed posts them: everything but its two JPEGs."""

    read_id: UUID
    plate: str = Field(min_length=1, max_length=16)
    state: str = Field(min_length=2, max_length=8)
    confidence: float = Field(ge=0.0, le=1.0)
    captured_at: AwareDatetime
    camera_id: str = Field(min_length=1, max_length=32)
    direction: str = Field(min_length=1, max_length=16)
    attributes: VehicleAttributes


class ReadIngestCreate(ReadIngestFields):
    """One read as a camera feed posts it; the JPEGs travel base64-encoded."""

    image_jpeg: str = Field(min_length=4, description="the full scene, JPEG, base64")
    crop_jpeg: str = Field(min_length=4, description="the plate crop, JPEG, base64")


# POST /ingest/reads:batch-binary: a JSON header of reads, then their JPEGs, raw.
READ_BATCH_MEDIA_TYPE = "application/vnd.platedesk.read-batch"


class ReadFramedCreate(ReadIngestFields):
    """One read in the header of a binary read batch: its JPEGs follow the header raw,
    `image_size` bytes of the scene, then `crop_size` bytes of the plate crop."""

    image_size: int = Field(ge=0, description="bytes of the full scene's JPEG")
    crop_size: int = Field(ge=0, description="bytes of the plate crop's JPEG")


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
    unit: str | None = Field(default=None, min_length=1, max_length=64)
    # A partner agency's user: their slices await a supervisor's approval (hub.partners).
    partner_agency: str | None = Field(default=None, min_length=1, max_length=128)


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
    total: int | None  # null while a partner's search awaits approval (no count until then)
    reads: list[ReadPublic]


# --- Evidence holds and the transparency report (hub 0003) ---


class EvidenceMark(WireModel):
    """One review mark of a held read, as the workstation that made it recorded it."""

    kind: str = Field(min_length=1, max_length=32)
    marked_by: str = Field(max_length=64)
    marked_at: AwareDatetime
    corrected_plate: str | None = Field(default=None, max_length=16)
    note: str = Field(default="", max_length=2000)


class HoldCreate(WireModel):
    """Reads to preserve as evidence in a case (read ids as 32 hex characters), with the
    legal basis (a code of app.core.evidence.LEGAL_BASES plus text), an optional review
    date, and the marker's review marks of those reads (a corrected misread, a note)."""

    case_number: str = Field(min_length=1, max_length=32)
    read_ids: list[str] = Field(min_length=1, max_length=1000)
    note: str = Field(default="", max_length=2000)
    legal_basis: str = Field(default="active_investigation", min_length=1, max_length=32)
    legal_basis_text: str = Field(default="", max_length=2000)
    review_date: date | None = None
    marks: dict[str, list[EvidenceMark]] = Field(default_factory=dict)


class HoldDecision(WireModel):
    """A custodian's confirmation or refusal of a proposed hold, with an optional note."""

    note: str = Field(default="", max_length=2000)


class HoldRelease(WireModel):
    """A supervisor's release of a hold: the reason is required."""

    reason: str = Field(min_length=3, max_length=2000)


class HoldPublic(WireModel):
    """One read held for one case: the case's evidence record. `status` is "proposed",
    "confirmed", "released" or "refused" (app.core.evidence.HOLD_STATES); who marked it
    (proposed_by, with their note and review marks) and who decided on it."""

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
    legal_basis: str = "active_investigation"
    legal_basis_text: str = ""
    review_date: date | None = None
    marks: list[EvidenceMark] = Field(default_factory=list)
    decision_note: str = ""
    refused_by: str | None = None
    refused_at: AwareDatetime | None = None
    release_reason: str = ""
    read_present: bool = True  # False once the read is gone from the hub (purged)


class EvidenceReadsPublic(WireModel):
    """The case's confirmed-evidence reads fetched under the evidence grant (no slice):
    the records found, and the asked-for read ids the hub no longer has."""

    case_number: str
    reads: list[ReadPublic]
    missing: list[str]


class EvidenceReadsRequest(WireModel):
    read_ids: list[str] = Field(min_length=1, max_length=1000)


class EvidenceImagesRequest(WireModel):
    """Images of the case's confirmed-evidence reads, by SHA-256 (at most 100 at once)."""

    sha256s: list[str] = Field(min_length=1, max_length=100)


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


# --- Hotlists and alerts (hub 0005) ---


class AlertOutcome(StrEnum):
    """What a hotlist hit turned out to be, as the recipient records it."""

    CORRECT_READ = "correct_read"
    WRONG_STATE = "wrong_state"
    MISREAD = "misread"
    ENTRY_NO_LONGER_VALID = "entry_no_longer_valid"
    ACTION_TAKEN = "action_taken"


# The policy's human verification before anyone acts on a hit.
VERIFICATION_STEPS = {
    "visual_confirmed": "visual confirmation of the plate in the image",
    "state_match": "the plate's state matches the hotlist entry",
    "entry_confirmed": "the hotlist entry re-confirmed as still valid",
}


class HotlistEntryCreate(WireModel):
    """A plate of interest for a case; `state` None matches any state."""

    plate: str = Field(min_length=1, max_length=32)
    state: str | None = Field(default=None, max_length=8)
    reason: str = Field(min_length=1, max_length=500)
    source: str = Field(min_length=1, max_length=64)  # e.g. "NCIC stolen vehicle"
    case_number: str = Field(min_length=1, max_length=32)
    unit: str | None = Field(default=None, max_length=64)
    expires_at: AwareDatetime


class HotlistEntryPublic(WireModel):
    entry_id: str
    plate: str
    state: str | None
    reason: str
    source: str
    case_number: str
    unit: str | None
    expires_at: AwareDatetime
    created_by: str
    created_at: AwareDatetime
    removed_by: str | None
    removed_at: AwareDatetime | None
    active: bool


class HotlistImportPublic(WireModel):
    imported: int
    entry_ids: list[str]


class AlertPublic(WireModel):
    """One hotlist hit; the read's fields are None once the read has been purged."""

    alert_id: int
    entry_id: str
    case_number: str
    unit: str | None
    match: str  # "exact" or "fuzzy" (a likely misread)
    created_at: AwareDatetime
    entry_plate: str
    entry_state: str | None
    reason: str
    source: str
    read_id: str
    read_plate: str | None
    read_state: str | None
    captured_at: AwareDatetime | None
    camera_id: str | None
    image_sha256: str | None
    crop_sha256: str | None
    acknowledged_by: str | None
    acknowledged_at: AwareDatetime | None
    visual_confirmed: bool | None
    state_match: bool | None
    entry_confirmed: bool | None
    outcome: AlertOutcome | None
    note: str | None


class AlertPage(WireModel):
    """Alerts after a cursor, oldest first; pass `cursor` as `after` for the next page."""

    alerts: list[AlertPublic]
    cursor: int


class AlertAcknowledgeCreate(WireModel):
    visual_confirmed: bool
    state_match: bool
    entry_confirmed: bool
    outcome: AlertOutcome
    note: str = Field(default="", max_length=2000)


def acknowledgement_problem(ack: AlertAcknowledgeCreate) -> str | None:
    """Why the policy refuses this acknowledgement, or None: acting needs every step."""
    if ack.outcome is not AlertOutcome.ACTION_TAKEN:
        return None
    missing = [label for name, label in VERIFICATION_STEPS.items() if not getattr(ack, name)]
    if not missing:
        return None
    return (
        "An outcome of action_taken needs every verification step first; missing: "
        + "; ".join(missing)
        + ". Verify them, or record another outcome."
    )


# --- Packet receipts (hub 0006) ---


class PacketReceiptCreate(WireModel):
    """A workstation's record that it exported a packet; the hub adds user, device, time."""

    packet_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    case_number: str = Field(min_length=1, max_length=32)
    manifest_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")  # of tagmanifest-sha256.txt
    reads: int = Field(ge=0, le=1_000_000)
    exported_at: AwareDatetime


class PacketReceiptPublic(WireModel):
    """The hub's receipt for a packet, with the public key it holds for the device."""

    packet_id: str
    case_number: str
    manifest_sha256: str
    reads: int
    username: str
    device_id: str
    device_public_key: str | None  # base64 of the raw Ed25519 key; None: never registered
    exported_at: AwareDatetime
    received_at: AwareDatetime


class DeviceKeyPublic(WireModel):
    device_id: str
    public_key: str | None  # base64 of the raw Ed25519 key; None: never registered
    status: str  # "active" or "revoked"


class CustodyEventPublic(WireModel):
    """One of the hub's own audit events about a case's evidence (holds, receipts), whole:
    its hash can be recomputed (app.core.audit_chain.event_hash)."""

    event_id: str
    device_id: str
    username: str
    session_id: str
    seq: int
    occurred_at: str
    action: str
    object_refs: dict[str, Any]
    params: dict[str, Any]
    outcome: str
    prev_hash: str
    hash: str


# --- Flags and supervisor review (hub.flags, hub.review; issue 4) ---


class UserUnitUpdate(WireModel):
    """The unit whose supervisors review the user's flagged searches; None: no unit."""

    unit: str | None = Field(min_length=1, max_length=64)


class FiredRulePublic(WireModel):
    rule: str  # app.core.flag_rules.RULES, or "unevaluated"
    reason: str


class RecentSearchPublic(WireModel):
    occurred_at: AwareDatetime
    source: str  # "search", "slice", "workstation" or "hotlist"
    case_number: str
    purpose: str
    params: dict[str, Any]
    result_count: int | None
    flagged: bool


class ReviewActionPublic(WireModel):
    kind: str  # "approve", "request_justification", "refer" or "answer"
    actor: str
    at: AwareDatetime
    text: str


class ReviewItemPublic(WireModel):
    """A flagged search with everything a supervisor needs to decide on it."""

    item_id: str
    status: str  # "open", "justification_requested", "answered", "approved", "referred"
    # the most severe rule's (app.core.oversight.Severity), stored at the hub (0017)
    severity: str = Field(default="low", pattern=r"^(low|medium|high)$")
    source: str
    username: str
    display_name: str | None
    unit: str | None
    case_number: str
    case_status: str | None = None  # the case's status now ("open", "closed"); None: no such case
    purpose: str
    justification: str | None
    params: dict[str, Any]  # the exact parameters, as audited
    result_count: int | None
    occurred_at: AwareDatetime
    flagged_at: AwareDatetime
    rules: list[FiredRulePublic]
    history: list[ReviewActionPublic]
    recent_searches: list[RecentSearchPublic]


class ReviewDecisionCreate(WireModel):
    """approve, request_justification (note: the question to the user) or refer."""

    decision: str = Field(pattern=r"^(approve|request_justification|refer)$")
    note: str = Field(default="", max_length=2000)


class ReviewBulkApproveCreate(WireModel):
    """Approve several low-severity random-sample items together (all or none)."""

    item_ids: list[str] = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=2000)


class ReviewReadsPublic(WireModel):
    """The reads a flagged search returned, as its reviewer may view them (audited).

    basis says how they were found: "slice" (the search's own slice), "search" (the
    workstation search's parameters inside the slice it ran under), or "none" (the
    search left nothing to show: its reads are past retention or it had no slice)."""

    item_id: str
    basis: str
    total: int
    reads: list[ReadPublic]
    images_until: AwareDatetime | None  # the reviewer may fetch their images until then


class JustificationRequestPublic(WireModel):
    """A supervisor's question about one of the user's flagged searches."""

    item_id: str
    case_number: str
    purpose: str
    occurred_at: AwareDatetime
    params: dict[str, Any]
    rules: list[FiredRulePublic]
    question: str
    requested_by: str
    requested_at: AwareDatetime


class JustificationAnswerCreate(WireModel):
    answer: str = Field(min_length=1, max_length=2000)


# --- Partner sharing (hub.partners) ---


class PartnerDecisionCreate(WireModel):
    """approve or decline a partner user's slice request; the note is required."""

    decision: str = Field(pattern=r"^(approve|decline)$")
    note: str = Field(min_length=1, max_length=2000)


class PartnerRequestPublic(WireModel):
    """A partner agency user's slice request, as the supervisors decide it."""

    slice_id: str
    status: str  # awaiting_approval, approved (active or expired), declined or revoked
    approval: str  # awaiting_approval, approved or declined
    partner_agency: str
    username: str
    display_name: str
    case_number: str
    purpose: str
    justification: str
    time_from: AwareDatetime
    time_to: AwareDatetime
    camera_ids: list[str] | None
    plate_pattern: str | None
    estimated_reads: int
    requested_at: AwareDatetime
    expires_at: AwareDatetime
    decided_by: str | None
    decided_at: AwareDatetime | None
    note: str | None
