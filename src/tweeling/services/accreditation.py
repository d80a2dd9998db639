"""Running the automated intake checks of a submitted app version (the market master's, or
an accreditor's, action), and reading their results.

The version runs in the sandbox on a reference twin — the Delft sample, kept as a twin of the
market master's organisation — twice, without storing results: once to judge conformance,
sandbox behaviour, resources and provenance, once more for determinism. Each check's verdict
and evidence go on record as one round; the version moves to ``checks`` with a summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from tweeling.access.audit import acted, record
from tweeling.access.identity import MARKET_MASTER, Principal, get_organisation
from tweeling.access.policy import Action, authorize
from tweeling.apps import packages, runs
from tweeling.apps.manifest import Manifest, parse_manifest
from tweeling.errors import InvalidInput, NotFound
from tweeling.services import apps as app_service
from tweeling.services.store import STORE
from tweeling.storage.db import Database
from tweeling.storage.schema import accreditation_checks
from tweeling.store import catalogue
from tweeling.store.accreditation import checks
from tweeling.store.lifecycle import MARKET_MASTER as AS_MARKET_MASTER
from tweeling.store.lifecycle import State
from tweeling.twin.ingest import DatasetInfo, ingest
from tweeling.twin.model import CityObject
from tweeling.twin.scenarios import Changes, create_scenario, edit
from tweeling.twin.twins import find_twin, get_scenario, get_twin, list_scenarios, now
from tweeling.twin.views import iter_objects, view_of

REFERENCE_TWIN = "reference-delft"
PURPOSE = "accreditation: automated intake checks"


@dataclass(frozen=True)
class Round:
    app: str
    version: str
    round: int
    results: list[checks.CheckResult]

    @property
    def passed(self) -> bool:
        return all(r.passed is not False for r in self.results)

    @property
    def failed(self) -> list[checks.CheckResult]:
        return [r for r in self.results if r.passed is False]

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "version": self.version,
            "round": self.round,
            "passed": self.passed,
            "checks": [r.as_json() for r in self.results],
        }


def reference_twin(db: Database, samples: Path) -> str:
    """The reference twin the checks run on, imported once from the Delft sample."""
    with db.read() as conn:
        if find_twin(conn, REFERENCE_TWIN) is not None:
            return REFERENCE_TWIN
        try:
            owner: int | None = get_organisation(conn, MARKET_MASTER).id
        except NotFound:  # a platform not yet set up (the local operator at work)
            owner = None
    source = samples / "delft.city.json"
    if not source.is_file():
        raise InvalidInput(f"the reference data {source} is not there")
    info = DatasetInfo(source="cjio test data (TU Delft), reference twin for accreditation")
    ingest(db, source, REFERENCE_TWIN, info=info, author="accreditation", owner_org_id=owner)
    return REFERENCE_TWIN


def _run(
    runtime: runs.Runtime,
    principal: Principal,
    package: packages.Package,
    scenario: str = "current",
) -> runs.RunRecord:
    run_id = app_service.submit(
        runtime, principal, REFERENCE_TWIN, scenario=scenario, package=package, purpose=PURPOSE
    )
    return runs.execute(runtime, run_id, store=False, use_cache=False)


def _degraded(db: Database, name: str, changes: Changes, why: str) -> str:
    """A scenario of the reference twin with its inputs degraded (made once, then reused)."""
    with db.read() as conn:
        twin = get_twin(conn, REFERENCE_TWIN)
        if any(s.name == name for s in list_scenarios(conn, twin)):
            return name
    create_scenario(db, REFERENCE_TWIN, name, label=why, author="accreditation")
    edit(db, REFERENCE_TWIN, name, changes, reason=why, author="accreditation")
    return name


def _robustness(
    runtime: runs.Runtime, principal: Principal, package: packages.Package, manifest: Manifest
) -> checks.CheckResult:
    """Degraded inputs — declared attributes missing, the first layer empty — must give a
    clear error (AppError) or flagged results, never a crash or invalid output."""
    db = runtime.db
    spec = manifest.inputs.layers[0] if manifest.inputs.layers else None
    if spec is None:
        return checks.CheckResult("robustness", True, "reads no layers: nothing to degrade")
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, REFERENCE_TWIN), "current"))
        objects = [
            (o.object_id, o.object_type)
            for o in iter_objects(conn, view, layer=spec.layer)
            if not spec.object_types or o.object_type in spec.object_types
        ]
    cases = {
        "empty layer": _degraded(
            db,
            f"degraded-empty-{spec.layer}",
            Changes(delete=[oid for oid, _ in objects]),
            f"accreditation: layer {spec.layer} emptied",
        )
    }
    if spec.attributes:
        blank = dict.fromkeys(spec.attributes)
        cases["missing attributes"] = _degraded(
            db,
            "degraded-" + "-".join(sorted(spec.attributes))[:40],
            Changes(
                modify=[CityObject(id=oid, type=otype, attributes=blank) for oid, otype in objects]
            ),
            f"accreditation: {', '.join(spec.attributes)} removed from {spec.layer}",
        )
    outcomes = {}
    for case, scenario in cases.items():
        run = _run(runtime, principal, package, scenario)
        outcomes[case] = {"status": run.status, "message": run.message, "run": run.run_id}
        if run.status not in ("successful", "failed"):
            return checks.CheckResult(
                "robustness", False, f"{run.status} on {case}: {run.message}", outcomes
            )
    return checks.CheckResult(
        "robustness",
        True,
        "; ".join(f"{case}: {o['status']}" for case, o in outcomes.items()),
        outcomes,
    )


def run_checks(runtime: runs.Runtime, principal: Principal, ref: str, samples: Path) -> Round:
    """Run the automated checks on APP@VERSION and put them on record as a new round."""
    db = runtime.db
    authorize(db, principal, Action.update, STORE)
    app_id, number = catalogue.parse_ref(ref)
    if number is None:
        raise InvalidInput(f"{ref!r}: name the version (APP@VERSION)")
    with db.read() as conn:
        version = catalogue.get_version(conn, app_id, number)
        package = packages.load(conn, version.package_id)
    manifest = parse_manifest(version.manifest)
    reference_twin(db, samples)
    results = [checks.integrity(package)]
    first = _run(runtime, principal, package)
    results += [
        checks.conformance(first, REFERENCE_TWIN),
        checks.sandbox(first),
        checks.resources(first, manifest),
    ]
    second = _run(runtime, principal, package) if first.status == "successful" else first
    results.append(checks.determinism(first, second))
    results.append(checks.provenance(first))
    results.append(checks.privacy(manifest, version.page))
    results.append(checks.licence(manifest, version.page))
    results.append(_robustness(runtime, principal, package, manifest))
    results.append(
        checks.CheckResult("reference-cases", None, "not automated yet: publisher cases to come")
    )
    with db.begin() as conn:
        number_ = (
            int(
                conn.execute(
                    select(func.coalesce(func.max(accreditation_checks.c.round), 0)).where(
                        accreditation_checks.c.version_id == version.id
                    )
                ).scalar_one()
            )
            + 1
        )
        stamp = now()
        conn.execute(
            insert(accreditation_checks),
            [
                {
                    "version_id": version.id,
                    "round": number_,
                    "check_name": r.check,
                    "passed": r.passed,
                    "summary": r.summary,
                    "evidence": r.evidence,
                    "run_by": principal.actor,
                    "run_at": stamp,
                }
                for r in results
            ],
        )
        done = Round(app_id, number, number_, results)
        failed = ", ".join(r.check for r in done.failed) or "none"
        if version.state == State.submitted:
            catalogue.move(
                conn,
                version,
                State.checks,
                AS_MARKET_MASTER,
                principal.actor,
                f"automated checks, round {number_}: failed {failed}",
            )
        record(
            conn,
            acted(
                principal,
                "accreditation.checks",
                f"app:{app_id}",
                {"version": number, "round": number_, "failed": [r.check for r in done.failed]},
            ),
        )
    return done


def latest_round(db: Database, ref: str) -> Round | None:
    """The newest round of checks of APP@VERSION (public: it is part of the report)."""
    app_id, number = catalogue.parse_ref(ref)
    if number is None:
        raise InvalidInput(f"{ref!r}: name the version (APP@VERSION)")
    with db.read() as conn:
        version = catalogue.get_version(conn, app_id, number)
        rows = conn.execute(
            select(accreditation_checks)
            .where(accreditation_checks.c.version_id == version.id)
            .order_by(accreditation_checks.c.round.desc(), accreditation_checks.c.id)
        ).all()
    if not rows:
        return None
    newest = rows[0].round
    results = [
        checks.CheckResult(r.check_name, r.passed, r.summary, r.evidence)
        for r in rows
        if r.round == newest
    ]
    return Round(app_id, number, newest, results)
