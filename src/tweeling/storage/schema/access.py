"""Identity and access: organisations, people, memberships, tokens, shares, sessions and
OpenID Connect sign-ins (migration 0002 onwards)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from tweeling.storage.schema.base import Json, metadata

organisations = Table(
    "organisations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("mfa_required", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200)),
    Column("password_hash", String(200)),
    Column("totp_secret", String(64)),
    Column("totp_enabled", Boolean, nullable=False, default=False),
    # The newest TOTP time step accepted: a code of that step or an earlier one is refused.
    Column("totp_last_step", BigInteger),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


memberships = Table(
    "memberships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "org_id", "role"),
)


api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False),
    Column("scopes", Json, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)


shares = Table(
    "shares",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource_kind", String(32), nullable=False),
    Column("resource_id", Integer, nullable=False),
    Column("owner_org_id", ForeignKey("organisations.id"), nullable=False),
    Column("grantee_org_id", ForeignKey("organisations.id")),
    Column("purposes", Json, nullable=False),
    Column("created_by", String(320), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("second_factor", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


oidc_logins = Table(
    "oidc_logins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state_hash", String(64), nullable=False, unique=True),
    Column("nonce", String(64), nullable=False),
    Column("organisation", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("code_verifier", String(128)),  # PKCE (RFC 7636); NULL only before revision 0013
)


Index("ix_shares_resource", shares.c.resource_kind, shares.c.resource_id)
