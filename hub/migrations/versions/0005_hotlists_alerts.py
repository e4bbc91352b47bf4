"""Hotlists, their fuzzy-match keys, and alerts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:40:00.000000

hotlist_entries: one plate of interest for a case (optionally a unit), until it
expires or is removed. hotlist_keys: the entry's folded plate with one character
left out, for fuzzy matching. alerts: one row per hit (read x entry), with the
recipient's acknowledgement. alerts.read_id is not a foreign key: the alert stays
as the record once the read is purged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hotlist_entries",
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("folded", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("expires_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("removed_by", sa.String(length=64), nullable=True),
        sa.Column("removed_at", hub.db.types.UTCDateTime(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_number"],
            ["cases.case_number"],
            name=op.f("fk_hotlist_entries_case_number_cases"),
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_hotlist_entries")),
    )
    op.create_index(
        op.f("ix_hotlist_entries_case_number"), "hotlist_entries", ["case_number"], unique=False
    )
    op.create_index(op.f("ix_hotlist_entries_folded"), "hotlist_entries", ["folded"], unique=False)
    op.create_index(op.f("ix_hotlist_entries_plate"), "hotlist_entries", ["plate"], unique=False)
    op.create_table(
        "hotlist_keys",
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["hotlist_entries.entry_id"],
            name=op.f("fk_hotlist_keys_entry_id_hotlist_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "entry_id", name=op.f("pk_hotlist_keys")),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", BigId, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("read_id", sa.String(length=32), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("match", sa.String(length=8), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", hub.db.types.UTCDateTime(length=24), nullable=True),
        sa.Column("visual_confirmed", sa.Boolean(), nullable=True),
        sa.Column("state_match", sa.Boolean(), nullable=True),
        sa.Column("entry_confirmed", sa.Boolean(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["hotlist_entries.entry_id"],
            name=op.f("fk_alerts_entry_id_hotlist_entries"),
        ),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("entry_id", "read_id", name=op.f("uq_alerts_entry_id_read_id")),
    )
    op.create_index(op.f("ix_alerts_case_number"), "alerts", ["case_number"], unique=False)
    op.create_index(op.f("ix_alerts_entry_id"), "alerts", ["entry_id"], unique=False)
    op.create_index(op.f("ix_alerts_read_id"), "alerts", ["read_id"], unique=False)
    op.create_index(op.f("ix_alerts_unit"), "alerts", ["unit"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_alerts_unit"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_read_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_entry_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_case_number"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("hotlist_keys")
    op.drop_index(op.f("ix_hotlist_entries_plate"), table_name="hotlist_entries")
    op.drop_index(op.f("ix_hotlist_entries_folded"), table_name="hotlist_entries")
    op.drop_index(op.f("ix_hotlist_entries_case_number"), table_name="hotlist_entries")
    op.drop_table("hotlist_entries")
