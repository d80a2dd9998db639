"""Identity and access: organisations, users, memberships, API tokens, shares, usage log,
the hash-chained audit log with signed checkpoints, and twin ownership.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    json = JSONB() if pg else sa.JSON()
    tz = sa.DateTime(timezone=True)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("mfa_required", sa.Boolean, nullable=False),
        sa.Column("created_at", tz, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200)),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("totp_secret", sa.String(64)),
        sa.Column("totp_enabled", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        sa.Column("locked_until", tz),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", tz, nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.UniqueConstraint("user_id", "org_id", "role"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scopes", json, nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("expires_at", tz, nullable=False),
        sa.Column("revoked_at", tz),
        sa.Column("last_used_at", tz),
    )
    op.create_table(
        "shares",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resource_kind", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.Integer, nullable=False),
        sa.Column("owner_org_id", sa.Integer, sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("grantee_org_id", sa.Integer, sa.ForeignKey("organisations.id")),
        sa.Column("purposes", json, nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("revoked_at", tz),
    )
    op.create_index("ix_shares_resource", "shares", ["resource_kind", "resource_id"])
    op.create_table(
        "usage_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", tz, nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        sa.Column("org_id", sa.Integer),
        sa.Column("dataset_id", sa.Integer, nullable=False),
        sa.Column("purpose", sa.String(100)),
        sa.Column("action", sa.String(32), nullable=False),
    )
    op.create_index("ix_usage_dataset", "usage_log", ["dataset_id", "at"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("organisation", sa.String(200)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(400)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_table(
        "platform_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("public_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", tz, nullable=False),
    )
    # Plain ADD COLUMN: a batch rebuild of `twins` on SQLite would drop and recreate it, and
    # with foreign keys on that cascades into its scenarios. SQLite cannot add the foreign
    # key this way, so there the services keep owner_org_id pointing at an organisation.
    owner = sa.Column("owner_org_id", sa.Integer)
    op.add_column("twins", owner)
    if pg:
        op.create_foreign_key(
            "fk_twins_owner_org", "twins", "organisations", ["owner_org_id"], ["id"]
        )
    op.add_column(
        "twins", sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    with op.batch_alter_table("twins") as batch:
        batch.drop_column("public")
        batch.drop_column("owner_org_id")
    for table in (
        "platform_keys",
        "audit_checkpoints",
        "audit_head",
        "audit_log",
        "usage_log",
        "shares",
        "api_tokens",
        "memberships",
        "users",
        "organisations",
    ):
        op.drop_table(table)
