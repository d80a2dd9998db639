"""The store's services: publishing app versions, the market master's and publishers'
decisions on them, search, product pages and notices — each through the policy point.

Who sees what: a listed version (approved or deprecated) is public; a beta version is seen
by its publisher, the market master and the organisations admitted to the beta; any other
state only by the publisher and the market master.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tweeling.access.audit import acted, record
from tweeling.access.identity import Principal, Role, get_organisation
from tweeling.access.policy import Action, Kind, Resource, Share, authorize, decide
from tweeling.apps import packages, runs
from tweeling.apps.manifest import parse_manifest
from tweeling.apps.packages import MAX_ENTRIES as MAX_ENTRIES
from tweeling.apps.packages import SUFFIX as SUFFIX
from tweeling.apps.packages import Package
from tweeling.errors import Conflict, Forbidden, InvalidInput, NotFound
from tweeling.services import apps as app_service
from tweeling.services.apps import Installation
from tweeling.services.twins import authorised_twin
from tweeling.storage.db import Database
from tweeling.storage.schema import store_listings
from tweeling.store import catalogue, federation, keys, reviews, search
from tweeling.store.accreditation import cases as reference_cases
from tweeling.store.catalogue import Version as Version
from tweeling.store.fit import FitReport as FitReport
from tweeling.store.fit import fit_report
from tweeling.store.lifecycle import BETA, INSTALLABLE, LISTED, MARKET_MASTER, PUBLISHER
from tweeling.store.lifecycle import State as State
from tweeling.store.pages import page_of
from tweeling.store.search import FACET_PARAMS as FACET_PARAMS
from tweeling.store.search import Hit as Hit
from tweeling.store.search import filters_from as filters_from
from tweeling.twin.twins import get_scenario
from tweeling.twin.views import view_of

STORE = Resource(Kind.store, "store:decisions", owner_org_id=None)


def _org_id(principal: Principal) -> int | None:
    return principal.org.id if principal.org.id > 0 else None


def listing_resource(
    version: catalogue.Version, beta: set[int] | frozenset[int] = frozenset()
) -> Resource:
    shares = tuple(Share(org) for org in sorted(beta)) if version.state in BETA else ()
    return Resource(
        Kind.listing,
        f"app:{version.app_id}",
        owner_org_id=version.publisher_org_id,
        public=version.state in LISTED,
        shares=shares,
    )


def may_publish(db: Database, principal: Principal) -> None:
    """Raise unless ``principal`` may publish app versions for its organisation (a new
    listing or a new version of one): asked before an uploaded package's body is read. Which
    listing the package is for is only known once it is read; ``publish`` checks that."""
    resource = Resource(Kind.listing, f"app:(upload by {principal.org.name})", _org_id(principal))
    if not decide(principal, Action.update, resource).allowed:
        authorize(db, principal, Action.create, resource)


def publish_upload(
    db: Database, principal: Principal, path: Path, source: str
) -> catalogue.Version:
    """Publish the package in an uploaded file: its central directory is checked (entries,
    names, ratios, unpacked size) before it is read; messages call it ``source``."""
    return publish(db, principal, packages.read_path(path, source))


def publish(db: Database, principal: Principal, package: Package) -> catalogue.Version:
    """Submit a signed package as a new version of its app (a new listing on first sight)."""
    manifest = package.manifest
    if not package.signed:
        raise InvalidInput(
            f"{manifest.id}@{manifest.version} is not signed; the store takes signed packages "
            "only (tweeling app package DIR --key KEY.pem)"
        )
    page = page_of(package)  # a page that does not validate is refused before anything else
    reference_cases.load(package)  # so are malformed reference cases
    with db.read() as conn:
        publisher = catalogue.listing_publisher(conn, manifest.id)
    if publisher is False:
        target = Resource(Kind.listing, f"app:{manifest.id}", owner_org_id=_org_id(principal))
        authorize(db, principal, Action.create, target)
        owner = _org_id(principal)
    else:
        assert publisher is not True
        target = Resource(Kind.listing, f"app:{manifest.id}", owner_org_id=publisher)
        authorize(db, principal, Action.update, target)
        owner = publisher
    with db.begin() as conn:
        package_id = packages.register(conn, package, principal.actor)
        version = catalogue.submit(conn, package, package_id, page, owner, principal.actor)
        record(
            conn,
            acted(
                principal,
                "store.publish",
                f"app:{manifest.id}",
                {
                    "version": manifest.version,
                    "package_hash": package.content_hash,
                    "public_key": (package.signature or {}).get("public_key"),
                },
            ),
        )
    return version


def _state(name: str) -> State:
    try:
        return State(name)
    except ValueError:
        choices = ", ".join(s.value for s in State)
        raise InvalidInput(f"unknown state {name!r}: one of {choices}") from None


def decide_version(
    db: Database,
    principal: Principal,
    ref: str,
    to: str,
    reason: str,
    beta_orgs: list[str] | None = None,
) -> catalogue.Version:
    """Move APP@VERSION to state ``to`` with a reason: the market master's decisions
    (approve, reject, beta, suspend, …) or the publisher's (deprecate, withdraw)."""
    app_id, number = catalogue.parse_ref(ref)
    if number is None:
        raise InvalidInput(f"{ref!r}: name the version (APP@VERSION)")
    wanted = _state(to)
    with db.read() as conn:
        version = catalogue.get_version(conn, app_id, number)
        beta = catalogue.beta_orgs(conn, version)
        admitted = [get_organisation(conn, name).id for name in beta_orgs or []]
    if decide(principal, Action.update, STORE).allowed:
        by = MARKET_MASTER
    else:
        authorize(db, principal, Action.update, listing_resource(version, beta))
        by = PUBLISHER
    if admitted and wanted != State.beta and version.state != State.beta:
        raise InvalidInput("organisations are admitted to a beta only (--state beta)")
    with db.begin() as conn:
        moved = (
            catalogue.move(conn, version, wanted, by, principal.actor, reason)
            if wanted != version.state
            else version
        )
        if admitted:
            catalogue.admit_to_beta(conn, moved, admitted)
        record(
            conn,
            acted(
                principal,
                "store.decision",
                f"app:{app_id}",
                {
                    "version": number,
                    "from": version.state.value,
                    "to": wanted.value,
                    "as": by,
                    "reason": reason,
                    "beta": sorted(beta_orgs or []),
                },
            ),
        )
    return moved


