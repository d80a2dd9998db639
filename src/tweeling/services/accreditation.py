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
from statistics import mean
from typing import Any

from sqlalchemy import delete, func, insert, select

from tweeling.access.audit import acted, record
from tweeling.access.identity import (
    MARKET_MASTER,
    OrgKind,
    Principal,
    Role,
    get_organisation,
)
from tweeling.access.policy import Action, authorize
from tweeling.apps import packages, runs
from tweeling.apps.manifest import Manifest, parse_manifest
from tweeling.errors import Conflict, Forbidden, InvalidInput, NotFound
from tweeling.services import apps as app_service
from tweeling.services.store import STORE
from tweeling.storage.db import Database
from tweeling.storage.schema import (
    accreditation_assignments,
    accreditation_checks,
    accreditation_scores,
    organisations,
    store_listings,
)
from tweeling.store import catalogue
from tweeling.store.accreditation import checks, criteria, scoring
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


def _version(db: Database, ref: str) -> catalogue.Version:
    app_id, number = catalogue.parse_ref(ref)
    if number is None:
        raise InvalidInput(f"{ref!r}: name the version (APP@VERSION)")
    with db.read() as conn:
        return catalogue.get_version(conn, app_id, number)


def run_checks(runtime: runs.Runtime, principal: Principal, ref: str, samples: Path) -> Round:
    """Run the automated checks on APP@VERSION and put them on record as a new round."""
    db = runtime.db
    authorize(db, principal, Action.update, STORE)
    version = _version(db, ref)
    app_id, number = version.app_id, version.version
    with db.read() as conn:
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
    version = _version(db, ref)
    with db.read() as conn:
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
    return Round(version.app_id, version.version, newest, results)


def assign(db: Database, principal: Principal, ref: str, accreditors: list[str]) -> list[str]:
    """The market master assigns accreditor organisations to a version, none with a conflict
    of interest: not the publisher itself, and not an organisation that publishes apps in this
    store (a competitor). The version goes under review."""
    authorize(db, principal, Action.update, STORE)
    version = _version(db, ref)
    with db.begin() as conn:
        names = []
        for name in accreditors:
            org = get_organisation(conn, name)
            if org.kind != OrgKind.accreditor:
                raise InvalidInput(f"{name} is a {org.kind.value}, not an accreditor")
            if org.id == version.publisher_org_id:
                raise Conflict(f"{name} published {version.app_id}: it cannot assess it")
            publishes = conn.execute(
                select(store_listings.c.app_id).where(store_listings.c.publisher_org_id == org.id)
            ).first()
            if publishes is not None:
                raise Conflict(
                    f"{name} publishes apps in this store ({publishes.app_id}): a conflict of "
                    "interest with every other publisher"
                )
            conn.execute(
                insert(accreditation_assignments).values(
                    version_id=version.id,
                    org_id=org.id,
                    assigned_by=principal.actor,
                    assigned_at=now(),
                )
            )
            names.append(name)
        if version.state in (State.submitted, State.checks, State.beta):
            catalogue.move(
                conn,
                version,
                State.under_review,
                AS_MARKET_MASTER,
                principal.actor,
                f"assigned to {', '.join(names)}",
            )
        record(conn, acted(principal, "accreditation.assign", f"app:{version.app_id}",
                           {"version": version.version, "accreditors": names}))  # fmt: skip
    return names


