"""The DT-repository in the database: listings, their versions, and every decision on them.

No policy here (``services.store`` decides who may do what); this module keeps the rules of
the data itself: a version, once submitted, never changes its package; every change of state
follows ``lifecycle`` and leaves a decision row; the installations of a version hear about
its deprecation, suspension or withdrawal; the search document of a listing follows its
newest listed version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import semver
from sqlalchemy import Connection, and_, delete, insert, select, update

from tweeling.apps.packages import Package
from tweeling.errors import Conflict, InvalidInput, NotFound
from tweeling.storage.db import clock_of
from tweeling.storage.schema import (
    app_installations,
    app_packages,
    organisations,
    store_beta,
    store_decisions,
    store_listings,
    store_notifications,
    store_versions,
)
from tweeling.store import search
from tweeling.store.lifecycle import LISTED, NOTIFY, State, check_transition
from tweeling.store.pages import ProductPage


@dataclass(frozen=True)
class Version:
    """One version of an app in the repository, with its listing's publisher."""

    id: int
    listing_id: int
    app_id: str
    version: str
    state: State
    page: ProductPage
    package_id: int
    content_hash: str
    manifest: dict[str, Any]
    publisher_org_id: int | None
    publisher: str | None
    submitted_by: str
    submitted_at: datetime

    @property
    def label(self) -> str:
        return f"{self.app_id}@{self.version}"


_COLUMNS = (
    store_versions.c.id,
    store_versions.c.listing_id,
    store_listings.c.app_id,
    store_versions.c.version,
    store_versions.c.state,
    store_versions.c.page,
    store_versions.c.package_id,
    app_packages.c.content_hash,
    app_packages.c.manifest,
    store_listings.c.publisher_org_id,
    organisations.c.name.label("publisher"),
    store_versions.c.submitted_by,
    store_versions.c.submitted_at,
)


def _query() -> Any:
    return (
        select(*_COLUMNS)
        .select_from(
            store_versions.join(store_listings, store_listings.c.id == store_versions.c.listing_id)
            .join(app_packages, app_packages.c.id == store_versions.c.package_id)
            .outerjoin(organisations, organisations.c.id == store_listings.c.publisher_org_id)
        )
        .order_by(
            store_versions.c.major.desc(),
            store_versions.c.minor.desc(),
            store_versions.c.patch.desc(),
            (store_versions.c.prerelease == "").desc(),
            store_versions.c.prerelease.desc(),
        )
    )


def _version(row: Any) -> Version:
    return Version(
        id=row.id,
        listing_id=row.listing_id,
        app_id=row.app_id,
        version=row.version,
        state=State(row.state),
        page=ProductPage.model_validate(row.page),
        package_id=row.package_id,
        content_hash=row.content_hash,
        manifest=row.manifest,
        publisher_org_id=row.publisher_org_id,
        publisher=row.publisher,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
    )


def parse_ref(ref: str) -> tuple[str, str | None]:
    """``app`` or ``app@1.2.0`` as (app id, version or None)."""
    app_id, _, version = ref.partition("@")
    if not app_id or (version and not semver.Version.is_valid(version)):
        raise InvalidInput(f"{ref!r} is not APP or APP@VERSION (a semantic version)")
    return app_id, version or None


def versions(
    conn: Connection, app_id: str, states: frozenset[State] | None = None
) -> list[Version]:
    """An app's versions, newest first (semantic version order), optionally in ``states``."""
    query = _query().where(store_listings.c.app_id == app_id)
    if states is not None:
        query = query.where(store_versions.c.state.in_([s.value for s in states]))
    return [_version(row) for row in conn.execute(query)]


def in_states(conn: Connection, states: frozenset[State]) -> list[Version]:
    """Every app's versions in ``states`` (the accreditation's work queue)."""
    query = _query().where(store_versions.c.state.in_([s.value for s in states]))
    return [_version(row) for row in conn.execute(query)]


def versions_by_id(conn: Connection, ids: list[int]) -> list[Version]:
    return [_version(row) for row in conn.execute(_query().where(store_versions.c.id.in_(ids)))]


