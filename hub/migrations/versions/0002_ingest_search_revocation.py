"""Camera feed tokens, device revocation, slice attribute filters, trigram plate index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00.000000

PostgreSQL: pg_trgm and a GIN index on reads.plate (LIKE '%7K2%' uses it).
SQLite: an FTS5 trigram table over reads.plate with external content (the reads
table, by rowid), kept in step by triggers; filled from the existing reads here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FTS = "reads_plate_fts"


def upgrade() -> None:
    op.create_table(
        "feed_tokens",
        sa.Column("feed_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("camera_id", sa.String(length=32), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("revoked_at", hub.db.types.UTCDateTime(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.camera_id"], name=op.f("fk_feed_tokens_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("feed_id", name=op.f("pk_feed_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_feed_tokens_token_hash")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_at", hub.db.types.UTCDateTime(length=24), nullable=True)
        )
    with op.batch_alter_table("slices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attributes", sa.Text(), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_reads_plate_trgm ON reads USING gin (plate gin_trgm_ops)")
        return
    op.execute(
        f"CREATE VIRTUAL TABLE {FTS} USING fts5(plate, content='reads', "
        "content_rowid='rowid', tokenize='trigram case_sensitive 1')"
    )
    op.execute(
        f"CREATE TRIGGER reads_plate_fts_insert AFTER INSERT ON reads BEGIN "
        f"INSERT INTO {FTS}(rowid, plate) VALUES (new.rowid, new.plate); END"
    )
    op.execute(
        f"CREATE TRIGGER reads_plate_fts_delete AFTER DELETE ON reads BEGIN "
        f"INSERT INTO {FTS}({FTS}, rowid, plate) VALUES ('delete', old.rowid, old.plate); END"
    )
    op.execute(
        f"CREATE TRIGGER reads_plate_fts_update AFTER UPDATE OF plate ON reads BEGIN "
        f"INSERT INTO {FTS}({FTS}, rowid, plate) VALUES ('delete', old.rowid, old.plate); "
        f"INSERT INTO {FTS}(rowid, plate) VALUES (new.rowid, new.plate); END"
    )
    op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_reads_plate_trgm")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS reads_plate_fts_{name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    with op.batch_alter_table("slices", schema=None) as batch_op:
        batch_op.drop_column("attributes")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
    op.drop_table("feed_tokens")
