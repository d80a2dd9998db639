"""The city model: twins, scenarios, datasets, edits and the versioned city-object rows.

City objects are versioned rows: an edit never updates a row's content, it appends a new row
and marks the old one superseded (``valid_to``). A scenario stores only its own rows and sees
its parent's rows as they were when it was created (``fork_seq``) — copy-on-write, so a new
scenario costs the same for ten buildings or a million.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from tweeling.storage.schema.base import Blob, FootprintCRS84, Json, metadata

twins = Table(
    "twins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("title", Text),
    Column("crs", String(64), nullable=False),
    Column("owner", String(200)),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("owner_org_id", ForeignKey("organisations.id")),
    Column("public", Boolean, nullable=False, default=False),
)


scenarios = Table(
    "scenarios",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("label", String(200)),
    Column("description", Text),
    Column("parent_id", ForeignKey("scenarios.id")),
    Column("fork_seq", BigInteger),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("twin_id", "name"),
)


datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("scenario_id", ForeignKey("scenarios.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("name", String(300), nullable=False),
    Column("format", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("owner", String(200)),
    Column("licence", String(300)),
    Column("acquired", String(32)),
    Column("crs", String(64), nullable=False),
    Column("content_hash", String(64)),
    Column("object_count", Integer, nullable=False, default=0),
    Column("counts", Json, nullable=False),
    Column("quality", Json, nullable=False),
    Column("meta", Json, nullable=False),
    Column("imported_by", String(200), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)


edits = Table(
    "edits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("scenario_id", ForeignKey("scenarios.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("author", String(200), nullable=False),
    Column("reason", Text),
    Column("dataset_id", Integer),
    Column("added", Integer, nullable=False, default=0),
    Column("modified", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("twin_id", "seq"),
)


geometry_templates = Table(
    "geometry_templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("template", Json, nullable=False),
    UniqueConstraint("twin_id", "key"),
)


attribute_indexes = Table(
    # Attributes an operator has indexed (storage.attribute_index): the filters' queryables.
    "attribute_indexes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("attribute", String(300), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("index_name", String(64), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


city_objects = Table(
    "city_objects",
    metadata,
    Column("pk", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("scenario_id", Integer, nullable=False),
    Column("object_id", String(300), nullable=False),
    Column("object_type", String(100), nullable=False),
    Column("layer", String(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("valid_to", BigInteger),
    Column("deleted", Boolean, nullable=False),
    Column("dataset_id", Integer),
    Column("parents", Json),
    Column("children", Json),
    Column("attributes", Json, nullable=False),
    Column("geometry", Blob, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("minx", Float),
    Column("miny", Float),
    Column("minz", Float),
    Column("maxx", Float),
    Column("maxy", Float),
    Column("maxz", Float),
    Column("lon_min", Float),
    Column("lat_min", Float),
    Column("lon_max", Float),
    Column("lat_max", Float),
    Column("footprint", Blob),
    Column("footprint_crs84", FootprintCRS84),
)

# Column order of the bulk insert path (storage.backends); kept beside the table it mirrors.
OBJECT_COLUMNS: tuple[str, ...] = tuple(c.name for c in city_objects.columns)


# Indexes the migrations made that are the same on both backends (the backend-specific ones
# are listed in storage.schema.BACKEND_SPECIFIC). Superseded rows are rare: a partial index.
Index("ix_objects_scenario_object", city_objects.c.scenario_id, city_objects.c.object_id)
Index("ix_objects_scenario_seq", city_objects.c.scenario_id, city_objects.c.seq)
Index(
    "ix_objects_superseded",
    city_objects.c.scenario_id,
    city_objects.c.valid_to,
    sqlite_where=text("valid_to IS NOT NULL"),
    postgresql_where=text("valid_to IS NOT NULL"),
)
