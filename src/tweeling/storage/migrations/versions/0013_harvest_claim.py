"""A claim on a harvest source, so one server process harvests it at a time; store search
fed accent-folded text on both backends; the PKCE verifier of a pending OpenID Connect
sign-in (issue 24, items 5 and 6).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"

_DOCUMENT = (
    "setweight(to_tsvector('simple', {title}), 'A') || "
    "setweight(to_tsvector('simple', {summary}), 'B') || "
    "setweight(to_tsvector('simple', {body}), 'C')"
)


def _fold(text: str) -> str:
    # As store.search.fold at this revision (a migration does not follow later code).
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _refill(index_row: str) -> None:
    """Index every listing's folded text with ``index_row`` (SQL with :id, :title, …)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT listing_id, title, summary, body FROM store_search"))
    for row in rows.all():
        conn.execute(
            sa.text(index_row),
            {
                "id": row.listing_id,
                "title": _fold(row.title),
                "summary": _fold(row.summary),
                "body": _fold(row.body),
            },
        )


def upgrade() -> None:
    op.add_column("store_harvest_sources", sa.Column("claimed_until", sa.DateTime(timezone=True)))
    # A sign-in started before this revision has none and cannot be finished (start again).
    op.add_column("oidc_logins", sa.Column("code_verifier", sa.String(128)))
    if op.get_bind().dialect.name == "sqlite":
        # The FTS5 index held the text as written (its tokenizer folded Latin accents only);
        # it now holds what store.search.fold makes of it, as PostgreSQL's does.
        op.execute("INSERT INTO store_fts(store_fts) VALUES ('delete-all')")
        _refill(
            "INSERT INTO store_fts(rowid, title, summary, body) "
            "VALUES (:id, :title, :summary, :body)"
        )
    else:
        # Was generated from the text as written, accents and all; now written by the code
        # from folded text (no unaccent extension needed).
        op.execute("ALTER TABLE store_search DROP COLUMN document")
        op.execute("ALTER TABLE store_search ADD COLUMN document tsvector")
        _refill(
            "UPDATE store_search SET document = "
            + _DOCUMENT.format(title=":title", summary=":summary", body=":body")
            + " WHERE listing_id = :id"
        )
        op.execute("CREATE INDEX ix_store_search_document ON store_search USING gin (document)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO store_fts(store_fts) VALUES ('delete-all')")
        op.execute(
            "INSERT INTO store_fts(rowid, title, summary, body) "
            "SELECT listing_id, title, summary, body FROM store_search"
        )
    else:
        op.execute("ALTER TABLE store_search DROP COLUMN document")
        op.execute(
            "ALTER TABLE store_search ADD COLUMN document tsvector GENERATED ALWAYS AS ("
            + _DOCUMENT.format(title="title", summary="summary", body="body")
            + ") STORED"
        )
        op.execute("CREATE INDEX ix_store_search_document ON store_search USING gin (document)")
    op.drop_column("oidc_logins", "code_verifier")
    op.drop_column("store_harvest_sources", "claimed_until")
