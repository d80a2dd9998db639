"""Reading the accreditation's record: the rounds of checks, the scores, the public report
with its verdict and trust score, the previous version as context, and the work queue. The
steps that write it are in ``services.accreditation``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import mean
from typing import Any

import semver
from sqlalchemy import select

from tweeling.access.identity import Principal
from tweeling.access.policy import Action
from tweeling.access.policy import decide as policy_decide
from tweeling.errors import InvalidInput
from tweeling.services import reference_runs
from tweeling.services.store import STORE
from tweeling.storage.db import Database
from tweeling.storage.schema import (
    accreditation_assignments,
    accreditation_checks,
    accreditation_scores,
    organisations,
)
from tweeling.store import catalogue
from tweeling.store.accreditation import checks, criteria, scoring
from tweeling.store.accreditation.checks.resources import NAME as RESOURCES
from tweeling.store.lifecycle import LISTED, State

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


def version_of(db: Database, ref: str) -> catalogue.Version:
    app_id, number = catalogue.parse_ref(ref)
    if number is None:
        raise InvalidInput(f"{ref!r}: name the version (APP@VERSION)")
    with db.read() as conn:
        return catalogue.get_version(conn, app_id, number)


def market_master(principal: Principal) -> bool:
    return policy_decide(principal, Action.update, STORE).allowed


def rounds_of(db: Database, version: catalogue.Version) -> list[Round]:
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
    found = rounds_of(db, version_of(db, ref))
    return found[-1] if found else None


def queue(db: Database, principal: Principal) -> list[dict[str, Any]]:
    """The versions on their way in that the caller has a part in: all of them for the
    market master, those assigned to its organisation for an accreditor, its own for a
    publisher — each with where it stands."""
    master = market_master(principal)
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
        rounds = rounds_of(db, version)
        means, _ = means_of(db, version)
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


def _scores(db: Database, version: catalogue.Version) -> list[dict[str, Any]]:
    with db.read() as conn:
        rows = conn.execute(
            select(accreditation_scores, organisations.c.name.label("accreditor"))
            .join(organisations, organisations.c.id == accreditation_scores.c.org_id)
            .where(accreditation_scores.c.version_id == version.id)
            .order_by(accreditation_scores.c.criterion, organisations.c.name)
        ).mappings()
        return [dict(r) for r in rows]


def means_of(
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
        rounds = rounds_of(db, candidate)
        means, _ = means_of(db, candidate)
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
            if result.check == RESOURCES and result.evidence.get("measured"):
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
    version = version_of(db, ref)
    framework = criteria.framework()
    means, by_criterion = means_of(db, version)
    rounds = rounds_of(db, version)
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
        "trust": {**scoring.trust_score(means, results), "formula": scoring.formula()},
        "previous": previous(db, version),
        "decisions": history,
    }
