"""The demo store: the reference apps accredited through the real pipeline.

A demo publisher with its own signing key (registered like ``tweeling store keys add``), each
app packaged, signed, published and submitted; the market master runs the automated checks
in the sandbox on the reference twins, assigns a demo accreditor, whose reviewer files the
reference review; the market master decides. Every step goes through the services, the
policy point and the audit log, exactly as the commands do. Run again, it picks each app up
where it stands and keeps what is done. (``tweeling demo`` shows its progress: cli/demo_store.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tweeling.access import identity
from tweeling.access.identity import OrgKind, Principal, Role, local_operator
from tweeling.access.keys import public_hex
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.manifest import load_manifest
from tweeling.apps.runs import Runtime
from tweeling.errors import Conflict, NotFound
from tweeling.services import accreditation, store
from tweeling.services import apps as app_service
from tweeling.storage.db import Database
from tweeling.store import catalogue
from tweeling.store.accreditation.criteria import ReviewFile, parse_review
from tweeling.store.lifecycle import State

REFERENCE_APPS = ("solar-potential", "sun-hours-and-shade", "heat-stress")
PUBLISHER = "Tweeling demo apps"
DEVELOPER = "ontwikkelaar@demo-apps.tweeling.local"
REVIEWER = "beoordelaar@keurmerk.tweeling.local"
KEY_FILE = "keys/demo-publisher-ed25519.pem"


@dataclass(frozen=True)
class Outcome:
    """Where one reference app stands in the store after the demo."""

    app_id: str
    version: str
    state: str
    note: str

    @property
    def accredited(self) -> bool:
        return self.state == State.approved.value


def _member(db: Database, email: str, org_name: str, kind: OrgKind, role: Role) -> Principal:
    """A demo organisation with one person in it, made once; that person as a caller, signed
    in the way a command-line user is (an API token, here revoked as soon as it is read)."""
    with db.begin() as conn:
        try:
            identity.get_organisation(conn, org_name)
        except NotFound:
            identity.create_organisation(conn, org_name, kind.value, actor="demo")
        with suppress(Conflict):  # a second demo: the person is there already
            identity.add_member(conn, email, org_name, role.value, actor="demo")
        issued = identity.create_token(
            conn, email, org_name, actor="demo", expires_in=timedelta(minutes=5)
        )
    with db.begin() as conn:
        principal = identity.authenticate_token(conn, issued.secret)
        identity.revoke_token(conn, issued.id, actor="demo")
    return principal


def signing_key(home: Path) -> Path:
    """The demo publisher's private key, generated once under the home folder (owner-only).
    The demo signs every reference app package with it, also the one it installs directly,
    so that the repository never holds an unsigned copy of a package it lists."""
    path = home / KEY_FILE
    if not path.exists():
        packages.generate_key(path)
    return path


def _register(db: Database, operator: Principal, key: Path) -> None:
    """Register the key for the demo publisher, as ``tweeling store keys add`` does."""
    public = public_hex(packages.load_key(key).public_key())
    registered = {k["public_key"] for k in store.list_keys(db, operator, PUBLISHER)}
    if public not in registered:
        store.register_key(db, operator, public, "demo release key", PUBLISHER)


def _state(db: Database, app_id: str, version: str) -> State | None:
    with db.read() as conn:
        try:
            return catalogue.get_version(conn, app_id, version).state
        except NotFound:
            return None


def _accredit(
    runtime: Runtime,
    folder: Path,
    key: Path,
    review: ReviewFile,
    who: dict[str, Principal],
    samples: Path,
) -> Outcome:
    """One app through every step it has not taken yet."""
    db, operator = runtime.db, who["operator"]
    package = packages.from_path(folder, packages.load_key(key))
    app_id, version = package.manifest.id, package.manifest.version
    ref = f"{app_id}@{version}"
    state = _state(db, app_id, version)
    if state is None:
        store.publish(db, who["developer"], package)
        state = State.draft
    if state == State.draft:
        accreditation.submit(db, who["developer"], ref, "reference app, demo store")
        state = State.submitted
    if state == State.submitted:
        done = accreditation.run_checks(runtime, operator, ref, samples)
        if done.failed:
            failed = "; ".join(f"{r.check}: {r.summary}" for r in done.failed)
            return Outcome(app_id, version, State.checks.value, f"automated checks: {failed}")
        state = State.checks
    if state == State.checks:
        latest = accreditation.latest_round(db, ref)
        if latest is not None and latest.failed:
            failed = ", ".join(r.check for r in latest.failed)
            return Outcome(app_id, version, state.value, f"failed automated checks: {failed}")
        accreditation.assign(db, operator, ref, [who["reviewer"].org.name])
        state = State.under_review
    if state == State.under_review:
        accreditation.score_many(
            db, who["reviewer"], ref, list(review.scores.values()), review.framework
        )
        accreditation.decide(db, operator, ref, "accredited", "demo: meets every norm")
        return Outcome(app_id, version, State.approved.value, "accredited now")
    kept = "kept" if state == State.approved else "left as it is"
    return Outcome(app_id, version, state.value, kept)


def fill_store(
    db: Database,
    home: Path,
    apps: Path,
    review_file: Path,
    samples: Path,
    progress: Callable[[str | None], None] | None = None,
    libraries: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Accredit the reference apps in ``apps`` into the store; what became of each.
    ``progress`` hears each app's id before its turn and None after it; ``libraries`` hears
    about the environments of the libraries the apps declare being built (once)."""
    review = parse_review(review_file.read_text(encoding="utf-8"), str(review_file))
    accreditor = review.accreditor or "Keurmerk Instituut"
    operator = local_operator("demo")
    who = {
        "operator": operator,
        "developer": _member(db, DEVELOPER, PUBLISHER, OrgKind.provider, Role.developer),
        "reviewer": _member(db, REVIEWER, accreditor, OrgKind.accreditor, Role.reviewer),
    }
    key = signing_key(home)
    _register(db, operator, key)
    runtime = Runtime(db, LocalExecutor(slots=1), home)
    outcomes = []
    try:
        for app_id in REFERENCE_APPS:
            if progress is not None:
                progress(app_id)
            app_service.prepare_environment(
                runtime.envs_dir, load_manifest(apps / app_id), libraries
            )
            outcomes.append(_accredit(runtime, apps / app_id, key, review, who, samples))
            if progress is not None:
                progress(None)
    finally:
        runtime.executor.close()
    return outcomes
