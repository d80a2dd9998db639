"""Live rows of a scenario's layer in key order: pages of a layer without sorting it.

OGC API pages ask for a scenario's layer in primary-key order with an offset. Without this
index the planner read every row of the scenario and sorted them; with it, a page at offset
10,000 walks 10,000 index entries. SQLite keys every index by rowid (= pk) already.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_index(
        "ix_objects_live_layer",
        "city_objects",
        ["scenario_id", "layer", "pk"] if pg else ["scenario_id", "layer"],
        sqlite_where=sa.text("valid_to IS NULL"),
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    # Fresh statistics, so the planner weighs the new index against the object-id index.
    if not pg:
        op.execute("PRAGMA analysis_limit=1000")
    op.execute("ANALYZE city_objects")


def downgrade() -> None:
    op.drop_index("ix_objects_live_layer", "city_objects")
