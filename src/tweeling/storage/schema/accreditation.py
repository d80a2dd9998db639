"""Accreditation of store versions: automated checks, accreditor assignments and scores."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
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

from tweeling.storage.schema.base import Json, metadata

accreditation_checks = Table(
    # One automated intake check of a version in one round of checks, with its evidence.
    "accreditation_checks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("store_versions.id", ondelete="CASCADE"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("check_name", String(32), nullable=False),
    Column("passed", Boolean),
    Column("summary", Text, nullable=False),
    Column("evidence", Json, nullable=False),
    Column("run_by", String(200), nullable=False),
    Column("run_at", DateTime(timezone=True), nullable=False),
    # intake: the checks on the way in; spot-check: a re-run at any later time
    Column("kind", String(16), nullable=False, server_default="intake"),
)


accreditation_assignments = Table(
    # The accreditor organisations the market master assigned to assess a version.
    "accreditation_assignments",
    metadata,
    Column("version_id", ForeignKey("store_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("assigned_by", String(200), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
)


accreditation_scores = Table(
    # An accreditor's score (0-5) of a version on one criterion, with its written evidence.
    "accreditation_scores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("store_versions.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("framework", String(16), nullable=False),
    Column("criterion", String(16), nullable=False),
    Column("score", Integer, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("scored_by", String(200), nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("version_id", "org_id", "criterion"),
)


Index(
    "ix_accreditation_checks_version",
    accreditation_checks.c.version_id,
    accreditation_checks.c.round,
)
