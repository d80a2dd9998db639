"""Accreditation: the results of the automated intake checks per app version.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "accreditation_checks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("store_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("check_name", sa.String(32), nullable=False),
        sa.Column("passed", sa.Boolean),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("run_by", sa.String(200), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_accreditation_checks_version", "accreditation_checks", ["version_id", "round"]
    )

    op.create_table(
        "accreditation_assignments",
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("store_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "accreditation_scores",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("store_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("framework", sa.String(16), nullable=False),
        sa.Column("criterion", sa.String(16), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("scored_by", sa.String(200), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("version_id", "org_id", "criterion"),
    )


def downgrade() -> None:
    op.drop_table("accreditation_scores")
    op.drop_table("accreditation_assignments")
    op.drop_table("accreditation_checks")
