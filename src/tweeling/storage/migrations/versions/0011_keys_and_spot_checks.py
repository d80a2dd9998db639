"""Publisher signing keys, and the kind of a round of accreditation checks (intake or spot
check).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "publisher_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
        ),
        sa.Column("public_key", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("registered_by", sa.String(200), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    with op.batch_alter_table("accreditation_checks") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="intake"))


def downgrade() -> None:
    with op.batch_alter_table("accreditation_checks") as batch:
        batch.drop_column("kind")
    op.drop_table("publisher_keys")
