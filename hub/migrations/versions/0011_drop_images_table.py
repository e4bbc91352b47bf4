"""The images table goes: a read names its images (sha256 and size) itself.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 09:00:00.000000

The table held one row per stored file (sha256, size, content type, first seen).
Every file is a JPEG of a read, and the read carries its scene's and crop's
sha256 and size, so the rows told nothing the reads do not; they cost ingest two
rows per read and the purge one deleted row per file (10 of the 16 s a purge of
1,000,000 expired reads took on PostgreSQL). The files that a purge leaves
without a read are found from the purged reads themselves (hub.partitions,
hub.retention). The downgrade rebuilds the rows from the reads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("images")


def downgrade() -> None:
    op.create_table(
        "images",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_images")),
    )
    op.execute(
        "INSERT INTO images (sha256, size, content_type, created_at) "
        "SELECT sha256, max(size), 'image/jpeg', min(captured_at) FROM ("
        "SELECT image_sha256 AS sha256, image_size AS size, captured_at FROM reads "
        "UNION ALL SELECT crop_sha256, crop_size, captured_at FROM reads) AS stored "
        "GROUP BY sha256"
    )
