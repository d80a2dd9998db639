"""The app store: listings, versions with their lifecycle and product pages, decisions, beta
admissions, notifications, and the search documents with a full-text index per backend.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "store_listings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("app_id", sa.String(64), nullable=False, unique=True),
        sa.Column("publisher_org_id", sa.Integer, sa.ForeignKey("organisations.id")),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("source_id", sa.Integer),  # set for a listing harvested from another store
        sa.Column("origin", sa.Text),  # its record in its home store
        sa.Column("remote_record", _JSON),  # that record as harvested
    )
    op.create_table(
        "store_harvest_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("interval_s", sa.Integer, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("last_at", _WHEN),
        sa.Column("last_status", sa.String(32)),
        sa.Column("last_message", sa.Text),
        sa.Column("records", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "store_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "listing_id",
            sa.Integer,
            sa.ForeignKey("store_listings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("major", sa.Integer, nullable=False),
        sa.Column("minor", sa.Integer, nullable=False),
        sa.Column("patch", sa.Integer, nullable=False),
        sa.Column("prerelease", sa.String(64), nullable=False),
        sa.Column(
            "package_id",
            sa.Integer,
            sa.ForeignKey("app_packages.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("page", _JSON, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.UniqueConstraint("listing_id", "version"),
    )
    op.create_index("ix_store_versions_state", "store_versions", ["state", "listing_id"])
    op.create_table(
        "store_decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("store_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_state", sa.String(32)),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_at", _WHEN, nullable=False),
    )
    op.create_index("ix_store_decisions_version", "store_decisions", ["version_id"])
    op.create_table(
        "store_beta",
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("store_versions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_table(
        "store_notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("org_id", sa.Integer, sa.ForeignKey("organisations.id", ondelete="CASCADE")),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("read_at", _WHEN),
    )
    op.create_index("ix_store_notifications_org", "store_notifications", ["org_id", "id"])
    op.create_table(
        "store_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("store_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.Column("response", sa.Text),
        sa.Column("response_by", sa.String(200)),
        sa.Column("response_at", _WHEN),
        sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("version_id", "org_id"),
    )
    op.create_table(
        "store_abuse_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "review_id",
            sa.Integer,
            sa.ForeignKey("store_reviews.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("reporter", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("resolved_at", _WHEN),
        sa.Column("outcome", sa.Text),
    )
    op.create_table(
        "store_search",
        sa.Column(
            "listing_id",
            sa.Integer,
            sa.ForeignKey("store_listings.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("facets", _JSON, nullable=False),
    )
    op.create_index("ix_store_search_title", "store_search", ["title", "listing_id"])
    op.create_table(
        "store_facets",
        sa.Column(
            "listing_id",
            sa.Integer,
            sa.ForeignKey("store_listings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("facet", sa.String(32), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.create_index("ix_store_facets", "store_facets", ["facet", "value", "listing_id"])
    op.create_index("ix_store_facets_listing", "store_facets", ["listing_id"])
    if op.get_bind().dialect.name == "sqlite":
        # An external-content FTS5 index over store_search, kept in step by the code that
        # writes it (store.search); diacritics folded, so "een" finds "één".
        op.execute(
            "CREATE VIRTUAL TABLE store_fts USING fts5(title, summary, body, "
            "content='store_search', content_rowid='listing_id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
    else:
        # Weighted: title A, summary B, body C; 'simple' so Dutch and English words both
        # match as written (no stemming to one language).
        op.execute(
            "ALTER TABLE store_search ADD COLUMN document tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', title), 'A') || "
            "setweight(to_tsvector('simple', summary), 'B') || "
            "setweight(to_tsvector('simple', body), 'C')) STORED"
        )
        op.execute("CREATE INDEX ix_store_search_document ON store_search USING gin (document)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE store_fts")
    for table in (
        "store_facets",
        "store_search",
        "store_abuse_reports",
        "store_reviews",
        "store_notifications",
        "store_beta",
        "store_decisions",
        "store_versions",
        "store_harvest_sources",
        "store_listings",
    ):
        op.drop_table(table)
