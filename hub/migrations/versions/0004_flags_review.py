"""Flags, supervisor review and users' units.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:40:00.000000

users.unit: the unit whose supervisors review the user's flagged searches.
search_log: one row per search, slice request and mirrored workstation search
(the volume rule and the reviewer's view of recent searches). review_items: each
flagged one, with the rules that fired and its review status. review_actions:
every decision, justification request and answer on an item.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit", sa.String(length=64), nullable=True))
    op.create_table(
        "search_log",
        sa.Column("log_id", BigId, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("result_count", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_search_log")),
    )
    op.create_index(
        op.f("ix_search_log_username_occurred_at"),
        "search_log",
        ["username", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "review_items",
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("justification", sa.Text(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("result_count", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("flagged_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("slice_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("updated_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_review_items")),
    )
    op.create_index(op.f("ix_review_items_status"), "review_items", ["status"], unique=False)
    op.create_index(op.f("ix_review_items_unit"), "review_items", ["unit"], unique=False)
    op.create_index(op.f("ix_review_items_username"), "review_items", ["username"], unique=False)
    op.create_table(
        "review_actions",
        sa.Column("action_id", BigId, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.item_id"],
            name=op.f("fk_review_actions_item_id_review_items"),
        ),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_review_actions")),
    )
    op.create_index(op.f("ix_review_actions_item_id"), "review_actions", ["item_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_review_actions_item_id"), table_name="review_actions")
    op.drop_table("review_actions")
    op.drop_index(op.f("ix_review_items_username"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_unit"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_status"), table_name="review_items")
    op.drop_table("review_items")
    op.drop_index(op.f("ix_search_log_username_occurred_at"), table_name="search_log")
    op.drop_table("search_log")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("unit")