def get_version(conn: Connection, app_id: str, version: str) -> Version:
    row = conn.execute(
        _query().where(store_listings.c.app_id == app_id, store_versions.c.version == version)
    ).first()
    if row is None:
        raise NotFound(f"no version {version} of app {app_id!r} in the repository")
    return _version(row)


def listing_publisher(conn: Connection, app_id: str) -> int | bool | None:
    """The publisher organisation of an app already listed (None: the platform's own), or
    False when the app id is new."""
    row = conn.execute(
        select(store_listings.c.publisher_org_id).where(store_listings.c.app_id == app_id)
    ).first()
    return False if row is None else row.publisher_org_id


def submit(
    conn: Connection,
    package: Package,
    package_id: int,
    page: ProductPage,
    publisher_org_id: int | None,
    actor: str,
) -> Version:
    """Enter a package into the repository as a draft version of its app (its publisher then
    submits it for accreditation)."""
    manifest = package.manifest
    listing = conn.execute(
        select(store_listings.c.id, store_listings.c.publisher_org_id).where(
            store_listings.c.app_id == manifest.id
        )
    ).first()
    if listing is None:
        listing_id = conn.execute(
            insert(store_listings).values(
                app_id=manifest.id,
                publisher_org_id=publisher_org_id,
                created_by=actor,
                created_at=clock_of(conn).now(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    else:
        listing_id = listing.id
    existing = conn.execute(
        select(store_versions.c.package_id).where(
            store_versions.c.listing_id == listing_id, store_versions.c.version == manifest.version
        )
    ).first()
    if existing is not None:
        if existing.package_id == package_id:
            raise Conflict(f"{manifest.id}@{manifest.version} is already in the repository")
        raise Conflict(
            f"{manifest.id}@{manifest.version} is already in the repository with other "
            "contents; a published version never changes: give this one a new version number"
        )
    parsed = semver.Version.parse(manifest.version)
    stamp = clock_of(conn).now()
    version_id = conn.execute(
        insert(store_versions).values(
            listing_id=listing_id,
            version=manifest.version,
            major=parsed.major,
            minor=parsed.minor,
            patch=parsed.patch,
            prerelease=parsed.prerelease or "",
            package_id=package_id,
            state=State.draft.value,
            page=page.model_dump(mode="json"),
            submitted_by=actor,
            submitted_at=stamp,
            updated_at=stamp,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(
        insert(store_decisions).values(
            version_id=version_id,
            from_state=None,
            to_state=State.draft.value,
            actor=actor,
            reason="published by its publisher",
            decided_at=stamp,
        )
    )
    return get_version(conn, manifest.id, manifest.version)


def move(
    conn: Connection, version: Version, wanted: State, by: str, actor: str, reason: str
) -> Version:
    """Move a version to ``wanted`` (as ``by``: publisher, market master or the
    accreditation pipeline), on record."""
    if not reason.strip():
        raise InvalidInput("a decision needs a reason (--reason)")
    check_transition(version.state, wanted, by)
    stamp = clock_of(conn).now()
    conn.execute(
        update(store_versions)
        .where(store_versions.c.id == version.id)
        .values(state=wanted.value, updated_at=stamp)
    )
    conn.execute(
        insert(store_decisions).values(
            version_id=version.id,
            from_state=version.state.value,
            to_state=wanted.value,
            actor=actor,
            reason=reason,
            decided_at=stamp,
        )
    )
    if wanted in NOTIFY:
        _notify_installations(conn, version, wanted, reason)
    if wanted == State.approved:
        _notify_upgrade(conn, version)
    refresh_search(conn, version.app_id)
    return get_version(conn, version.app_id, version.version)


def _notify_installations(conn: Connection, version: Version, state: State, reason: str) -> None:
    orgs = conn.execute(
        select(app_installations.c.org_id)
        .where(app_installations.c.package_id == version.package_id)
        .distinct()
    ).scalars()
    message = f"{version.label} is {state.value}: {reason}"
    rows = [
        {
            "org_id": org,
            "app_id": version.app_id,
            "version": version.version,
            "kind": state.value,
            "message": message,
            "created_at": clock_of(conn).now(),
        }
        for org in orgs
    ]
    if rows:
        conn.execute(insert(store_notifications), rows)


def _notify_upgrade(conn: Connection, version: Version) -> None:
    """Organisations with an older version of the app installed hear of the new one."""
    older = [
        v.package_id
        for v in versions(conn, version.app_id)
        if v.id != version.id
        and semver.Version.parse(v.version) < semver.Version.parse(version.version)
    ]
    if not older:
        return
    found = conn.execute(
        select(app_installations.c.org_id, app_installations.c.twin_id)
        .where(app_installations.c.package_id.in_(older))
        .distinct()
    ).all()
    orgs = sorted({row.org_id for row in found}, key=lambda o: (o is None, o))
    rows = [
        {
            "org_id": org,
            "app_id": version.app_id,
            "version": version.version,
            "kind": "upgrade",
            "message": (
                f"{version.label} is available; upgrade with tweeling store install "
                f"{version.label} --twin TWIN"
            ),
            "created_at": clock_of(conn).now(),
        }
        for org in orgs
    ]
    if rows:
        conn.execute(insert(store_notifications), rows)


def decisions(conn: Connection, version: Version) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(store_decisions)
        .where(store_decisions.c.version_id == version.id)
        .order_by(store_decisions.c.id)
    ).mappings()
    return [
        {
            "from": r["from_state"],
            "to": r["to_state"],
            "by": r["actor"],
            "reason": r["reason"],
            "at": r["decided_at"].isoformat(),
        }
        for r in rows
    ]


def admit_to_beta(conn: Connection, version: Version, org_ids: list[int]) -> None:
    for org_id in org_ids:
        conn.execute(delete(store_beta).where(
            and_(store_beta.c.version_id == version.id, store_beta.c.org_id == org_id)
        ))  # fmt: skip
        conn.execute(insert(store_beta).values(version_id=version.id, org_id=org_id))


def beta_orgs(conn: Connection, version: Version) -> frozenset[int]:
    rows = conn.execute(select(store_beta.c.org_id).where(store_beta.c.version_id == version.id))
    return frozenset(int(r) for r in rows.scalars())


def plain(row: Any) -> dict[str, Any]:
    """A database row as JSON-ready values (times as ISO 8601)."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def notifications(conn: Connection, org_id: int | None) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(store_notifications)
        .where(store_notifications.c.org_id == org_id)
        .order_by(store_notifications.c.id.desc())
    ).mappings()
    return [plain(r) for r in rows]


def refresh_search(conn: Connection, app_id: str) -> None:
    """The listing's search document from its newest listed version (none when unlisted)."""
    listed = versions(conn, app_id, LISTED)
    listing_id = conn.execute(
        select(store_listings.c.id).where(store_listings.c.app_id == app_id)
    ).scalar_one()
    if not listed:
        search.remove(conn, listing_id)
        return
    newest = listed[0]
    manifest = newest.manifest
    page = newest.page
    body = " ".join(
        [
            page.description,
            " ".join(page.keywords),
            " ".join(manifest.get("use_cases", [])),
            " ".join(spec["layer"] for spec in manifest.get("inputs", {}).get("layers", [])),
            " ".join(o["name"].replace("_", " ") for o in manifest.get("outputs", [])),
            newest.publisher or manifest.get("publisher", ""),
        ]
    )
    facets = {
        "app_id": app_id,
        "version": newest.version,
        "state": newest.state.value,
        "use_cases": manifest.get("use_cases", []),
        "publisher": newest.publisher or manifest.get("publisher"),
        "price_model": page.price.model,
        "layers": sorted({spec["layer"] for spec in manifest.get("inputs", {}).get("layers", [])}),
        "approval": newest.state.value,
        "origin": "local",
    }
    search.put(conn, listing_id, page.title, page.summary, body, facets)
