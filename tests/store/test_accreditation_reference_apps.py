"""The three reference apps go through the whole accreditation pipeline: automated checks on
the reference twin, a scored review (a fixture, as an accreditor would file it), the
decision; their reports are public and they are in the store with a trust score."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fastapi.testclient import TestClient

from tweeling.access import identity
from tweeling.access.identity import Principal, Role
from tweeling.api.app import create_app
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.services import accreditation, store
from tweeling.storage.db import Database
from tweeling.store.lifecycle import State

APPS = Path(__file__).resolve().parents[2] / "apps"
REVIEW = Path(__file__).parent / "fixtures" / "reference-review.toml"
REFERENCE = ("solar-potential", "sun-hours-and-shade", "heat-stress")


def test_the_reference_apps_are_accredited(db: Database, samples: Path, tmp_path: Path) -> None:
    review = tomllib.loads(REVIEW.read_text())
    with db.begin() as conn:
        identity.bootstrap(conn)
        provider = identity.create_organisation(conn, "Tweeling apps", "provider", actor="t")
        keur = identity.create_organisation(conn, review["accreditor"], "accreditor", actor="t")
        master = identity.get_organisation(conn, identity.MARKET_MASTER)
    developer = Principal(0, "dev@tweeling.nl", provider, frozenset({Role.developer}))
    admin = Principal(0, identity.FIRST_ADMIN, master, frozenset({Role.admin}))
    reviewer = Principal(0, "beoordelaar@keurmerk.nl", keur, frozenset({Role.reviewer}))
    public = packages.generate_key(tmp_path / "key.pem")
    key = packages.load_key(tmp_path / "key.pem")
    store.register_key(db, admin, public, "release key", "Tweeling apps")
    executor = LocalExecutor(slots=1)
    runtime = Runtime(db, executor, tmp_path / "home")
    try:
        for app in REFERENCE:
            ref = f"{app}@0.1.0"
            store.publish(db, developer, packages.from_path(APPS / app, key))
            accreditation.submit(db, developer, ref)
            done = accreditation.run_checks(runtime, admin, ref, samples)
            cases = next(r for r in done.results if r.check == "reference-cases")
            assert cases.passed, cases.summary
            assert done.passed, [(r.check, r.summary) for r in done.failed]
            accreditation.assign(db, admin, ref, [review["accreditor"]])
            for item in review["scores"].values():
                accreditation.score(
                    db, reviewer, ref, item["criterion"], item["score"], item["evidence"]
                )
            assert accreditation.decide(db, admin, ref, "accredited", "meets every norm") == (
                "accredited"
            )
    finally:
        executor.close()
    assert store.find(db, admin, "").total == 3
    with TestClient(create_app(db, run_jobs=False)) as client:
        for app in REFERENCE:
            report = client.get(f"/store/apps/{app}/versions/0.1.0/accreditation").json()
            assert report["state"] == State.approved.value and report["accredited"]
            assert report["verdict"]["accreditable"] is True
            assert report["automated_checks"]["passed"] is True
            assert 80 <= report["trust"]["trust"] <= 100
            page = client.get(f"/store/apps/{app}").json()
            assert page["accreditation"]["trust"] == report["trust"]["trust"]
            measured = page["accreditation"]["measured"]
            assert 0 < measured["peak_memory_mb"] < measured["declared"]["memory_mb"]
            html = client.get(
                f"/store/apps/{app}/versions/0.1.0/accreditation", params={"f": "html"}
            )
            assert html.headers["content-type"].startswith("text/html")
            assert "geaccrediteerd / accredited" in html.text
            assert "reference-cases" in html.text and "Keurmerk Instituut" in html.text
