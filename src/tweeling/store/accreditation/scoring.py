"""Scores against the criteria framework, the verdict, and the trust score.

A criterion's score is the mean of its accreditors' scores. A version may be accredited only
when its latest round of automated checks failed nothing and every criterion has a score at
or above its norm.

The trust score (0–100) expresses reliability and traceability, the two qualities the source
documents ask to be scored, each half from accreditors and half from the automated checks
(``FORMULA``, shown on every report). Unscored criteria count as 0 and checks not run count
as not passed, so an incomplete assessment cannot look better than a complete one.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean

from tweeling.store.accreditation.checks import CheckResult
from tweeling.store.accreditation.criteria import Framework

RELIABILITY = (
    ("TEC-2", "TEC-3", "TEC-4", "TEC-5"),
    ("conformance", "determinism", "robustness", "resources", "reference-cases"),
)
TRACEABILITY = (("TEC-7", "SOC-1", "MAN-1"), ("provenance", "integrity"))
FORMULA = (
    "reliability = ½·mean(score/5 of TEC-2, TEC-3, TEC-4, TEC-5) + ½·share passed of the "
    "checks conformance, determinism, robustness, resources, reference-cases; "
    "traceability = ½·mean(score/5 of TEC-7, SOC-1, MAN-1) + ½·share passed of the checks "
    "provenance, integrity; "
    "trust = 100·(reliability + traceability)/2"
)


@dataclass(frozen=True)
class Verdict:
    unscored: list[str]
    below_norm: list[str]
    failed_checks: list[str]

    @property
    def accreditable(self) -> bool:
        return not (self.unscored or self.below_norm or self.failed_checks)

    def reasons(self) -> list[str]:
        out = []
        if self.failed_checks:
            out.append(f"automated checks failed: {', '.join(self.failed_checks)}")
        if self.unscored:
            out.append(f"criteria not scored: {', '.join(self.unscored)}")
        if self.below_norm:
            out.append(f"criteria below their norm: {', '.join(self.below_norm)}")
        return out


def verdict(framework: Framework, scores: dict[str, float], checks: list[CheckResult]) -> Verdict:
    unscored = [c.id for c in framework.criteria if c.id not in scores]
    below = [c.id for c in framework.criteria if c.id in scores and scores[c.id] < c.norm]
    failed = [r.check for r in checks if r.passed is False]
    if not checks:
        failed = ["(no automated checks run)"]
    return Verdict(unscored, below, failed)


def _part(criteria: tuple[str, ...], names: tuple[str, ...], scores: dict[str, float],
          checks: list[CheckResult]) -> float:  # fmt: skip
    scored = mean(scores.get(c, 0.0) / 5 for c in criteria)
    by_name = {r.check: r.passed for r in checks}
    passed = sum(1 for n in names if by_name.get(n) is True) / len(names)
    return 0.5 * scored + 0.5 * passed


def trust_score(scores: dict[str, float], checks: list[CheckResult]) -> dict[str, float]:
    reliability = _part(*RELIABILITY, scores, checks)
    traceability = _part(*TRACEABILITY, scores, checks)
    return {
        "reliability": round(reliability, 3),
        "traceability": round(traceability, 3),
        "trust": round(100 * (reliability + traceability) / 2, 1),
    }
