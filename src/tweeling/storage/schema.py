"""The tables, as SQLAlchemy Core objects for queries. Migrations create them.

City objects are versioned rows: an edit never updates a row's content, it appends a new row
and marks the old one superseded (``valid_to``). A scenario stores only its own rows and sees
its parent's rows as they were when it was created (``fork_seq``) — copy-on-write, so a new
scenario costs the same for ten buildings or a million.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.types import UserDefinedType

metadata = MetaData()


class PostGISGeometry(UserDefinedType[Any]):
    """PostGIS ``geometry(Geometry, 4326)``; written as EWKB hex, read as WKB."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "geometry(Geometry, 4326)"


Json = JSON().with_variant(JSONB(), "postgresql")
Blob = LargeBinary().with_variant(BYTEA(), "postgresql")
FootprintCRS84 = LargeBinary().with_variant(PostGISGeometry(), "postgresql")

twins = Table(
    "twins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("title", Text),
    Column("crs", String(64), nullable=False),
    Column("owner", String(200)),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("owner_org_id", ForeignKey("organisations.id")),
    Column("public", Boolean, nullable=False, default=False),
)

scenarios = Table(
    "scenarios",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("label", String(200)),
    Column("description", Text),
    Column("parent_id", ForeignKey("scenarios.id")),
    Column("fork_seq", BigInteger),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("twin_id", "name"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("scenario_id", ForeignKey("scenarios.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("name", String(300), nullable=False),
    Column("format", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("owner", String(200)),
    Column("licence", String(300)),
    Column("acquired", String(32)),
    Column("crs", String(64), nullable=False),
    Column("content_hash", String(64)),
    Column("object_count", Integer, nullable=False, default=0),
    Column("counts", Json, nullable=False),
    Column("quality", Json, nullable=False),
    Column("meta", Json, nullable=False),
    Column("imported_by", String(200), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

edits = Table(
    "edits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("scenario_id", ForeignKey("scenarios.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("author", String(200), nullable=False),
    Column("reason", Text),
    Column("dataset_id", Integer),
    Column("added", Integer, nullable=False, default=0),
    Column("modified", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("twin_id", "seq"),
)

geometry_templates = Table(
    "geometry_templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("twin_id", ForeignKey("twins.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("template", Json, nullable=False),
    UniqueConstraint("twin_id", "key"),
)

attribute_indexes = Table(
    # Attributes an operator has indexed (storage.attribute_index): the filters' queryables.
    "attribute_indexes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("attribute", String(300), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("index_name", String(64), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

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

city_objects = Table(
    "city_objects",
    metadata,
    Column("pk", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("scenario_id", Integer, nullable=False),
    Column("object_id", String(300), nullable=False),
    Column("object_type", String(100), nullable=False),
    Column("layer", String(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("valid_to", BigInteger),
    Column("deleted", Boolean, nullable=False),
    Column("dataset_id", Integer),
    Column("parents", Json),
    Column("children", Json),
    Column("attributes", Json, nullable=False),
    Column("geometry", Blob, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("minx", Float),
    Column("miny", Float),
    Column("minz", Float),
    Column("maxx", Float),
    Column("maxy", Float),
    Column("maxz", Float),
    Column("lon_min", Float),
    Column("lat_min", Float),
    Column("lon_max", Float),
    Column("lat_max", Float),
    Column("footprint", Blob),
    Column("footprint_crs84", FootprintCRS84),
)

# Column order of the bulk insert path (storage.backends); kept beside the table it mirrors.
OBJECT_COLUMNS: tuple[str, ...] = tuple(c.name for c in city_objects.columns)


# -- identity and access (migration 0002) ---------------------------------------------------

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
