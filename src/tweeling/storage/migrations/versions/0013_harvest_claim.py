"""A claim on a harvest source, so one server process harvests it at a time (issue 24).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.add_column("store_harvest_sources", sa.Column("claimed_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("store_harvest_sources", "claimed_until")