def find(
    db: Database,
    principal: Principal,
    query: str,
    filters: dict[str, str] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> search.Results:
    """Ranked listings for a query, with facet counts. Only listed versions are indexed, and
    those are public (the policy's answer for every caller), so no per-hit check is needed."""
    unknown = set(filters or {}) - set(search.FACETS)
    if unknown:
        raise InvalidInput(
            f"unknown facet {sorted(unknown)[0]!r}: one of {', '.join(search.FACETS)}"
        )
    with db.read() as conn:
        return search.find(conn, query, filters, max(1, min(limit, 200)), max(0, offset))


@dataclass(frozen=True)
class ListingView:
    """What a caller may see of an app: its versions newest first, and for each the record
    of decisions."""

    app_id: str
    versions: list[catalogue.Version]
    decisions: dict[str, list[dict[str, Any]]]

    @property
    def current(self) -> catalogue.Version:
        listed = [v for v in self.versions if v.state in LISTED]
        return (listed or self.versions)[0]


def show(db: Database, principal: Principal, ref: str) -> ListingView:
    referral(db, ref)
    app_id, number = catalogue.parse_ref(ref)
    with db.read() as conn:
        found = catalogue.versions(conn, app_id)
        visible = [
            v
            for v in found
            if decide(
                principal, Action.read, listing_resource(v, catalogue.beta_orgs(conn, v))
            ).allowed
        ]
        if number is not None:
            visible = [v for v in visible if v.version == number]
        if not visible:
            what = f"version {number} of app" if number else "app"
            raise NotFound(f"no {what} {app_id!r} in the store")
        history = {v.version: catalogue.decisions(conn, v) for v in visible}
    return ListingView(app_id, visible, history)


def published_by(db: Database, principal: Principal) -> list[ListingView]:
    """The apps the caller's organisation publishes, each with the versions the caller may
    see (through the policy point: a publisher's own drafts included), newest first."""
    if principal.anonymous:
        return []
    with db.read() as conn:
        app_ids = (
            conn.execute(
                select(store_listings.c.app_id)
                .where(store_listings.c.publisher_org_id == principal.org.id)
                .order_by(store_listings.c.app_id)
            )
            .scalars()
            .all()
        )
    found = []
    for app_id in app_ids:
        try:
            found.append(show(db, principal, app_id))
        except NotFound:  # none of its versions is open to this member
            continue
    return found


def notices(db: Database, principal: Principal) -> list[dict[str, Any]]:
    """What the caller's organisation has been told about the apps it installed."""
    with db.read() as conn:
        return catalogue.notifications(conn, _org_id(principal))


def _chosen(db: Database, principal: Principal, ref: str) -> catalogue.Version:
    """The version a reference names, or the newest one the caller may install."""
    view = show(db, principal, ref)
    if "@" in ref:
        return view.versions[0]
    installable = [v for v in view.versions if v.state in INSTALLABLE]
    listed = [v for v in installable if v.state in LISTED]
    if not installable:
        raise NotFound(f"no version of {view.app_id!r} that you may install")
    return (listed or installable)[0]


def fit(
    db: Database, principal: Principal, ref: str, twin_name: str, scenario: str = "current"
) -> FitReport:
    """Will APP[@VERSION] run on this twin's scenario, requirement by requirement."""
    version = _chosen(db, principal, ref)
    twin = authorised_twin(db, principal, twin_name, Kind.scenario, Action.read, None)
    manifest = parse_manifest(version.manifest)
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, twin, scenario))
        return fit_report(conn, twin, view, manifest, version.page)


