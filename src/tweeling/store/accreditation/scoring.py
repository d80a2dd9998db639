"""Scores against the criteria framework, the verdict, and the trust score.

A criterion's score is the mean of its accreditors' scores. A version may be accredited only
when its latest round of automated checks failed nothing and every criterion has a score at
or above its norm.

The trust score (0–100) expresses reliability and traceability, the two qualities the source
documents ask to be scored, each half from accreditors and half from the automated checks
(``formula()``, shown on every report). Unscored criteria count as 0 and checks not run count
as not passed, so an incomplete assessment cannot look better than a complete one.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean

from tweeling.store.accreditation.checks import CHECKS, CheckResult, Quality
from tweeling.store.accreditation.criteria import Framework

# The accreditors' half of each quality: the criteria scored. The checks' half is every
# registered check that declares the quality (``Check.quality``).
RELIABILITY_CRITERIA = ("TEC-2", "TEC-3", "TEC-4", "TEC-5")
TRACEABILITY_CRITERIA = ("TEC-7", "SOC-1", "MAN-1")
# The order the published formula has always named the built-in checks in, so reports read
# as before; a plug-in's check follows them.
_FORMULA_ORDER = ("conformance", "determinism", "robustness", "resources", "reference-cases",
                  "provenance", "integrity")  # fmt: skip


def checks_of(quality: Quality) -> tuple[str, ...]:
    """The registered checks that count towards ``quality``, in the formula's order."""
    found = [check.name for _, check in CHECKS.items() if check.quality == quality]
    ahead = [name for name in _FORMULA_ORDER if name in found]
    return tuple(ahead + [name for name in found if name not in ahead])


def formula() -> str:
    """The trust score's formula as every report shows it."""

    def part(criteria: tuple[str, ...], names: tuple[str, ...]) -> str:
        return (
            f"½·mean(score/5 of {', '.join(criteria)}) + ½·share passed of the checks "
            f"{', '.join(names)}"
        )

    return (
        f"reliability = {part(RELIABILITY_CRITERIA, checks_of('reliability'))}; "
        f"traceability = {part(TRACEABILITY_CRITERIA, checks_of('traceability'))}; "
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
    reliability = _part(RELIABILITY_CRITERIA, checks_of("reliability"), scores, checks)
    traceability = _part(TRACEABILITY_CRITERIA, checks_of("traceability"), scores, checks)
    return {
        "reliability": round(reliability, 3),
        "traceability": round(traceability, 3),
        "trust": round(100 * (reliability + traceability) / 2, 1),
    }
