"""The accreditation pipeline, step by step, each through the policy point and on the audit
log: the publisher submits a version; the market master runs the automated checks in the
sandbox (again at any time later, as a spot check), optionally opens a beta, and assigns
accreditors without a conflict of interest; they score every criterion with evidence; the
market master decides, and only an approval the report supports goes through. The public
report brings it together, with the previous version's outcome as context; it is read in
``services.accreditation_report`` and offered here too, so callers need one module.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select

from tweeling.access.audit import acted, record
from tweeling.access.identity import OrgKind, Principal, get_organisation
from tweeling.access.policy import Action, Kind, Resource, authorize
from tweeling.access.policy import decide as policy_decide
from tweeling.apps import packages, runs
from tweeling.apps.manifest import parse_manifest
from tweeling.errors import Conflict, InvalidInput, TweelingError
from tweeling.services import reference_runs
from tweeling.services import store as store_service
from tweeling.services.accreditation_report import (
    INTAKE,
    ON_THE_WAY_IN,
    SPOT_CHECK,
    Round,
    latest_round,
    market_master,
    previous,
    queue,
    report,
    rounds_of,
    version_of,
)
from tweeling.services.store import STORE, listing_resource
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import (
    accreditation_assignments,
    accreditation_checks,
    accreditation_scores,
    organisations,
    store_listings,
)
from tweeling.store import catalogue, keys
from tweeling.store.accreditation import checks, criteria
from tweeling.store.accreditation.checks.integrity import NAME as INTEGRITY
from tweeling.store.accreditation.checks.integrity import unverifiable
from tweeling.store.accreditation.criteria import Assessment as Assessment
from tweeling.store.accreditation.criteria import ReviewFile as ReviewFile
from tweeling.store.accreditation.criteria import framework as framework
from tweeling.store.accreditation.criteria import parse_review as parse_review
from tweeling.store.lifecycle import MARKET_MASTER, PIPELINE, PUBLISHER, State

log = logging.getLogger("tweeling.accreditation")

__all__ = [
    "INTAKE", "ON_THE_WAY_IN", "SPOT_CHECK", "Round", "assign", "decide", "desk_report",
    "latest_round", "open_beta", "previous", "queue", "report", "run_checks", "score",
    "score_many", "submit",
]  # fmt: skip


def submit(db: Database, principal: Principal, ref: str, note: str = "") -> catalogue.Version:
    """The publisher submits a draft version for accreditation. A new version of an app
    already assessed re-enters here, and its report carries the previous one as context."""
    version = version_of(db, ref)
    by = MARKET_MASTER if market_master(principal) else PUBLISHER
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
    """Every registered check of one round, in the order of the report."""
    db = runtime.db
    try:
        with db.read() as conn:
            package = packages.load(conn, version.package_id)
    except TweelingError as exc:  # the stored archive no longer matches its hash or signature
        broken = unverifiable(version.content_hash, exc.message)
        return [broken] + [
            checks.CheckResult(check.name, None, "not run: the package does not verify")
            for _, check in checks.CHECKS.items()
            if check.name != INTEGRITY
        ]
    context = reference_runs.RoundContext(
        runtime,
        principal,
        package,
        parse_manifest(version.manifest),
        version.page,
        _registered_keys(db, version),
        samples,
    )
    return [_run_one(check, context) for _, check in checks.CHECKS.items()]


def _run_one(check: checks.Check, context: reference_runs.RoundContext) -> checks.CheckResult:
    """One check's verdict. A check that breaks fails (closed): an accreditation never
    passes because a check could not say no; the report names what went wrong. A refusal
    of the platform's (a TweelingError: the reference data missing, say) stops the round as
    it always did, with its message."""
    try:
        return check.run(context)
    except TweelingError:
        raise
    except Exception as exc:
        log.exception("accreditation check %s broke", check.name)
        why = f"{type(exc).__name__}: {exc}"
        return checks.CheckResult(check.name, False, f"the check could not run: {why}")


def run_checks(runtime: runs.Runtime, principal: Principal, ref: str, samples: Path) -> Round:
    """Run the automated checks on APP@VERSION and put them on record as a new round: on
    the way in, the version moves to ``checks``; later, it is a spot check, and a listed
    version that now fails one is suspended at once (its installations are told)."""
    db = runtime.db
    authorize(db, principal, Action.update, STORE)
    version = version_of(db, ref)
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
        stamp = clock_of(conn).now()
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


def _checks_passed(db: Database, version: catalogue.Version) -> None:
    found = rounds_of(db, version)
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
    version = version_of(db, ref)
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
    version = version_of(db, ref)
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
                    assigned_at=clock_of(conn).now(),
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
    version = version_of(db, ref)
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
                    scored_at=clock_of(conn).now(),
                )
            )
        record(conn, acted(principal, "accreditation.score", f"app:{version.app_id}",
                           {"version": version.version,
                            "scores": {a.criterion: a.score for a in assessments}}))  # fmt: skip
    return len(assessments)


class Decision(StrEnum):
    """The market master's decision on a version that went through accreditation."""

    accredited = "accredited"
    rejected = "rejected"


def public_report(db: Database, principal: Principal, ref: str) -> dict[str, Any]:
    """The accreditation report of APP@VERSION for whoever may see that version (public once
    listed; before that its publisher, beta organisations and the market master). ``report``
    is the pipeline's own unchecked read of it."""
    view = store_service.show(db, principal, ref)  # the policy point (404 for an unseen one)
    return report(db, view.current.label)


def decide(db: Database, principal: Principal, ref: str, outcome: str, reason: str) -> str:
    """The market master's decision: accredited (only when the report allows it; the version
    enters the store) or rejected (at any step on the way in)."""
    authorize(db, principal, Action.update, STORE)
    if outcome not in set(Decision):
        raise InvalidInput(f"the outcome is {' or '.join(Decision)}, not {outcome!r}")
    version = version_of(db, ref)
    current = report(db, ref)
    if outcome == Decision.accredited and not current["verdict"]["accreditable"]:
        raise Conflict(
            f"{version.label} cannot be accredited: {'; '.join(current['verdict']['reasons'])}"
        )
    wanted = State.approved if outcome == Decision.accredited else State.rejected
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


def desk_report(db: Database, principal: Principal, ref: str) -> dict[str, Any]:
    """The report as the accreditation desk shows it, for the market master and for the
    reviewers of an accreditor assigned to the version (who may not read an unlisted version
    otherwise), with who is assigned, who publishes, and whether the caller may score now."""
    version = version_of(db, ref)
    assessment = _assessment(db, principal, version)
    master = market_master(principal)
    if not master:
        authorize(db, principal, Action.read, assessment)
    with db.read() as conn:
        assigned = (
            conn.execute(
                select(organisations.c.name)
                .join(
                    accreditation_assignments,
                    accreditation_assignments.c.org_id == organisations.c.id,
                )
                .where(accreditation_assignments.c.version_id == version.id)
                .order_by(organisations.c.name)
            )
            .scalars()
            .all()
        )
    found = report(db, ref)
    found["assigned"] = list(assigned)
    found["may_score"] = (
        version.state == State.under_review
        and not principal.operator
        and policy_decide(principal, Action.update, assessment).allowed
    )
    found["may_decide"] = master and version.state in ON_THE_WAY_IN
    return found
