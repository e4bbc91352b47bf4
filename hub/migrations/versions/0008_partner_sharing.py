"""Partner sharing: users of partner agencies, and slices that await approval.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 23:45:00.000000

users.partner_agency names the partner agency a user belongs to (NULL: the hub's
own agency). A partner user's slice records that agency and its approval
("awaiting_approval", "approved" or "declined"; NULL: no approval needed), with
the supervisor's decision (who, when, note). See hub.partners.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("partner_agency", sa.String(length=128), nullable=True))
    with op.batch_alter_table("slices") as batch:
        batch.add_column(sa.Column("partner_agency", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("approval", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("decided_at", hub.db.types.UTCDateTime(length=24), nullable=True)
        )
        batch.add_column(sa.Column("decision_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slices") as batch:
        batch.drop_column("decision_note")
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
        batch.drop_column("approval")
        batch.drop_column("partner_agency")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("partner_agency")
