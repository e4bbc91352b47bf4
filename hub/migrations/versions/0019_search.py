"""The plate trigram index keeps a short pending list (remote partial search).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 04:20:00.000000

PostgreSQL's GIN index batches new entries in a pending list that every search
scans linearly until autovacuum or the list's limit (4 MB) folds it in: after an
ingest, a partial plate search ('*7K2*') over 1,000,000 reads read about 125
pending pages in each of the 31 day partitions (17 to 48 ms; 2 to 4 ms once
folded in). A 64 kB limit keeps the batching but bounds what a search scans to a
few pages a partition. The partitioned index passes the setting to every day
partition, those made later included. SQLite (FTS5 trigram table) is unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

PENDING_LIST_KB = 64


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_reads_plate_trgm")
    op.execute(
        "CREATE INDEX ix_reads_plate_trgm ON reads USING gin (plate gin_trgm_ops)"
        f" WITH (gin_pending_list_limit = {PENDING_LIST_KB})"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_reads_plate_trgm")
    op.execute("CREATE INDEX ix_reads_plate_trgm ON reads USING gin (plate gin_trgm_ops)")
