"""Twin core: twins, scenarios, datasets, edits, geometry templates, versioned city objects.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, JSONB

revision = "0001"
down_revision = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    pg = dialect == "postgresql"
    json = JSONB() if pg else sa.JSON()
    blob = BYTEA() if pg else sa.LargeBinary()
    big = sa.BigInteger()
    tz = sa.DateTime(timezone=True)

    op.create_table(
        "twins",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("title", sa.Text),
        sa.Column("crs", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("last_seq", big, nullable=False),
        sa.Column("created_at", tz, nullable=False),
    )
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "twin_id", sa.Integer, sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("label", sa.String(200)),
        sa.Column("description", sa.Text),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("scenarios.id")),
        sa.Column("fork_seq", big),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.UniqueConstraint("twin_id", "name"),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "twin_id", sa.Integer, sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.id"), nullable=False),
        sa.Column("seq", big, nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("licence", sa.String(300)),
        sa.Column("acquired", sa.String(32)),
        sa.Column("crs", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("object_count", sa.Integer, nullable=False),
        sa.Column("counts", json, nullable=False),
        sa.Column("quality", json, nullable=False),
        sa.Column("meta", json, nullable=False),
        sa.Column("imported_by", sa.String(200), nullable=False),
        sa.Column("imported_at", tz, nullable=False),
    )
    op.create_table(
        "edits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "twin_id", sa.Integer, sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("seq", big, nullable=False),
        sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("dataset_id", sa.Integer),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("modified", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Integer, nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.UniqueConstraint("twin_id", "seq"),
    )
    op.create_table(
        "geometry_templates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "twin_id", sa.Integer, sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("template", json, nullable=False),
        sa.UniqueConstraint("twin_id", "key"),
    )
    op.create_table(
        "city_objects",
        sa.Column("pk", big if pg else sa.Integer(), primary_key=True),
        sa.Column("scenario_id", sa.Integer, nullable=False),
        sa.Column("object_id", sa.String(300), nullable=False),
        sa.Column("object_type", sa.String(100), nullable=False),
        sa.Column("layer", sa.String(32), nullable=False),
        sa.Column("seq", big, nullable=False),
        sa.Column("valid_to", big),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("dataset_id", sa.Integer),
        sa.Column("parents", json),
        sa.Column("children", json),
        sa.Column("attributes", json, nullable=False),
        sa.Column("geometry", blob, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        *(sa.Column(c, sa.Float) for c in ("minx", "miny", "minz", "maxx", "maxy", "maxz")),
        *(sa.Column(c, sa.Float) for c in ("lon_min", "lat_min", "lon_max", "lat_max")),
        sa.Column("footprint", blob),
        sa.Column("footprint_crs84", blob if not pg else sa.LargeBinary()),
    )
    # Bulk imports pay for every index, so there are few. Uniqueness of live object ids per
    # scenario is checked by the importer and the editor, not by a second index on object_id;
    # superseded rows are rare, so their index is partial.
    op.create_index("ix_objects_scenario_object", "city_objects", ["scenario_id", "object_id"])
    op.create_index("ix_objects_scenario_seq", "city_objects", ["scenario_id", "seq"])
    op.create_index(
        "ix_objects_superseded",
        "city_objects",
        ["scenario_id", "valid_to"],
        sqlite_where=sa.text("valid_to IS NOT NULL"),
        postgresql_where=sa.text("valid_to IS NOT NULL"),
    )
    if pg:
        op.execute(
            "ALTER TABLE city_objects ALTER COLUMN footprint_crs84 "
            "TYPE geometry(Geometry, 4326) USING NULL"
        )
        op.execute("CREATE INDEX ix_objects_footprint ON city_objects USING gist (footprint_crs84)")
    else:
        # SQLite's built-in R*Tree over each row's CRS84 bounding box; rowid = city_objects.pk.
        op.execute(
            "CREATE VIRTUAL TABLE city_objects_rtree "
            "USING rtree(id, lon_min, lon_max, lat_min, lat_max)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE city_objects_rtree")
    for table in ("city_objects", "geometry_templates", "edits", "datasets", "scenarios", "twins"):
        op.drop_table(table)
