"""TOTP replay protection: the step of each user's last accepted code.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 23:20:00.000000

A TOTP code is accepted once (RFC 6238, section 5.2): sign-in records the 30 s
step of the code it accepted and refuses any code of that step or an earlier one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
