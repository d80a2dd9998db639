"""Indexed attributes (queryables), see ``tweeling.storage.attribute_index``.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "attribute_indexes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("attribute", sa.String(300), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("index_name", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    bind = op.get_bind()
    for (name,) in bind.execute(sa.text("SELECT index_name FROM attribute_indexes")):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_table("attribute_indexes")
