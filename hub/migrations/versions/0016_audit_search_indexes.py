"""The audit trail browser's and the operator insights' index: events by user and time.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:00:00.000000

`audit_events (username, occurred_at)`: an audit search by user and day, and the
operator insights (a unit's users' searches over N days), read only their rows.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_username_occurred_at", "audit_events", ["username", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_username_occurred_at", table_name="audit_events")
