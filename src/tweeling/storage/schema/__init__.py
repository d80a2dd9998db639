"""The tables, as SQLAlchemy Core objects for queries, one module per bounded context on one
shared ``metadata``. Migrations create them; ``from tweeling.storage.schema import <table>``
finds every table here.

- ``twin``: twins, scenarios, datasets, edits, templates, indexed attributes, city objects
- ``access``: organisations, users, memberships, tokens, shares, sessions, OIDC sign-ins
- ``audit``: usage log, audit log, its head and checkpoints, denial counts, platform keys
- ``apps``: packages, installations, app runs, recipe runs
- ``store``: listings, versions, decisions, beta, notices, facets, reviews, search, harvest
  sources, publishers' keys
- ``accreditation``: checks, assignments, scores
- ``participation``: published plans and residents' comments on them

A new context is one new module here, imported below (so its tables join ``metadata``
before Alembic or a query looks), and a migration that creates its tables.
"""

from __future__ import annotations

from tweeling.storage.schema.access import (
    api_tokens,
    memberships,
    oidc_logins,
    organisations,
    sessions,
    shares,
    users,
)
from tweeling.storage.schema.accreditation import (
    accreditation_assignments,
    accreditation_checks,
    accreditation_scores,
)
from tweeling.storage.schema.apps import (
    app_installations,
    app_packages,
    app_runs,
    recipe_runs,
)
from tweeling.storage.schema.audit import (
    audit_checkpoints,
    audit_denial_counts,
    audit_head,
    audit_log,
    platform_keys,
    usage_log,
)
from tweeling.storage.schema.base import (
    Blob,
    FootprintCRS84,
    Json,
    PostGISGeometry,
    declared_here,
    dump_json,
    json_bytes,
    load_json,
    metadata,
)
from tweeling.storage.schema.participation import plan_comments, plans
from tweeling.storage.schema.store import (
    publisher_keys,
    store_abuse_reports,
    store_beta,
    store_decisions,
    store_facets,
    store_harvest_sources,
    store_listings,
    store_notifications,
    store_reviews,
    store_search,
    store_versions,
)
from tweeling.storage.schema.twin import (
    OBJECT_COLUMNS,
    attribute_indexes,
    city_objects,
    datasets,
    edits,
    geometry_templates,
    scenarios,
    twins,
)

__all__ = [
    "OBJECT_COLUMNS",
    "Blob",
    "FootprintCRS84",
    "Json",
    "PostGISGeometry",
    "accreditation_assignments",
    "accreditation_checks",
    "accreditation_scores",
    "api_tokens",
    "app_installations",
    "app_packages",
    "app_runs",
    "attribute_indexes",
    "audit_checkpoints",
    "audit_denial_counts",
    "audit_head",
    "audit_log",
    "city_objects",
    "datasets",
    "declared_here",
    "dump_json",
    "edits",
    "geometry_templates",
    "json_bytes",
    "load_json",
    "memberships",
    "metadata",
    "oidc_logins",
    "organisations",
    "plan_comments",
    "plans",
    "platform_keys",
    "publisher_keys",
    "recipe_runs",
    "scenarios",
    "sessions",
    "shares",
    "store_abuse_reports",
    "store_beta",
    "store_decisions",
    "store_facets",
    "store_harvest_sources",
    "store_listings",
    "store_notifications",
    "store_reviews",
    "store_search",
    "store_versions",
    "twins",
    "usage_log",
    "users",
]
