"""The hub schema as SQLAlchemy Core tables: the one description the code queries.

The migrations in hub/migrations/versions create exactly these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.db.types import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

# An auto-incrementing 64-bit key on PostgreSQL that is still SQLite's ROWID alias.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("totp_secret", sa.String(64), nullable=False),
    sa.Column("training_valid_until", sa.Date(), nullable=True),
    sa.Column("locked_at", UTCDateTime(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("unit", sa.String(64), nullable=True),  # 0004: supervisors review their unit
    # 0007: the 30 s TOTP step of the last accepted code; a code is never accepted twice.
    sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
    # 0008: the partner agency the user belongs to; NULL: the hub's own agency.
    sa.Column("partner_agency", sa.String(128), nullable=True),
)

# 0013: failed sign-ins, by the name tried (known or not) and the client's address;
# they throttle further tries (hub.sign_in_throttle), they never lock an account.
failed_sign_ins = sa.Table(
    "failed_sign_ins",
    metadata,
    sa.Column("failure_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("failed_at", UTCDateTime(), nullable=False, index=True),
    sa.Index(None, "username", "failed_at"),
    sa.Index(None, "address", "failed_at"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", BigId, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    sa.Column("session_id", sa.String(32), nullable=False, index=True),
    sa.Column("session_started_at", UTCDateTime(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("user_id", BigId, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("public_key", sa.String(512), nullable=True),
    sa.Column("registered_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),  # 0002
)

# 0013: sign-in sessions, checked on every request (hub.sessions.SessionCache). A
# session is bound to the device it signed in from or registered (device_id), and ends
# (ended_at, end_reason) at sign-out, on an account lock or when its device is revoked.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_id", sa.String(32), primary_key=True),
    sa.Column("user_id", BigId, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=True, index=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("end_reason", sa.String(32), nullable=True),
    sa.Index(None, "user_id", "ended_at"),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("case_number", sa.String(32), primary_key=True),
    sa.Column("title", sa.String(256), nullable=False),
    sa.Column("offense_category", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("unit", sa.String(64), nullable=True),  # 0015: the unit the agency's RMS names
)

case_assignments = sa.Table(
    "case_assignments",
    metadata,
    sa.Column(
        "case_number",
        sa.String(32),
        sa.ForeignKey("cases.case_number", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "user_id", BigId, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    ),
)

cameras = sa.Table(
    "cameras",
    metadata,
    sa.Column("camera_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("agency", sa.String(128), nullable=False),
    sa.Column("latitude", sa.Float(), nullable=False),
    sa.Column("longitude", sa.Float(), nullable=False),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
)

reads = sa.Table(
    "reads",
    metadata,
    sa.Column("read_id", sa.String(32), primary_key=True),
    sa.Column("plate", sa.String(16), nullable=False, index=True),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("confidence", sa.Float(), nullable=False),
    sa.Column("captured_at", UTCDateTime(), nullable=False, index=True),
    sa.Column("camera_id", sa.String(32), sa.ForeignKey("cameras.camera_id"), nullable=False),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("make", sa.String(64), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("color", sa.String(32), nullable=False),
    sa.Column("body_type", sa.String(32), nullable=False),
    sa.Column("features", sa.Text(), nullable=False),  # JSON list of strings
    sa.Column("image_sha256", sa.String(64), nullable=False, index=True),
    sa.Column("image_size", sa.Integer(), nullable=False),
    sa.Column("crop_sha256", sa.String(64), nullable=False, index=True),
    sa.Column("crop_size", sa.Integer(), nullable=False),
    sa.Index(None, "camera_id", "captured_at"),
)

# Every insert, change and delete of a read, in commit order: the change feed's source.
read_changes = sa.Table(
    "read_changes",
    metadata,
    sa.Column("change_seq", BigId, primary_key=True, autoincrement=True),
    sa.Column("read_id", sa.String(32), nullable=False),  # no index: nothing looks it up
    sa.Column("op", sa.String(8), nullable=False),  # "upsert" or "delete"
    sa.Column("camera_id", sa.String(32), nullable=False),
    sa.Column("captured_at", UTCDateTime(), nullable=False),
    sa.Column("changed_at", UTCDateTime(), nullable=False),
)

slices = sa.Table(
    "slices",
    metadata,
    sa.Column("slice_id", sa.String(32), primary_key=True),
    sa.Column("user_id", BigId, sa.ForeignKey("users.user_id"), nullable=False, index=True),
    sa.Column("case_number", sa.String(32), sa.ForeignKey("cases.case_number"), nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("justification", sa.Text(), nullable=False),
    sa.Column("time_from", UTCDateTime(), nullable=False),
    sa.Column("time_to", UTCDateTime(), nullable=False),
    sa.Column("camera_ids", sa.Text(), nullable=True),  # JSON list, NULL: all cameras
    sa.Column("plate_pattern", sa.String(32), nullable=True),  # normalized
    sa.Column("estimated_reads", sa.BigInteger(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
    sa.Column("attributes", sa.Text(), nullable=True),  # 0002: JSON AttributeFilter, NULL: any
    # 0008: a partner user's slice (hub.partners): the agency, and the approval it awaits
    # ("awaiting_approval", "approved", "declined"; NULL: a home-agency slice, no approval)
    # with the supervisor's decision. Until approved, expires_at == created_at.
    sa.Column("partner_agency", sa.String(128), nullable=True),
    sa.Column("approval", sa.String(32), nullable=True),
    sa.Column("decided_by", sa.String(64), nullable=True),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("decision_note", sa.Text(), nullable=True),
)

# Append-only: the API never updates or deletes a row; on PostgreSQL and SQLite a
# trigger refuses UPDATE and DELETE.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("row_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("occurred_at", sa.String(32), nullable=False),  # exactly as hashed
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_refs", sa.Text(), nullable=False),  # canonical JSON
    sa.Column("params", sa.Text(), nullable=False),  # canonical JSON
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("late", sa.Boolean(), nullable=False),
    sa.Index(None, "device_id", "seq"),
    sa.Index(None, "action", "received_at"),
    sa.Index(None, "username", "occurred_at"),  # 0016: audit search, operator insights
)

audit_problems = sa.Table(
    "audit_problems",
    metadata,
    sa.Column("problem_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("device_id", sa.String(64), nullable=False, index=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # gap, link, hash, order, conflict, time
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("detected_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
)

chain_heads = sa.Table(
    "chain_heads",
    metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("last_seq", sa.BigInteger(), nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)

# 0002: camera feed devices. A feed authenticates with a bearer token stored as its
# SHA-256; camera_id NULL lets one feed post for every registered camera.
feed_tokens = sa.Table(
    "feed_tokens",
    metadata,
    sa.Column("feed_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("camera_id", sa.String(32), sa.ForeignKey("cameras.camera_id"), nullable=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)

# 0003: evidence holds, one row per read and case. A hold protects its read from the
# retention purge while released_at is NULL (proposed or confirmed; hub.retention).
# read_id is not a foreign key: the row stays as the record once the read is purged.
holds = sa.Table(
    "holds",
    metadata,
    sa.Column("hold_id", sa.String(32), primary_key=True),
    sa.Column(
        "case_number",
        sa.String(32),
        sa.ForeignKey("cases.case_number"),
        nullable=False,
        index=True,
    ),
    sa.Column("read_id", sa.String(32), nullable=False, index=True),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("proposed_by", sa.String(64), nullable=False),
    sa.Column("proposed_at", UTCDateTime(), nullable=False),
    sa.Column("confirmed_by", sa.String(64), nullable=True),
    sa.Column("confirmed_at", UTCDateTime(), nullable=True),
    sa.Column("released_by", sa.String(64), nullable=True),
    sa.Column("released_at", UTCDateTime(), nullable=True),
    # 0014: the case's evidence record (hub.holds): the legal basis (a code of
    # app.core.evidence.LEGAL_BASES and text), an optional review date, the marker's
    # review marks (JSON list), the custodian's note, a refusal, the release's reason.
    # A refused hold protects nothing, as a released one.
    sa.Column("legal_basis", sa.String(32), nullable=False, server_default="active_investigation"),
    sa.Column("legal_basis_text", sa.Text(), nullable=False, server_default=""),
    sa.Column("review_date", sa.Date(), nullable=True),
    sa.Column("marks", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("decision_note", sa.Text(), nullable=False, server_default=""),
    sa.Column("refused_by", sa.String(64), nullable=True),
    sa.Column("refused_at", UTCDateTime(), nullable=True),
    sa.Column("release_reason", sa.Text(), nullable=False, server_default=""),
)

# 0002: the SQLite trigram index over reads.plate (an FTS5 table, external content,
# kept in step by triggers); on PostgreSQL a pg_trgm GIN index on reads.plate.
PLATE_FTS_TABLE = "reads_plate_fts"

# 0005: hotlists and alerts (hub.hotlists, hub.alerts). An entry alerts until it
# expires or is removed; `folded` is its plate with confusable characters folded
# (app.core.plates.fold_plate) and hotlist_keys holds the folded plate with one
# character left out, so exact and fuzzy matching of a read is one indexed query.
hotlist_entries = sa.Table(
    "hotlist_entries",
    metadata,
    sa.Column("entry_id", sa.String(32), primary_key=True),
    sa.Column("plate", sa.String(16), nullable=False, index=True),
    sa.Column("folded", sa.String(16), nullable=False, index=True),
    sa.Column("state", sa.String(8), nullable=True),  # NULL: any state
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column(
        "case_number", sa.String(32), sa.ForeignKey("cases.case_number"), nullable=False, index=True
    ),
    sa.Column("unit", sa.String(64), nullable=True),  # also alert this unit's users
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("removed_by", sa.String(64), nullable=True),
    sa.Column("removed_at", UTCDateTime(), nullable=True),
)

hotlist_keys = sa.Table(
    "hotlist_keys",
    metadata,
    sa.Column("key", sa.String(16), primary_key=True),
    sa.Column(
        "entry_id",
        sa.String(32),
        sa.ForeignKey("hotlist_entries.entry_id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

# One row per hit (read x entry). read_id is not a foreign key: the alert stays as
# the record once the read is purged. The acknowledgement columns are NULL until a
# recipient records the verification steps and the outcome.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "entry_id",
        sa.String(32),
        sa.ForeignKey("hotlist_entries.entry_id"),
        nullable=False,
        index=True,
    ),
    sa.Column("read_id", sa.String(32), nullable=False, index=True),
    sa.Column("case_number", sa.String(32), nullable=False, index=True),
    sa.Column("unit", sa.String(64), nullable=True, index=True),
    sa.Column("match", sa.String(8), nullable=False),  # "exact" or "fuzzy"
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("acknowledged_by", sa.String(64), nullable=True),
    sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
    sa.Column("visual_confirmed", sa.Boolean(), nullable=True),
    sa.Column("state_match", sa.Boolean(), nullable=True),
    sa.Column("entry_confirmed", sa.Boolean(), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
    sa.UniqueConstraint("entry_id", "read_id"),
)

# 0006: packet receipts (hub.receipts). One row per exported evidence packet: its
# manifest hash (SHA-256 of the signed tagmanifest-sha256.txt), who exported it on
# which device, when. case_number is not a foreign key: the receipt is a record.
packet_receipts = sa.Table(
    "packet_receipts",
    metadata,
    sa.Column("packet_id", sa.String(32), primary_key=True),
    sa.Column("case_number", sa.String(32), nullable=False, index=True),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("reads", sa.Integer(), nullable=False),
    sa.Column("user_id", BigId, nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("exported_at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
)

# 0004: flags and supervisor review (hub.flags, hub.review). search_log holds one
# row per search, slice request and mirrored workstation search, for the volume
# rule and the reviewer's view of a user's recent searches. review_items holds
# each flagged one with the rules that fired (JSON list of {rule, reason}) and its
# review status; review_actions holds every decision, request and answer on it.
search_log = sa.Table(
    "search_log",
    metadata,
    sa.Column("log_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # "search", "slice" or "workstation"
    sa.Column("case_number", sa.String(32), nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("params", sa.Text(), nullable=False),  # canonical JSON, exactly as audited
    sa.Column("result_count", sa.BigInteger(), nullable=True),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("item_id", sa.String(32), nullable=True),  # its review item when flagged
    sa.Index(None, "username", "occurred_at"),
    # 0017: a user's newest searches in order, read by index (each item of a queue page)
    sa.Index(None, "username", "occurred_at", "log_id"),
)

review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("item_id", sa.String(32), primary_key=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("unit", sa.String(64), nullable=True, index=True),  # the user's unit when flagged
    sa.Column("case_number", sa.String(32), nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("justification", sa.Text(), nullable=True),
    sa.Column("params", sa.Text(), nullable=False),
    sa.Column("result_count", sa.BigInteger(), nullable=True),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("flagged_at", UTCDateTime(), nullable=False),
    sa.Column("rules", sa.Text(), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=True),  # the search's audit event
    sa.Column("slice_id", sa.String(32), nullable=True),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # 0017: 1 low, 2 medium, 3 high (app.core.oversight.Severity): the queue's order,
    # most severe then newest, by index, for one unit or for every unit.
    sa.Column("severity", sa.SmallInteger(), nullable=False, server_default="1"),
    sa.Index(None, "unit", "severity", "occurred_at", "item_id"),
    sa.Index(None, "severity", "occurred_at", "item_id"),
)

# 0017: a reviewer who opened the reads a flagged search returned may fetch their
# images until expires_at (hub.review_context), without a case assignment.
review_read_grants = sa.Table(
    "review_read_grants",
    metadata,
    sa.Column("grant_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.String(32), sa.ForeignKey("review_items.item_id"), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("granted_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Index(None, "username", "expires_at"),
)

review_actions = sa.Table(
    "review_actions",
    metadata,
    sa.Column("action_id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "item_id",
        sa.String(32),
        sa.ForeignKey("review_items.item_id"),
        nullable=False,
        index=True,
    ),
    # approve, request_justification, refer or answer
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
)

# Images an ingest is writing before the transaction that records their reads: the
# purge never removes an image that a lease names (hub.image_leases). A row lives for
# one request; one left by a crash expires.
image_leases = sa.Table(
    "image_leases",
    metadata,
    sa.Column("lease_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("taken_at", UTCDateTime(), nullable=False),
    sa.Column("images", sa.Text(), nullable=False),  # the sha256 of each, space-separated
)
