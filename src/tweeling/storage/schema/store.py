"""The app store: listings, versions and their decisions, beta admissions, notices, facets,
reviews, search, harvest sources and publishers' signing keys."""

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

store_listings = Table(
    # An app in the DT-repository, under its publisher: every version of it hangs below.
    "store_listings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("app_id", String(64), nullable=False, unique=True),
    Column("publisher_org_id", ForeignKey("organisations.id")),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("source_id", Integer),  # set for a listing harvested from another store
    Column("origin", Text),  # its record in its home store
    Column("remote_record", Json),  # that record as harvested
)


store_harvest_sources = Table(
    # Other stores (or any OGC API - Records catalogue) this store harvests on a schedule.
    "store_harvest_sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("interval_s", Integer, nullable=False),
    Column("added_by", String(200), nullable=False),
    Column("last_at", DateTime(timezone=True)),
    Column("last_status", String(32)),
    Column("last_message", Text),
    Column("records", Integer, nullable=False, default=0),
    # A harvest under way holds the source until then (store.federation.claim); a process
    # that died mid-harvest lets go when it passes.
    Column("claimed_until", DateTime(timezone=True)),
)


store_versions = Table(
    # One version of a listed app: its package (immutable once submitted), its product page
    # and where it stands in the lifecycle (store.lifecycle).
    "store_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("listing_id", ForeignKey("store_listings.id", ondelete="CASCADE"), nullable=False),
    Column("version", String(64), nullable=False),
    Column("major", Integer, nullable=False),
    Column("minor", Integer, nullable=False),
    Column("patch", Integer, nullable=False),
    Column("prerelease", String(64), nullable=False),  # '' for a release
    Column("package_id", ForeignKey("app_packages.id"), nullable=False, unique=True),
    Column("state", String(32), nullable=False),
    Column("page", Json, nullable=False),
    Column("submitted_by", String(200), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("listing_id", "version"),
)


store_decisions = Table(
    # Every move of a version from one state to another: who, when and why.
    "store_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("store_versions.id", ondelete="CASCADE"), nullable=False),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)


store_beta = Table(
    # The organisations admitted to a beta version.
    "store_beta",
    metadata,
    Column("version_id", ForeignKey("store_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
)


store_notifications = Table(
    # What an organisation is told about apps it installed (deprecation, withdrawal, …).
    "store_notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE")),
    Column("app_id", String(64), nullable=False),
    Column("version", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
)


store_facets = Table(
    # One row per facet value of a listing (a use case, the publisher, a layer it reads…),
    # so that search filters and counts facets in SQL.
    "store_facets",
    metadata,
    Column("listing_id", ForeignKey("store_listings.id", ondelete="CASCADE"), nullable=False),
    Column("facet", String(32), nullable=False),
    Column("value", String(200), nullable=False),
)


store_reviews = Table(
    # One organisation's rating and review of a version it ran, and the publisher's answer.
    "store_reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("store_versions.id", ondelete="CASCADE"), nullable=False),
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("author", String(200), nullable=False),
    Column("rating", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("response", Text),
    Column("response_by", String(200)),
    Column("response_at", DateTime(timezone=True)),
    Column("hidden", Boolean, nullable=False, default=False),
    UniqueConstraint("version_id", "org_id"),
)


store_abuse_reports = Table(
    # A review reported as abusive, for the market master to judge.
    "store_abuse_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("review_id", ForeignKey("store_reviews.id", ondelete="CASCADE"), nullable=False),
    Column("reporter", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_by", String(200)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("outcome", Text),
)


store_search = Table(
    # The text and facets of each listing's newest listed version, for search. Full-text
    # indexes on it: an FTS5 table on SQLite, a tsvector column with GIN on PostgreSQL.
    "store_search",
    metadata,
    Column("listing_id", ForeignKey("store_listings.id", ondelete="CASCADE"), primary_key=True),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("facets", Json, nullable=False),
)


publisher_keys = Table(
    # The signing keys an organisation registered as its own: the store's integrity check
    # accepts a package only when one of them (not revoked) signed it.
    "publisher_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    # NULL: a key of the platform's own operator, for apps it publishes itself
    Column("org_id", ForeignKey("organisations.id", ondelete="CASCADE")),
    Column("public_key", String(64), nullable=False, unique=True),
    Column("label", String(200), nullable=False),
    Column("registered_by", String(200), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


Index("ix_store_versions_state", store_versions.c.state, store_versions.c.listing_id)
Index("ix_store_decisions_version", store_decisions.c.version_id)
Index("ix_store_notifications_org", store_notifications.c.org_id, store_notifications.c.id)
Index("ix_store_search_title", store_search.c.title, store_search.c.listing_id)
Index("ix_store_facets", store_facets.c.facet, store_facets.c.value, store_facets.c.listing_id)
Index("ix_store_facets_listing", store_facets.c.listing_id)
