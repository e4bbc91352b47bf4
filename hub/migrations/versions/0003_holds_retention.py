"""Evidence holds: one row per held read and case.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:30:00.000000

A hold protects its read from the retention purge until it is released
(hub.retention). read_id is deliberately not a foreign key: the hold row stays
as the record after a released read has been purged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holds",
        sa.Column("hold_id", sa.String(length=32), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("read_id", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", hub.db.types.UTCDateTime(length=24), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("released_at", hub.db.types.UTCDateTime(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_number"], ["cases.case_number"], name=op.f("fk_holds_case_number_cases")
        ),
        sa.PrimaryKeyConstraint("hold_id", name=op.f("pk_holds")),
    )
    op.create_index(op.f("ix_holds_case_number"), "holds", ["case_number"], unique=False)
    op.create_index(op.f("ix_holds_read_id"), "holds", ["read_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_holds_read_id"), table_name="holds")
    op.drop_index(op.f("ix_holds_case_number"), table_name="holds")
    op.drop_table("holds")
