"""The change log loses its read_id index, which no query uses.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 03:00:00.000000

The change feed walks read_changes by change_seq and joins reads on their own
read_id index; nothing looks a change up by its read id. The index only cost
every write: one more B-tree entry per ingested read and per tombstone (the
purge of 1,000,000 expired reads on PostgreSQL spent 13-18 s of its time
inserting tombstones with it, 6.8 s without).
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_read_changes_read_id", table_name="read_changes")


def downgrade() -> None:
    op.create_index("ix_read_changes_read_id", "read_changes", ["read_id"], unique=False)
