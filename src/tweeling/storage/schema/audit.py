"""What happened and who read what: the usage log, the hash-chained audit log with its
signed checkpoints and denial counts, and the platform's signing keys."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from tweeling.storage.schema.base import metadata

usage_log = Table(
    "usage_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_email", String(320), nullable=False),
    Column("org_id", Integer),
    Column("dataset_id", Integer, nullable=False),
    Column("purpose", String(100)),
    Column("action", String(32), nullable=False),
)


audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(320), nullable=False),
    Column("organisation", String(200)),
    Column("action", String(64), nullable=False),
    Column("target", String(400)),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    # The newest checkpoint, so each entry knows cheaply whether a checkpoint is due.
    Column("checkpoint_seq", BigInteger, nullable=False, default=0),
    Column("checkpoint_at", String(40)),
)


audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
    Column("at", String(40), nullable=False),
    # Signed with the rest since revision 0012 (NULL in older checkpoints): the checkpoint
    # before this one, and the rule (every N entries, every T minutes) it was made under.
    Column("prev_seq", BigInteger),
    Column("every_entries", Integer),
    Column("every_minutes", Float),
)


# Anonymous denials are counted per hour, action and target instead of one audit entry each.
audit_denial_counts = Table(
    "audit_denial_counts",
    metadata,
    Column("hour", String(13), primary_key=True),  # e.g. 2026-12-07T19 (UTC)
    Column("action", String(64), primary_key=True),
    Column("target", String(400), primary_key=True),
    Column("count", BigInteger, nullable=False),
)


platform_keys = Table(
    "platform_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_key", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


Index("ix_usage_dataset", usage_log.c.dataset_id, usage_log.c.at)