def score(
    db: Database, principal: Principal, ref: str, criterion: str, value: int, evidence: str
) -> None:
    """An assigned accreditor scores one criterion (0-5) with written evidence."""
    version = _version(db, ref)
    framework = criteria.framework()
    known = {c.id for c in framework.criteria}
    if criterion not in known:
        raise InvalidInput(f"no criterion {criterion!r} in framework {framework.version}")
    if not framework.scale.min <= value <= framework.scale.max:
        raise InvalidInput(f"a score is {framework.scale.min} to {framework.scale.max}")
    if not evidence.strip():
        raise InvalidInput("a score needs written evidence (--evidence)")
    with db.begin() as conn:
        assigned = conn.execute(
            select(accreditation_assignments.c.org_id).where(
                accreditation_assignments.c.version_id == version.id,
                accreditation_assignments.c.org_id == principal.org.id,
            )
        ).first()
        if assigned is None or not (principal.roles & {Role.admin, Role.reviewer}):
            raise Forbidden(
                f"only reviewers of an accreditor assigned to {version.label} may score it"
            )
        conn.execute(
            delete(accreditation_scores).where(
                accreditation_scores.c.version_id == version.id,
                accreditation_scores.c.org_id == principal.org.id,
                accreditation_scores.c.criterion == criterion,
            )
        )
        conn.execute(
            insert(accreditation_scores).values(
                version_id=version.id,
                org_id=principal.org.id,
                framework=framework.version,
                criterion=criterion,
                score=value,
                evidence=evidence,
                scored_by=principal.actor,
                scored_at=now(),
            )
        )
        record(conn, acted(principal, "accreditation.score", f"app:{version.app_id}",
                           {"version": version.version, "criterion": criterion,
                            "score": value}))  # fmt: skip


def _scores(db: Database, version: catalogue.Version) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(
            select(accreditation_scores, organisations.c.name.label("accreditor"))
            .join(organisations, organisations.c.id == accreditation_scores.c.org_id)
            .where(accreditation_scores.c.version_id == version.id)
            .order_by(accreditation_scores.c.criterion, organisations.c.name)
        ).mappings()
        return [dict(r) for r in rows]


def report(db: Database, ref: str) -> dict[str, Any]:
    """The public accreditation report of APP@VERSION: checks, scores with evidence per
    criterion and dimension, the verdict and the trust score with its formula."""
    version = _version(db, ref)
    framework = criteria.framework()
    rows = _scores(db, version)
    by_criterion: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_criterion.setdefault(row["criterion"], []).append(row)
    means = {cid: mean(r["score"] for r in items) for cid, items in by_criterion.items()}
    latest = latest_round(db, ref)
    results = latest.results if latest else []
    judged = scoring.verdict(framework, means, results)
    with db.read() as conn:
        history = catalogue.decisions(conn, version)
    return {
        "app": version.app_id,
        "version": version.version,
        "publisher": version.publisher,
        "state": version.state.value,
        "framework": {"id": framework.id, "version": framework.version},
        "automated_checks": latest.as_json() if latest else None,
        "criteria": [
            {
                "id": c.id,
                "dimension": c.dimension,
                "question": c.question,
                "norm": c.norm,
                "source": framework.sources[c.source].name,
                "reference": c.reference,
                "score": round(means[c.id], 2) if c.id in means else None,
                "meets_norm": c.id in means and means[c.id] >= c.norm,
                "assessments": [
                    {"accreditor": r["accreditor"], "score": r["score"], "evidence": r["evidence"]}
                    for r in by_criterion.get(c.id, [])
                ],
            }
            for c in framework.criteria
        ],
        "verdict": {"accreditable": judged.accreditable, "reasons": judged.reasons()},
        "trust": {**scoring.trust_score(means, results), "formula": scoring.FORMULA},
        "decisions": history,
    }


def decide(db: Database, principal: Principal, ref: str, outcome: str, reason: str) -> str:
    """The market master's decision: accredited (only when the report allows it; the version
    enters the store) or rejected."""
    authorize(db, principal, Action.update, STORE)
    if outcome not in ("accredited", "rejected"):
        raise InvalidInput("the outcome is accredited or rejected")
    version = _version(db, ref)
    current = report(db, ref)
    if outcome == "accredited" and not current["verdict"]["accreditable"]:
        raise Conflict(
            f"{version.label} cannot be accredited: {'; '.join(current['verdict']['reasons'])}"
        )
    wanted = State.approved if outcome == "accredited" else State.rejected
    trust = current["trust"]["trust"]
    with db.begin() as conn:
        catalogue.move(
            conn, version, wanted, AS_MARKET_MASTER, principal.actor,
            f"{outcome} (trust score {trust}): {reason}",
        )  # fmt: skip
        record(conn, acted(principal, "accreditation.decision", f"app:{version.app_id}",
                           {"version": version.version, "outcome": outcome, "trust": trust,
                            "reason": reason}))  # fmt: skip
    return outcome
