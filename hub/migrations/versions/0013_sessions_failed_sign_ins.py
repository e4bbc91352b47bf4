"""Server-side sessions, and failed sign-ins by name and address (not by account).

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-07 00:00:00.000000

`sessions` holds one row per sign-in: every request checks that its session has not
ended (sign-out, account lock, device revoked) and the device it is bound to. The
sessions open at upgrade are rebuilt from their refresh tokens (a session with an
unrevoked refresh token is live, the others ended at sign-out).

`failed_sign_ins` replaces `sign_in_failures`: a failure is counted by the name tried
(whether or not a user has it) and the client's address, to throttle further tries;
five failures no longer lock an account, so no one can lock another's account.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("ended_at", hub.db.types.UTCDateTime(length=24), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_device_id"), ["device_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sessions_user_id_ended_at"), ["user_id", "ended_at"], unique=False
        )
    live = "SUM(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) > 0"
    op.execute(
        "INSERT INTO sessions (session_id, user_id, started_at, ended_at, end_reason) "
        "SELECT session_id, MIN(user_id), MIN(session_started_at), "
        f"CASE WHEN {live} THEN NULL ELSE MAX(revoked_at) END, "
        f"CASE WHEN {live} THEN NULL ELSE 'signed_out' END "
        "FROM refresh_tokens GROUP BY session_id"
    )
    op.create_table(
        "failed_sign_ins",
        sa.Column("failure_id", BigId, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failed_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.PrimaryKeyConstraint("failure_id", name=op.f("pk_failed_sign_ins")),
    )
    with op.batch_alter_table("failed_sign_ins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_failed_sign_ins_failed_at"), ["failed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_failed_sign_ins_username_failed_at"),
            ["username", "failed_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_failed_sign_ins_address_failed_at"),
            ["address", "failed_at"],
            unique=False,
        )
    op.drop_table("sign_in_failures")


def downgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("failure_id", BigId, autoincrement=True, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("failed_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_sign_in_failures_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("failure_id", name=op.f("pk_sign_in_failures")),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_failures_user_id_failed_at"),
            ["user_id", "failed_at"],
            unique=False,
        )
    op.drop_table("failed_sign_ins")
    op.drop_table("sessions")