@dataclass(frozen=True)
class StoreInstallation:
    installation: Installation
    report: FitReport
    validation: runs.RunRecord
    warnings: list[str]


def install(
    runtime: runs.Runtime,
    principal: Principal,
    ref: str,
    twin_name: str,
    calibration: dict[str, Any],
    *,
    override: str | None = None,
) -> StoreInstallation:
    """Install a store version in a twin: the fit report first (a red line refuses it, unless
    an administrator overrides with a reason, on the audit log), then a test run with the
    calibration on the twin's own data (results not stored), then the installation."""
    db = runtime.db
    version = _chosen(db, principal, ref)
    if version.state not in INSTALLABLE:
        raise Conflict(f"{version.label} is {version.state.value}: it cannot be installed")
    price = version.page.price
    if price.model != "free":
        contact = f" ({version.page.contact})" if version.page.contact else ""
        raise Conflict(
            f"{version.label} is a {price.model} app: the store cannot take payments yet; "
            f"acquire it from its publisher {version.publisher or ''}{contact}, then install "
            "the package they deliver (tweeling app install)"
        )
    report = fit(db, principal, version.label, twin_name)
    warnings = []
    if version.state == State.deprecated:
        warnings.append(f"{version.label} is deprecated; a newer version may exist")
    if report.red:
        lines = "; ".join(f"{c.requirement}: {c.measured} (needs {c.required})" for c in report.red)
        if not override:
            raise Conflict(
                f"{version.label} will not run on {twin_name}: {lines}. An administrator "
                "may install it anyway with a reason (--override REASON)"
            )
        if not (principal.operator or Role.admin in principal.roles):
            raise Forbidden("only an administrator may override a red fit report")
        warnings.append(f"installed despite a red fit report: {override}")
    with db.read() as conn:
        package = packages.load(conn, version.package_id)
    app_service.prepare_environment(runtime.envs_dir, package.manifest)
    run_id = app_service.submit(
        runtime,
        principal,
        twin_name,
        package=package,
        overrides=calibration or None,
        purpose=f"test run of {version.label} before installation",
        claim=True,
    )
    validation = runs.execute(runtime, run_id, store=False)
    if validation.status != runs.SUCCESSFUL:
        raise Conflict(
            f"the test run of {version.label} on {twin_name} with this calibration ended "
            f"{validation.status}: {validation.message}; nothing was installed "
            f"(run {validation.run_id})"
        )
    installed = app_service.install(db, principal, twin_name, package, calibration)
    with db.begin() as conn:
        record(
            conn,
            acted(
                principal,
                "store.install",
                f"twin:{twin_name}",
                {
                    "app": version.label,
                    "fit": report.verdict,
                    "red": [c.requirement for c in report.red],
                    "override": override,
                    "test_run": validation.run_id,
                },
            ),
        )
    return StoreInstallation(installed, report, validation, warnings)


