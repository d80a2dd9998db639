"""The app platform: uploaded packages, installations in twins, app runs and recipe runs."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tweeling.storage.schema.base import Blob, Json, metadata

app_packages = Table(
    # App versions as uploaded: the archive itself, its content hash and signature.
    "app_packages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("app_id", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False, unique=True),
    Column("manifest", Json, nullable=False),
    Column("archive", Blob, nullable=False),
    Column("signature", Json),
    Column("remote_url", Text),
    Column("uploaded_by", String(200), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
)


app_installations = Table(
    # An organisation's app in one of its twins, with the parameters it calibrated.
    "app_installations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", ForeignKey("organisations.id")),
    Column("app_id", String(64), nullable=False),
    Column("package_id", ForeignKey("app_packages.id"), nullable=False),
    Column("parameters", Json, nullable=False),
    Column("installed_by", String(200), nullable=False),
    Column("installed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("twin_id", "app_id"),
)


app_runs = Table(
    # One run of an app (an OGC API – Processes job): what went in, what came out, who, why.
    "app_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", String(36), nullable=False, unique=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("scenario_id", Integer, nullable=False),
    Column("package_id", ForeignKey("app_packages.id"), nullable=False),
    Column("app_id", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("parameters", Json, nullable=False),
    Column("purpose", String(200)),
    Column("actor", String(200), nullable=False),
    Column("org_id", Integer),
    Column("status", String(32), nullable=False),
    Column("progress", Integer, nullable=False, default=0),
    Column("message", Text),
    Column("executor", String(32), nullable=False),
    Column("claimed_by", String(200)),  # host:pid of the process carrying the run out
    Column("as_of_seq", BigInteger),
    Column("stored_seq", BigInteger),
    Column("cache_key", String(64)),
    Column("cached_from", String(36)),
    Column("recipe_run_id", String(36)),
    Column("step", Integer),
    Column("inputs", Json, nullable=False),
    Column("outputs", Json, nullable=False),
    Column("output_hash", String(64)),
    Column("flags", Json, nullable=False),
    Column("measured", Json, nullable=False),
    Column("prov", Json),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
)


recipe_runs = Table(
    # One run of a recipe: a chain of app runs (app_runs.recipe_run_id) in dependency order.
    "recipe_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", String(36), nullable=False, unique=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("scenario_id", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("recipe", Json, nullable=False),
    Column("recipe_hash", String(64), nullable=False),
    Column("purpose", String(200)),
    Column("actor", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("message", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
)


Index("ix_app_packages_app", app_packages.c.app_id, app_packages.c.version)
Index("ix_app_runs_status", app_runs.c.status)
Index("ix_app_runs_cache", app_runs.c.cache_key)
Index("ix_app_runs_stored", app_runs.c.twin_id, app_runs.c.stored_seq)
