"""Cases carry the unit an agency's records system files them under.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:30:00.000000

`platedesk-hub case add --unit` and `case import` (an RMS export: number, title,
offense, unit, assigned users) keep the unit; NULL for the cases made before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("unit")
