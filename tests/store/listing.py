"""Putting a version into the store for tests of what comes after — search, installs,
notices, reviews — by recording the accreditation pipeline's state changes without running
its checks or collecting scores. The pipeline itself runs for real in
``test_accreditation_checks.py``, ``test_accreditation_reference_apps.py`` and the API and
CLI tests; here it would only cost minutes per test."""

from __future__ import annotations

from tweeling.access import identity
from tweeling.storage.db import Database
from tweeling.store import catalogue
from tweeling.store.lifecycle import PIPELINE, PUBLISHER, State

_PATH = (State.submitted, State.checks, State.beta, State.under_review, State.approved)


def through_pipeline(
    db: Database, ref: str, to: State = State.approved, beta_orgs: tuple[str, ...] = ()
) -> catalogue.Version:
    app_id, number = catalogue.parse_ref(ref)
    assert number is not None
    with db.begin() as conn:
        version = catalogue.get_version(conn, app_id, number)
        start = _PATH.index(version.state) + 1 if version.state in _PATH else 0
        steps = [s for s in _PATH[start : _PATH.index(to) + 1] if s != State.beta or s == to]
        for state in steps:
            by = PUBLISHER if state == State.submitted else PIPELINE
            version = catalogue.move(conn, version, state, by, "test", f"test setup: {state}")
        if beta_orgs:
            ids = [identity.get_organisation(conn, name).id for name in beta_orgs]
            catalogue.admit_to_beta(conn, version, ids)
    return version
