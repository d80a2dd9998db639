"""A version on its way into the store, for the accreditation desk's tests: a provider
(Stadslab BV) published the signed solar-potential package and submitted it; the market
master ran the automated checks in the sandbox on the Delft sample and assigned an
accreditor (Keurmerk Instituut) with two reviewers. Everyone signs in with ``PASSWORD``."""

from __future__ import annotations

from pathlib import Path

from tweeling.access import identity
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.services import accreditation, store
from tweeling.storage.db import Database

ROOT = Path(__file__).resolve().parents[2]
SOLAR = ROOT / "apps" / "solar-potential"
REF = "solar-potential@0.1.0"
PROVIDER_ORG = "Stadslab BV"
PROVIDER = "dev@stadslab.nl"
ACCREDITOR_ORG = "Keurmerk Instituut"
REVIEWERS = ("beoordelaar@keurmerk.nl", "tweede@keurmerk.nl")
MASTER = "meester@marktmeester.local"


def prepare(db: Database, samples: Path, folder: Path, password: str) -> None:
    """Set the round up on ``db`` (on which ``identity.bootstrap`` has run)."""
    with db.begin() as conn:
        identity.create_organisation(conn, PROVIDER_ORG, "provider", actor="test")
        identity.add_member(conn, PROVIDER, PROVIDER_ORG, "developer", actor="t", password=password)
        identity.create_organisation(conn, ACCREDITOR_ORG, "accreditor", actor="test")
        for email in REVIEWERS:
            identity.add_member(
                conn, email, ACCREDITOR_ORG, "reviewer", actor="test", password=password
            )
        identity.add_member(
            conn, MASTER, identity.MARKET_MASTER, "admin", actor="test", password=password
        )
        master = _principal(conn, MASTER, identity.MARKET_MASTER)
        provider = _principal(conn, PROVIDER, PROVIDER_ORG)
    public = packages.generate_key(folder / "key.pem")
    store.register_key(db, master, public, "release key", PROVIDER_ORG)
    package = packages.from_path(SOLAR, packages.load_key(folder / "key.pem"))
    store.publish(db, provider, package)
    accreditation.submit(db, provider, REF, "first release")
    executor = LocalExecutor(slots=1)
    try:
        done = accreditation.run_checks(
            Runtime(db, executor, folder / "home"), master, REF, samples
        )
    finally:
        executor.close()
    assert done.passed, [(c.check, c.summary) for c in done.failed]
    accreditation.assign(db, master, REF, [ACCREDITOR_ORG])


def _principal(conn: object, email: str, org: str) -> identity.Principal:
    token = identity.create_token(conn, email, org, actor="test")  # type: ignore[arg-type]
    return identity.authenticate_token(conn, token.secret)  # type: ignore[arg-type]


def next_version_package(folder: Path) -> Path:
    """solar-potential 0.2.0, signed with the provider's registered key (made by
    ``prepare``), as a .twapp file for the publisher portal's upload."""
    import shutil

    source = folder / "solar-potential-0.2.0"
    shutil.copytree(SOLAR, source, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    manifest = source / "tweeling-app.toml"
    manifest.write_text(manifest.read_text().replace('version = "0.1.0"', 'version = "0.2.0"', 1))
    package = packages.from_path(source, packages.load_key(folder / "key.pem"))
    target = folder / "solar-potential-0.2.0.twapp"
    target.write_bytes(package.archive)
    return target
