"""Participation: plans an organisation publishes (a proposed scenario, read-only for
everyone) and the comments residents leave on them, held for moderation.

A comment keeps no address, account or cookie of its author: a pseudonym (their own or one
given), the text, optionally the object or the place it is about, and when. What the
organisation decided about it and who decided is kept with it."""

from __future__ import annotations

from sqlalchemy import (
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
)

from tweeling.storage.schema.base import metadata

plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(80), nullable=False, unique=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("scenario", String(200), nullable=False),
    Column("base_scenario", String(200), nullable=False),
    Column("owner_org_id", ForeignKey("organisations.id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("comments_open", Boolean, nullable=False),
    Column("published_by", String(320), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),
)

plan_comments = Table(
    "plan_comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plan_id", ForeignKey("plans.id", ondelete="CASCADE"), nullable=False),
    Column("pseudonym", String(60), nullable=False),
    Column("body", Text, nullable=False),
    Column("object_id", String(200)),
    Column("longitude", Float),
    Column("latitude", Float),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("moderated_by", String(320)),
    Column("moderated_at", DateTime(timezone=True)),
    Column("moderation_note", Text),
    Index("ix_plan_comments_plan_status", "plan_id", "status"),
)
