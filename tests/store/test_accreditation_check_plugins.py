"""A third party's accreditation checks, installed from its own package through the
``tweeling.checks`` entry point: they run in a real round after the built-ins, their
verdicts are on record and in the public report, and one that breaks fails (closed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugin_util import installed_package
from tweeling.access import identity
from tweeling.access.identity import Principal, Role
from tweeling.apps import packages
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import Runtime
from tweeling.services import accreditation, store
from tweeling.storage.db import Database
from tweeling.store.accreditation import checks, criteria, scoring

from .bad_apps import bad_app

TOY_CHECKS = """
from tweeling.store.accreditation.checks import CheckResult

NAME = "ascii-id"


class AsciiIdCheck:
    name = NAME
    proves = "The app's id is plain ASCII, so every catalogue and URL can carry it."
    criteria = ("TEC-2",)
    quality = None

    def run(self, context):
        app_id = context.manifest.id
        evidence = {"id": app_id, "runs": [twin for twin, _ in context.reference_runs()]}
        return CheckResult(NAME, app_id.isascii(), f"the id {app_id} is ASCII", evidence)


class BrokenCheck:
    name = "broken"
    proves = "Nothing: it always raises."
    criteria = ()
    quality = None

    def run(self, context):
        raise RuntimeError("the toy check fell over")
"""


@pytest.fixture
def toy_checks(tmp_path: Path) -> Iterator[None]:
    entry = {"tweeling.checks": {"ascii-id": "toy_checks:AsciiIdCheck",
                                 "broken": "toy_checks:BrokenCheck"}}  # fmt: skip
    with installed_package(tmp_path / "site", "toy-checks", {"toy_checks": TOY_CHECKS}, entry):
        checks.CHECKS.reload()
        try:
            yield
        finally:
            checks.CHECKS.unregister("ascii-id")
            checks.CHECKS.unregister("broken")
            checks.CHECKS.reload()


def test_toy_checks_from_a_package_appear_in_a_real_round_and_its_report(
    db: Database, samples: Path, tmp_path: Path, toy_checks: None
) -> None:
    with db.begin() as conn:
        identity.bootstrap(conn)
        provider = identity.create_organisation(conn, "Stadslab BV", "provider", actor="t")
        master = identity.get_organisation(conn, identity.MARKET_MASTER)
    public = packages.generate_key(tmp_path / "key.pem")
    developer = Principal(0, "dev@stadslab.nl", provider, frozenset({Role.developer}))
    admin = Principal(0, identity.FIRST_ADMIN, master, frozenset({Role.admin}))
    store.register_key(db, admin, public, "release key", "Stadslab BV")
    app = bad_app(tmp_path / "apps", "none")  # the fixture app, behaving
    signed = packages.from_path(app, packages.load_key(tmp_path / "key.pem"))
    version = store.publish(db, developer, signed)
    accreditation.submit(db, developer, version.label)
    executor = LocalExecutor(slots=1)
    try:
        done = accreditation.run_checks(Runtime(db, executor, tmp_path / "home"), admin,
                                        version.label, samples)  # fmt: skip
    finally:
        executor.close()

    assert [r.check for r in done.results][-2:] == ["ascii-id", "broken"]  # after the built-ins
    assert [r.check for r in done.results][:-2] == list(checks.BUILTIN_NAMES)
    toy = done.results[-2]
    assert toy.passed is True and toy.summary == "the id bad-none is ASCII"
    # it was handed the round's reference runs, not runs of its own
    assert toy.evidence["runs"] == ["reference-delft", "reference-district"]
    broken = done.results[-1]
    assert broken.passed is False
    assert broken.summary == "the check could not run: RuntimeError: the toy check fell over"
    assert [r.check for r in done.failed] == ["broken"]

    report = accreditation.report(db, version.label)
    listed = {c["check"]: c for c in report["automated_checks"]["checks"]}
    assert listed["ascii-id"]["passed"] is True
    assert listed["ascii-id"]["summary"] == "the id bad-none is ASCII"
    assert "automated checks failed: broken" in report["verdict"]["reasons"]
    # they count towards no quality: the trust formula is the published one
    assert scoring.checks_of("reliability") == (
        "conformance",
        "determinism",
        "robustness",
        "resources",
        "reference-cases",
    )


def test_a_criterion_may_cite_only_a_registered_check() -> None:
    cited = criteria.framework().criteria[0].model_copy().model_dump()
    cited["check"] = "crystal-ball"
    with pytest.raises(ValueError, match=r"no automated check named 'crystal-ball' \(known: "):
        criteria.Criterion(**cited)
