"""Live rows of a layer, tombstones left out: pages skip their offset in the index alone.

0005's index held tombstones too, so every skipped entry of a page at an offset still
needed its row to test ``NOT deleted``; with the condition in the index's own predicate the
entries before the page are skipped without touching the table (index-only on PostgreSQL).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def _create(pg: bool, name: str, where: str) -> None:
    op.create_index(
        name,
        "city_objects",
        ["scenario_id", "layer", "pk"] if pg else ["scenario_id", "layer"],
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def _analyze(pg: bool) -> None:
    if not pg:
        op.execute("PRAGMA analysis_limit=1000")
    op.execute("ANALYZE city_objects")


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_objects_live_layer", "city_objects")
    _create(pg, "ix_objects_live", "valid_to IS NULL AND NOT deleted")
    _analyze(pg)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_objects_live", "city_objects")
    _create(pg, "ix_objects_live_layer", "valid_to IS NULL")
    _analyze(pg)