def review(db: Database, principal: Principal, ref: str, rating: int, text: str) -> reviews.Review:
    """The caller's organisation rates APP@VERSION, which its run records show it used."""
    app_id, number = catalogue.parse_ref(ref)
    if number is None:
        raise InvalidInput(f"{ref!r}: name the version you used (APP@VERSION)")
    version = show(db, principal, ref).versions[0]
    org_id = _org_id(principal)
    if org_id is None:
        raise Forbidden("reviews come from organisations; sign in as a member of one")
    authorize(db, principal, Action.create, Resource(Kind.review, f"review:{ref}", org_id))
    with db.begin() as conn:
        review_id = reviews.write(conn, version, org_id, principal.actor, rating, text)
        record(conn, acted(principal, "store.review", f"app:{app_id}", {"version": number}))
        return next(r for r in reviews.of_versions(conn, [version]) if r.id == review_id)


def respond(db: Database, principal: Principal, review_id: int, text: str) -> None:
    """The publisher's public answer to a review of its app."""
    with db.read() as conn:
        version_id = reviews.version_of_review(conn, review_id)
        version = catalogue.versions_by_id(conn, [version_id])[0]
    authorize(db, principal, Action.update, listing_resource(version))
    with db.begin() as conn:
        reviews.respond(conn, version, review_id, principal.actor, text)
        record(
            conn, acted(principal, "store.respond", f"app:{version.app_id}", {"review": review_id})
        )


def report_abuse(db: Database, principal: Principal, review_id: int, reason: str) -> int:
    """Report a review to the market master (anyone who can see it may)."""
    with db.read() as conn:
        version = catalogue.versions_by_id(conn, [reviews.version_of_review(conn, review_id)])[0]
    authorize(db, principal, Action.read, listing_resource(version))
    with db.begin() as conn:
        report_id = reviews.report(conn, review_id, principal.actor, reason)
        record(
            conn, acted(principal, "store.abuse-report", f"review:{review_id}", {"reason": reason})
        )
    return report_id


def resolve_abuse(
    db: Database, principal: Principal, report_id: int, hide: bool, reason: str
) -> None:
    """The market master's judgement on a reported review: hidden or kept, with a reason."""
    authorize(db, principal, Action.update, STORE)
    with db.begin() as conn:
        reviews.resolve(conn, report_id, principal.actor, hide, reason)
        record(
            conn,
            acted(
                principal,
                "store.abuse-resolved",
                f"report:{report_id}",
                {"hidden": hide, "reason": reason},
            ),
        )


def abuse_reports(db: Database, principal: Principal) -> list[dict[str, Any]]:
    authorize(db, principal, Action.read, STORE)
    with db.read() as conn:
        return reviews.open_reports(conn)


def reviews_of(
    db: Database, principal: Principal, ref: str
) -> tuple[list[reviews.Review], float | None]:
    """The visible reviews of the versions the caller may see, and their mean rating."""
    view = show(db, principal, ref)
    with db.read() as conn:
        found = reviews.of_versions(conn, view.versions)
    mean = sum(r.rating for r in found) / len(found) if found else None
    return found, mean


