"""App packages, installations per twin, and runs (the OGC API – Processes jobs).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import BYTEA, JSONB

revision = "0008"
down_revision = "0007"

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_BLOB = sa.LargeBinary().with_variant(BYTEA(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "app_packages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("manifest", _JSON, nullable=False),
        sa.Column("archive", _BLOB, nullable=False),
        sa.Column("signature", _JSON),
        sa.Column("remote_url", sa.Text),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_app_packages_app", "app_packages", ["app_id", "version"])
    op.create_table(
        "app_installations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "twin_id", sa.Integer, sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("organisations.id")),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("package_id", sa.Integer, sa.ForeignKey("app_packages.id"), nullable=False),
        sa.Column("parameters", _JSON, nullable=False),
        sa.Column("installed_by", sa.String(200), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("twin_id", "app_id"),
    )
    op.create_table(
        "app_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(36), nullable=False, unique=True),
        sa.Column(
            "twin_id", sa.Integer, sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scenario_id", sa.Integer, nullable=False),
        sa.Column("package_id", sa.Integer, sa.ForeignKey("app_packages.id"), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("parameters", _JSON, nullable=False),
        sa.Column("purpose", sa.String(200)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("org_id", sa.Integer),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message", sa.Text),
        sa.Column("executor", sa.String(32), nullable=False),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("as_of_seq", sa.BigInteger),
        sa.Column("stored_seq", sa.BigInteger),
        sa.Column("cache_key", sa.String(64)),
        sa.Column("cached_from", sa.String(36)),
        sa.Column("recipe_run_id", sa.String(36)),
        sa.Column("step", sa.Integer),
        sa.Column("inputs", _JSON, nullable=False),
        sa.Column("outputs", _JSON, nullable=False),
        sa.Column("output_hash", sa.String(64)),
        sa.Column("flags", _JSON, nullable=False),
        sa.Column("measured", _JSON, nullable=False),
        sa.Column("prov", _JSON),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "recipe_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(36), nullable=False, unique=True),
        sa.Column(
            "twin_id", sa.Integer, sa.ForeignKey("twins.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scenario_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("recipe", _JSON, nullable=False),
        sa.Column("recipe_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(200)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_app_runs_status", "app_runs", ["status"])
    op.create_index("ix_app_runs_cache", "app_runs", ["cache_key"])
    op.create_index("ix_app_runs_stored", "app_runs", ["twin_id", "stored_seq"])


def downgrade() -> None:
    op.drop_table("recipe_runs")
    op.drop_table("app_runs")
    op.drop_table("app_installations")
    op.drop_table("app_packages")
