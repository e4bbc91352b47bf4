"""Evidence packet receipts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 19:40:00.000000

One row per exported packet: the SHA-256 of its signed tag manifest, the
exporting user and device, the export time (hub.receipts).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "packet_receipts",
        sa.Column("packet_id", sa.String(length=32), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("exported_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("received_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.PrimaryKeyConstraint("packet_id", name=op.f("pk_packet_receipts")),
    )
    op.create_index(
        op.f("ix_packet_receipts_case_number"), "packet_receipts", ["case_number"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_packet_receipts_case_number"), table_name="packet_receipts")
    op.drop_table("packet_receipts")
