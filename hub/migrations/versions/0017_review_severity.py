"""Review items carry their severity, and the queue's order has an index.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07 03:20:00.000000

review_items.severity: 1 low, 2 medium, 3 high (app.core.oversight.Severity), the
severity of the most severe rule that fired, stored when the item is filed so the
database orders the queue (most severe, then newest) and pages it by key. Items
filed before this revision get theirs from their rules here.

search_log (username, occurred_at, log_id): each queue item's recent searches by
index, newest first.

review_read_grants: a reviewer who opened the reads a flagged search returned may
fetch those reads' images for a while (hub.review_context), with no case assignment.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

import hub.db.types
from app.core.oversight import item_severity

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _severity(rules: str) -> int:
    try:
        names = [str(rule.get("rule", "")) for rule in json.loads(rules)]
    except (ValueError, TypeError, AttributeError):
        names = ["unevaluated"]
    return int(item_severity(names))


def upgrade() -> None:
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("severity", sa.SmallInteger(), server_default="1", nullable=False)
        )
    connection = op.get_bind()
    items = sa.table(
        "review_items",
        sa.column("item_id", sa.String()),
        sa.column("rules", sa.Text()),
        sa.column("severity", sa.SmallInteger()),
    )
    rows = connection.execute(sa.select(items.c.item_id, items.c.rules)).all()
    by_severity: dict[int, list[str]] = {}
    for item_id, rules in rows:
        by_severity.setdefault(_severity(rules), []).append(item_id)
    for severity, ids in by_severity.items():
        for start in range(0, len(ids), 500):
            connection.execute(
                items.update()
                .where(items.c.item_id.in_(ids[start : start + 500]))
                .values(severity=severity)
            )
    op.create_index(
        "ix_review_items_unit_severity_occurred_at_item_id",
        "review_items",
        ["unit", "severity", "occurred_at", "item_id"],
        unique=False,
    )
    op.create_index(
        "ix_review_items_severity_occurred_at_item_id",
        "review_items",
        ["severity", "occurred_at", "item_id"],
        unique=False,
    )
    op.create_index(
        "ix_search_log_username_occurred_at_log_id",
        "search_log",
        ["username", "occurred_at", "log_id"],
        unique=False,
    )
    op.create_table(
        "review_read_grants",
        sa.Column("grant_id", BigId, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("granted_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.Column("expires_at", hub.db.types.UTCDateTime(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.item_id"],
            name=op.f("fk_review_read_grants_item_id_review_items"),
        ),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_review_read_grants")),
    )
    op.create_index(
        op.f("ix_review_read_grants_username_expires_at"),
        "review_read_grants",
        ["username", "expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_review_read_grants_username_expires_at"), table_name="review_read_grants"
    )
    op.drop_table("review_read_grants")
    op.drop_index("ix_search_log_username_occurred_at_log_id", table_name="search_log")
    op.drop_index("ix_review_items_severity_occurred_at_item_id", table_name="review_items")
    op.drop_index("ix_review_items_unit_severity_occurred_at_item_id", table_name="review_items")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_column("severity")