def catalogue_page(
    db: Database,
    principal: Principal,
    query: str,
    filters: dict[str, str],
    limit: int,
    offset: int,
) -> tuple[search.Results, list[catalogue.Version | dict[str, Any]]]:
    """A page of the public catalogue: search results and, behind each, the listed version —
    or, for a listing harvested from another store, the record as harvested."""
    results = find(db, principal, query, filters, limit, offset)
    entries: list[catalogue.Version | dict[str, Any]] = []
    with db.read() as conn:
        for hit in results.hits:
            key = str(hit.facets["app_id"])
            remote = federation.harvested(conn, key)
            if remote is not None:
                entries.append({**remote, "key": key})
            else:
                entries.append(catalogue.get_version(conn, key, str(hit.facets["version"])))
    return results, entries


def harvested_record(db: Database, key: str) -> dict[str, Any] | None:
    """A listing harvested from another store (public, as it is public there), or None."""
    with db.read() as conn:
        return federation.harvested(conn, key)


def referral(db: Database, ref: str) -> None:
    """No wrong door: an app harvested from another store is acquired there."""
    app_id, _ = catalogue.parse_ref(ref)
    with db.read() as conn:
        remote = federation.harvested(conn, app_id)
    if remote is not None:
        title = remote["record"].get("properties", {}).get("title", app_id)
        raise Conflict(
            f"{title!r} is offered by another store; see and acquire it at its home: "
            f"{remote['origin']}"
        )


def catalogue_item(
    db: Database, principal: Principal, app_id: str
) -> tuple[catalogue.Version, float | None]:
    """An app's current version as the catalogue shows it, with its mean rating."""
    view = show(db, principal, app_id)
    _, mean = reviews_of(db, principal, app_id)
    return view.current, mean


def screenshot(db: Database, principal: Principal, ref: str, name: str) -> bytes:
    """A screenshot the product page names, from the signed package of a visible version."""
    version = show(db, principal, ref).current
    if name not in version.page.screenshots:
        raise NotFound(f"{version.label} has no screenshot {name!r}")
    with db.read() as conn:
        package = packages.load(conn, version.package_id)
    with zipfile.ZipFile(io.BytesIO(package.archive)) as archive:
        return archive.read(name)


def _key_holder(db: Database, principal: Principal, org: str | None) -> int | None:
    """The organisation whose keys are meant (the caller's own by default), once the caller
    may manage them: its administrators, or the market master's."""
    name = org or (principal.org.name if principal.org.id > 0 else None)
    if name is None:
        authorize(db, principal, Action.update, STORE)  # the platform's own keys
        return None
    with db.read() as conn:
        found = get_organisation(conn, name)
    target = Resource(Kind.organisation, f"organisation:{name}", owner_org_id=found.id)
    authorize(db, principal, Action.update, target)
    return found.id


def register_key(
    db: Database, principal: Principal, public_key: str, label: str, org: str | None = None
) -> str:
    """Register a publisher's signing key, so its packages can pass the integrity check."""
    holder = _key_holder(db, principal, org)
    with db.begin() as conn:
        key = keys.register(conn, holder, public_key, label, principal.actor)
        record(conn, acted(principal, "store.key.register", f"organisation:{org or '-'}",
                           {"public_key": key, "label": label}))  # fmt: skip
    return key


def revoke_key(db: Database, principal: Principal, public_key: str, org: str | None = None) -> None:
    holder = _key_holder(db, principal, org)
    with db.begin() as conn:
        keys.revoke(conn, holder, public_key)
        record(conn, acted(principal, "store.key.revoke", f"organisation:{org or '-'}",
                           {"public_key": keys.normalise(public_key)}))  # fmt: skip


def list_keys(db: Database, principal: Principal, org: str | None = None) -> list[dict[str, Any]]:
    holder = _key_holder(db, principal, org)
    with db.read() as conn:
        return keys.listed(conn, holder)
