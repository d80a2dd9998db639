"""Participation: published plans and residents' comments on them (issue 19, the public plan
view).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(80), nullable=False, unique=True),
        sa.Column(
            "twin_id", sa.Integer, sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("base_scenario", sa.String(200), nullable=False),
        sa.Column("owner_org_id", sa.Integer, sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("comments_open", sa.Boolean, nullable=False),
        sa.Column("published_by", sa.String(320), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "plan_comments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "plan_id", sa.Integer, sa.ForeignKey("plans.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("pseudonym", sa.String(60), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("object_id", sa.String(200)),
        sa.Column("longitude", sa.Float),
        sa.Column("latitude", sa.Float),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moderated_by", sa.String(320)),
        sa.Column("moderated_at", sa.DateTime(timezone=True)),
        sa.Column("moderation_note", sa.Text),
    )
    op.create_index("ix_plan_comments_plan_status", "plan_comments", ["plan_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_plan_comments_plan_status", "plan_comments")
    op.drop_table("plan_comments")
    op.drop_table("plans")
