"""The accreditation pipeline, step by step, each through the policy point and on the audit
log: the publisher submits a version; the market master runs the automated checks in the
sandbox (again at any time later, as a spot check), optionally opens a beta, and assigns
accreditors without a conflict of interest; they score every criterion with evidence; the
market master decides, and only an approval the report supports goes through. The public
report brings it together, with the previous version's outcome as context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from statistics import mean
from typing import Any

import semver
from sqlalchemy import delete, func, insert, select

from tweeling.access.audit import acted, record
from tweeling.access.identity import OrgKind, Principal, get_organisation
from tweeling.access.policy import Action, Kind, Resource, authorize
from tweeling.access.policy import decide as policy_decide
from tweeling.apps import packages, runs
from tweeling.apps.manifest import parse_manifest
from tweeling.errors import Conflict, InvalidInput, TweelingError
from tweeling.services import reference_runs
from tweeling.services.store import STORE, listing_resource
from tweeling.storage.db import Database
from tweeling.storage.schema import (
    accreditation_assignments,
    accreditation_checks,
    accreditation_scores,
    organisations,
    store_listings,
)
from tweeling.store import catalogue, keys
from tweeling.store.accreditation import checks, criteria, scoring
from tweeling.store.lifecycle import LISTED, MARKET_MASTER, PIPELINE, PUBLISHER, State
from tweeling.twin.twins import now

INTAKE = "intake"
SPOT_CHECK = "spot-check"
# The states in which checks are part of the way in; in any later state they are spot checks.
ON_THE_WAY_IN = frozenset({State.submitted, State.checks, State.beta, State.under_review})


@dataclass(frozen=True)
class Round:
    app: str
    version: str
    round: int
    results: list[checks.CheckResult]
    kind: str = INTAKE
    run_by: str = ""
    run_at: datetime | None = None

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
            "kind": self.kind,
            "run_by": self.run_by,
            "run_at": self.run_at.isoformat() if self.run_at else None,
            "passed": self.passed,
            "checks": [r.as_json() for r in self.results],
        }


def _version(db: Database, ref: str) -> catalogue.Version:
    app_id, number = catalogue.parse_ref(ref)
    if number is None:
        raise InvalidInput(f"{ref!r}: name the version (APP@VERSION)")
    with db.read() as conn:
        return catalogue.get_version(conn, app_id, number)


def _market_master(principal: Principal) -> bool:
    return policy_decide(principal, Action.update, STORE).allowed


def submit(db: Database, principal: Principal, ref: str, note: str = "") -> catalogue.Version:
    """The publisher submits a draft version for accreditation. A new version of an app
    already assessed re-enters here, and its report carries the previous one as context."""
    version = _version(db, ref)
    by = MARKET_MASTER if _market_master(principal) else PUBLISHER
    if by == PUBLISHER:
        authorize(db, principal, Action.update, listing_resource(version))
    earlier = previous(db, version)
    reason = "submitted for accreditation"
    if earlier is not None:
        trust = earlier["trust"]
        reason += (
            f"; follows {earlier['version']} ({earlier['state']}"
            + (f", trust score {trust}" if trust is not None else "")
            + "), changed: "
            + (", ".join(earlier["changed"]) or "nothing in the manifest")
        )
    if note.strip():
        reason += f"; {note.strip()}"
    with db.begin() as conn:
        moved = catalogue.move(conn, version, State.submitted, by, principal.actor, reason)
        record(conn, acted(principal, "accreditation.submit", f"app:{version.app_id}",
                           {"version": version.version, "previous": earlier and
                            earlier["version"]}))  # fmt: skip
    return moved


def _registered_keys(db: Database, version: catalogue.Version) -> set[str]:
    with db.read() as conn:
        return keys.valid(conn, version.publisher_org_id)


def _judge(
    runtime: runs.Runtime, principal: Principal, version: catalogue.Version, samples: Path
) -> list[checks.CheckResult]:
    """Every automated check of one round, in the order of the report."""
    db = runtime.db
    try:
        with db.read() as conn:
            package = packages.load(conn, version.package_id)
    except TweelingError as exc:  # the stored archive no longer matches its hash or signature
        evidence = {"content_hash": version.content_hash}
        broken = checks.CheckResult(
            "integrity", False, f"the stored package does not verify: {exc.message}", evidence
        )
        return [broken] + [
            checks.CheckResult(name, None, "not run: the package does not verify")
            for name in criteria.CHECKS
            if name != "integrity"
        ]
    manifest = parse_manifest(version.manifest)
    twins = reference_runs.reference_twins(db, samples)
    results = [checks.integrity(package, _registered_keys(db, version))]
    first = [(twin, reference_runs.run(runtime, principal, package, twin)) for twin in twins]
    delft = first[0][1]
    results += [
        checks.conformance(first),
        checks.sandbox(delft),
        checks.resources(delft, manifest),
    ]
    second = (
        reference_runs.run(runtime, principal, package, twins[0])
        if delft.status == "successful"
        else delft
    )
    results.append(checks.determinism(delft, second, manifest))
    results.append(checks.provenance(delft))
    results.append(checks.privacy(manifest, version.page))
    results.append(checks.licence(manifest, version.page))
    results.append(reference_runs.robustness(runtime, principal, package, manifest))
    results.append(reference_runs.reference_case_check(runtime, principal, package))
    return results


def run_checks(runtime: runs.Runtime, principal: Principal, ref: str, samples: Path) -> Round:
    """Run the automated checks on APP@VERSION and put them on record as a new round: on
    the way in, the version moves to ``checks``; later, it is a spot check, and a listed
    version that now fails one is suspended at once (its installations are told)."""
    db = runtime.db
    authorize(db, principal, Action.update, STORE)
    version = _version(db, ref)
    if version.state == State.draft:
        raise Conflict(f"{version.label} is a draft: its publisher submits it first")
    kind = INTAKE if version.state in ON_THE_WAY_IN else SPOT_CHECK
    results = _judge(runtime, principal, version, samples)
    with db.begin() as conn:
        number = (
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
                    "round": number,
                    "kind": kind,
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
        done = Round(version.app_id, version.version, number, results, kind, principal.actor,
                     stamp)  # fmt: skip
        failed = ", ".join(r.check for r in done.failed) or "none"
        current = catalogue.get_version(conn, version.app_id, version.version)
        if current.state == State.submitted:
            catalogue.move(conn, current, State.checks, PIPELINE, principal.actor,
                           f"automated checks, round {number}: failed {failed}")  # fmt: skip
        elif kind == SPOT_CHECK and done.failed and current.state == State.approved:
            catalogue.move(conn, current, State.suspended, PIPELINE, principal.actor,
                           f"spot check, round {number}: failed {failed}")  # fmt: skip
        record(
            conn,
            acted(
                principal,
                f"accreditation.{'checks' if kind == INTAKE else 'spot-check'}",
                f"app:{version.app_id}",
                {"version": version.version, "round": number,
                 "failed": [r.check for r in done.failed]},
            ),
        )  # fmt: skip
    return done


def _rounds(db: Database, version: catalogue.Version) -> list[Round]:
    with db.read() as conn:
        rows = conn.execute(
            select(accreditation_checks)
            .where(accreditation_checks.c.version_id == version.id)
            .order_by(accreditation_checks.c.round, accreditation_checks.c.id)
        ).all()
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.round, []).append(row)
    return [
        Round(
            version.app_id,
            version.version,
            number,
            [checks.CheckResult(r.check_name, r.passed, r.summary, r.evidence) for r in items],
            items[0].kind,
            items[0].run_by,
            items[0].run_at,
        )
        for number, items in grouped.items()
    ]


def latest_round(db: Database, ref: str) -> Round | None:
    """The newest round of checks of APP@VERSION (public: it is part of the report)."""
    found = _rounds(db, _version(db, ref))
    return found[-1] if found else None


def queue(db: Database, principal: Principal) -> list[dict[str, Any]]:
    """The versions on their way in that the caller has a part in: all of them for the
    market master, those assigned to its organisation for an accreditor, its own for a
    publisher — each with where it stands."""
    master = _market_master(principal)
    framework = criteria.framework()
    with db.read() as conn:
        waiting = catalogue.in_states(conn, ON_THE_WAY_IN)
        assigned_rows = conn.execute(
            select(accreditation_assignments.c.version_id, organisations.c.name, organisations.c.id)
            .join(organisations, organisations.c.id == accreditation_assignments.c.org_id)
            .where(accreditation_assignments.c.version_id.in_([v.id for v in waiting]))
        ).all()
    assigned: dict[int, list[tuple[int, str]]] = {}
    for row in assigned_rows:
        assigned.setdefault(row.version_id, []).append((row.id, row.name))
    mine = principal.org.id
    out = []
    for version in waiting:
        accreditors = assigned.get(version.id, [])
        if not (
            master
            or version.publisher_org_id == mine
            or any(org_id == mine for org_id, _ in accreditors)
        ):
            continue
        rounds = _rounds(db, version)
        means, _ = _means(db, version)
        out.append(
            {
                "app": version.app_id,
                "version": version.version,
                "state": version.state.value,
                "publisher": version.publisher,
                "checks": None
                if not rounds
                else {"round": rounds[-1].round, "failed": [r.check for r in rounds[-1].failed]},
                "accreditors": sorted(name for _, name in accreditors),
                "scored": f"{len(means)}/{len(framework.criteria)}",
                "next": _next_step(version.state, rounds, len(means), len(framework.criteria)),
            }
        )
    return out


def _next_step(state: State, rounds: list[Round], scored: int, criteria_count: int) -> str:
    if state == State.submitted:
        return "the market master runs the automated checks"
    if state in (State.checks, State.beta):
        if rounds and rounds[-1].failed:
            return "the market master rejects it (failed checks)"
        return "the market master assigns accreditors"
    if scored < criteria_count:
        return "the accreditors score every criterion"
    return "the market master decides"


def _checks_passed(db: Database, version: catalogue.Version) -> None:
    found = _rounds(db, version)
    if not found:
        raise Conflict(f"{version.label} has had no automated checks (tweeling accredit checks)")
    if found[-1].failed:
        names = ", ".join(r.check for r in found[-1].failed)
        raise Conflict(
            f"{version.label} failed automated checks ({names}): reject it, or let its "
            "publisher submit a corrected version"
        )


def open_beta(
    db: Database, principal: Principal, ref: str, orgs: list[str], reason: str
) -> catalogue.Version:
    """After passing checks, let named organisations try the version before its review."""
    authorize(db, principal, Action.update, STORE)
    version = _version(db, ref)
    _checks_passed(db, version)
    if not orgs:
        raise InvalidInput("name the organisations admitted to the beta (--org)")
    with db.begin() as conn:
        admitted = [get_organisation(conn, name).id for name in orgs]
        moved = catalogue.move(conn, version, State.beta, PIPELINE, principal.actor, reason)
        catalogue.admit_to_beta(conn, moved, admitted)
        record(conn, acted(principal, "accreditation.beta", f"app:{version.app_id}",
                           {"version": version.version, "organisations": orgs}))  # fmt: skip
    return moved


def assign(db: Database, principal: Principal, ref: str, accreditors: list[str]) -> list[str]:
    """The market master assigns accreditor organisations to a version that passed its
    checks, none with a conflict of interest: not the publisher itself, and not an
    organisation that publishes apps in this store (a competitor). It goes under review."""
    authorize(db, principal, Action.update, STORE)
    version = _version(db, ref)
    if version.state in ON_THE_WAY_IN - {State.under_review}:
        _checks_passed(db, version)
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
        if version.state in (State.checks, State.beta):
            catalogue.move(conn, version, State.under_review, PIPELINE, principal.actor,
                           f"assigned to {', '.join(names)}")  # fmt: skip
        record(conn, acted(principal, "accreditation.assign", f"app:{version.app_id}",
                           {"version": version.version, "accreditors": names}))  # fmt: skip
    return names


def _assessment(db: Database, principal: Principal, version: catalogue.Version) -> Resource:
    """The assessment as the policy point sees it: owned by the caller's organisation when
    that is assigned to the version, else by nobody (and so closed to the caller)."""
    with db.read() as conn:
        assigned = conn.execute(
            select(accreditation_assignments.c.org_id).where(
                accreditation_assignments.c.version_id == version.id,
                accreditation_assignments.c.org_id == principal.org.id,
            )
        ).first()
    owner = principal.org.id if assigned is not None else None
    return Resource(Kind.assessment, f"assessment:{version.label}", owner_org_id=owner)


def score(
    db: Database, principal: Principal, ref: str, criterion: str, value: int, evidence: str
) -> None:
    """An assigned accreditor scores one criterion (0-5) with written evidence."""
    score_many(db, principal, ref, [criteria.Assessment(criterion=criterion, score=value,
                                                        evidence=evidence)])  # fmt: skip


def score_many(
    db: Database,
    principal: Principal,
    ref: str,
    assessments: list[criteria.Assessment],
    framework_version: str | None = None,
) -> int:
    """Scores on several criteria at once (a review file): all recorded, or none."""
    version = _version(db, ref)
    framework = criteria.framework()
    if framework_version is not None and framework_version != framework.version:
        raise InvalidInput(
            f"the scores are for framework {framework_version}; this store assesses against "
            f"{framework.version}"
        )
    known = {c.id for c in framework.criteria}
    for item in assessments:
        if item.criterion not in known:
            raise InvalidInput(f"no criterion {item.criterion!r} in framework {framework.version}")
        if not framework.scale.min <= item.score <= framework.scale.max:
            raise InvalidInput(
                f"{item.criterion}: a score is {framework.scale.min} to {framework.scale.max}"
            )
        if not item.evidence.strip():
            raise InvalidInput(f"{item.criterion}: a score needs written evidence (--evidence)")
    if principal.operator:  # scores carry an accreditor's name: the operator has none
        raise InvalidInput(
            "scores come from a reviewer of an assigned accreditor: act with their token "
            "(TWEELING_TOKEN)"
        )
    authorize(db, principal, Action.update, _assessment(db, principal, version))
    if version.state != State.under_review:
        raise Conflict(f"{version.label} is {version.state.value}, not under review")
    with db.begin() as conn:
        for item in assessments:
            conn.execute(
                delete(accreditation_scores).where(
                    accreditation_scores.c.version_id == version.id,
                    accreditation_scores.c.org_id == principal.org.id,
                    accreditation_scores.c.criterion == item.criterion,
                )
            )
            conn.execute(
                insert(accreditation_scores).values(
                    version_id=version.id,
                    org_id=principal.org.id,
                    framework=framework.version,
                    criterion=item.criterion,
                    score=item.score,
                    evidence=item.evidence,
                    scored_by=principal.actor,
                    scored_at=now(),
                )
            )
        record(conn, acted(principal, "accreditation.score", f"app:{version.app_id}",
                           {"version": version.version,
                            "scores": {a.criterion: a.score for a in assessments}}))  # fmt: skip
    return len(assessments)


def _scores(db: Database, version: catalogue.Version) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(
            select(accreditation_scores, organisations.c.name.label("accreditor"))
            .join(organisations, organisations.c.id == accreditation_scores.c.org_id)
            .where(accreditation_scores.c.version_id == version.id)
            .order_by(accreditation_scores.c.criterion, organisations.c.name)
        ).mappings()
        return [dict(r) for r in rows]


def _means(
    db: Database, version: catalogue.Version
) -> tuple[dict[str, float], dict[str, list[dict[str, Any]]]]:
    by_criterion: dict[str, list[dict[str, Any]]] = {}
    for row in _scores(db, version):
        by_criterion.setdefault(row["criterion"], []).append(row)
    means = {cid: mean(r["score"] for r in items) for cid, items in by_criterion.items()}
    return means, by_criterion


def previous(db: Database, version: catalogue.Version) -> dict[str, Any] | None:
    """The outcome of the newest earlier version that went through accreditation, and
    which parts of the manifest changed since — the context a resubmission is judged in."""
    with db.read() as conn:
        found = catalogue.versions(conn, version.app_id)
    mine = semver.Version.parse(version.version)
    earlier = [
        v for v in found if semver.Version.parse(v.version) < mine and v.state not in (State.draft,)
    ]
    for candidate in earlier:  # newest first
        rounds = _rounds(db, candidate)
        means, _ = _means(db, candidate)
        if not rounds and not means:
            continue
        results = rounds[-1].results if rounds else []
        framework = criteria.framework()
        judged = scoring.verdict(framework, means, results)
        changed = sorted(
            key
            for key in set(candidate.manifest) | set(version.manifest)
            if key != "version" and candidate.manifest.get(key) != version.manifest.get(key)
        )
        return {
            "version": candidate.version,
            "state": candidate.state.value,
            "trust": scoring.trust_score(means, results)["trust"] if rounds else None,
            "failed_checks": [r.check for r in results if r.passed is False],
            "reasons": judged.reasons(),
            "changed": changed,
        }
    return None


def _measured(rounds: list[Round]) -> dict[str, Any] | None:
    """The resources measured in the newest round (shown on the product page)."""
    for done in reversed(rounds):
        for result in done.results:
            if result.check == "resources" and result.evidence.get("measured"):
                measured = result.evidence["measured"]
                return {
                    "peak_memory_mb": measured.get("peak_rss_mb"),
                    "runtime_s": measured.get("wall_s"),
                    "declared": result.evidence.get("declared"),
                    "twin": reference_runs.DELFT,
                    "round": done.round,
                }
    return None


def report(db: Database, ref: str) -> dict[str, Any]:
    """The public accreditation report of APP@VERSION: checks (every round, spot checks
    included), scores with evidence per criterion and dimension, the verdict, the trust
    score with its formula, and the previous version's outcome as context."""
    version = _version(db, ref)
    framework = criteria.framework()
    means, by_criterion = _means(db, version)
    rounds = _rounds(db, version)
    latest = rounds[-1] if rounds else None
    results = latest.results if latest else []
    judged = scoring.verdict(framework, means, results)
    with db.read() as conn:
        history = catalogue.decisions(conn, version)
    return {
        "app": version.app_id,
        "version": version.version,
        "publisher": version.publisher,
        "state": version.state.value,
        "accredited": version.state in LISTED,
        "framework": {"id": framework.id, "version": framework.version},
        "automated_checks": latest.as_json() if latest else None,
        "rounds": [
            {
                "round": r.round,
                "kind": r.kind,
                "run_by": r.run_by,
                "run_at": r.run_at.isoformat() if r.run_at else None,
                "passed": r.passed,
                "failed": [f.check for f in r.failed],
            }
            for r in rounds
        ],
        "measured": _measured(rounds),
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
        "previous": previous(db, version),
        "decisions": history,
    }


def decide(db: Database, principal: Principal, ref: str, outcome: str, reason: str) -> str:
    """The market master's decision: accredited (only when the report allows it; the version
    enters the store) or rejected (at any step on the way in)."""
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
            conn, version, wanted, PIPELINE, principal.actor,
            f"{outcome} (trust score {trust}): {reason}",
        )  # fmt: skip
        record(conn, acted(principal, "accreditation.decision", f"app:{version.app_id}",
                           {"version": version.version, "outcome": outcome, "trust": trust,
                            "reason": reason}))  # fmt: skip
    return outcome
