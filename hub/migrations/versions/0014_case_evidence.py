"""The case's evidence record: legal basis, review date, marks, refusal, release reason.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 03:30:00.000000

Each hold row becomes the case's record of one evidence read: the legal basis (a code
of app.core.evidence.LEGAL_BASES and free text), an optional review date, the review
marks its marker made (JSON), the custodian's note on confirming or refusing, who
refused it and when (a refused hold protects nothing), and the reason of a release.
Existing holds get the default basis ("active_investigation") and no marks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        batch.add_column(
            sa.Column(
                "legal_basis",
                sa.String(length=32),
                nullable=False,
                server_default="active_investigation",
            )
        )
        batch.add_column(
            sa.Column("legal_basis_text", sa.Text(), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("review_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("marks", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("decision_note", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("refused_by", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("refused_at", hub.db.types.UTCDateTime(length=24), nullable=True)
        )
        batch.add_column(
            sa.Column("release_reason", sa.Text(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        for name in (
            "release_reason",
            "refused_at",
            "refused_by",
            "decision_note",
            "marks",
            "review_date",
            "legal_basis_text",
            "legal_basis",
        ):
            batch.drop_column(name)
