"""PostgreSQL: reads partitioned by UTC day, so the retention purge drops whole days.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:55:00.000000

The reads table becomes a partitioned table (RANGE on captured_at) with one
partition per day that holds reads and a default partition (hub.partitions). Its
primary key becomes (read_id, captured_at), as PostgreSQL requires of a
partitioned table; the indexes keep their names. Existing reads are copied into
their days' partitions. `purge_images` holds the images of dropped days until the
purge's last step has removed those no read refers to. SQLite is unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_INDEXES = (
    "CREATE INDEX ix_reads_camera_id_captured_at ON reads (camera_id, captured_at)",
    "CREATE INDEX ix_reads_captured_at ON reads (captured_at)",
    "CREATE INDEX ix_reads_crop_sha256 ON reads (crop_sha256)",
    "CREATE INDEX ix_reads_image_sha256 ON reads (image_sha256)",
    "CREATE INDEX ix_reads_plate ON reads (plate)",
    "CREATE INDEX ix_reads_plate_trgm ON reads USING gin (plate gin_trgm_ops)",
)
_FOREIGN_KEY = (
    "ALTER TABLE reads ADD CONSTRAINT fk_reads_camera_id_cameras "
    "FOREIGN KEY (camera_id) REFERENCES cameras (camera_id)"
)


def _swap(create: str, primary_key: str, partitions: bool) -> None:
    """Copy reads into a new table made by `create`, then put it in reads' place."""
    op.execute(create)
    if partitions:
        op.execute("CREATE TABLE reads_default PARTITION OF reads_new DEFAULT")
        days = op.get_bind().exec_driver_sql(
            "SELECT DISTINCT (captured_at AT TIME ZONE 'UTC')::date FROM reads"
        )
        for (day,) in days.all():
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            op.execute(
                f"CREATE TABLE reads_p{day:%Y%m%d} PARTITION OF reads_new FOR VALUES "
                f"FROM ('{start.isoformat()}') TO ('{(start + timedelta(days=1)).isoformat()}')"
            )
    op.execute("INSERT INTO reads_new SELECT * FROM reads")
    op.execute("DROP TABLE reads")
    op.execute("ALTER TABLE reads_new RENAME TO reads")
    op.execute(f"ALTER TABLE reads ADD CONSTRAINT pk_reads PRIMARY KEY ({primary_key})")
    op.execute(_FOREIGN_KEY)
    for statement in _INDEXES:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE purge_images (sha256 varchar(64) NOT NULL)")
    _swap(
        "CREATE TABLE reads_new (LIKE reads INCLUDING DEFAULTS) PARTITION BY RANGE (captured_at)",
        "read_id, captured_at",
        partitions=True,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE purge_images")
    _swap("CREATE TABLE reads_new (LIKE reads INCLUDING DEFAULTS)", "read_id", partitions=False)
