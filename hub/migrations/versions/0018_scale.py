"""Image leases: the images an ingest writes before recording their reads.

Revision ID: 0018
Revises: 0013
Create Date: 2026-12-07 03:30:00.000000

Ingest writes a batch's images before the transaction that records its reads, and
takes a lease on them first (one row a request, gone with its commit); the purge
spares every image a lease names. This replaces looking for every image again
before the commit, which cost an object store a HEAD request per image.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "image_leases",
        sa.Column("lease_id", BigId, autoincrement=True, nullable=False),
        sa.Column("taken_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("images", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("lease_id", name=op.f("pk_image_leases")),
    )


def downgrade() -> None:
    op.drop_table("image_leases")
