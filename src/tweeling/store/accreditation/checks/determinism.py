"""The determinism check: two runs on the same data give the same outputs."""

from __future__ import annotations

from typing import Any

from tweeling.apps.manifest import Manifest
from tweeling.apps.runs import RunRecord
from tweeling.apps.sandbox import RunStatus
from tweeling.store.accreditation.checks.base import CheckContext, CheckResult, Quality

NAME = "determinism"


def determinism(first: RunRecord, second: RunRecord, manifest: Manifest) -> CheckResult:
    """Two runs on the same data hash identically. A stochastic app declares a ``seed``
    parameter: both runs get the same (default) seed, and must then agree too."""
    seed = (manifest.parameters.schema_.get("properties") or {}).get("seed")
    evidence: dict[str, Any] = {
        "first": first.output_hash,
        "second": second.output_hash,
        "run": second.run_id,
        "seed": first.parameters.get("seed") if seed is not None else None,
    }
    if first.status != RunStatus.successful or second.status != RunStatus.successful:
        return CheckResult(NAME, None, "needs two successful runs", evidence)
    under = f" under the declared seed {evidence['seed']}" if seed is not None else ""
    if first.output_hash == second.output_hash:
        return CheckResult(NAME, True, f"two runs gave identical outputs{under}",
                           evidence)  # fmt: skip
    return CheckResult(
        NAME, False, f"two runs on the same data gave different outputs{under}", evidence
    )


class DeterminismCheck:
    name = NAME
    proves = "Two runs on the same reference data (and the same seed) give identical outputs."
    criteria: tuple[str, ...] = ("TEC-4",)
    quality: Quality | None = "reliability"

    def run(self, context: CheckContext) -> CheckResult:
        twin, first = context.reference_runs()[0]
        # a second run only when the first succeeded: otherwise there is nothing to compare
        second = context.run(twin) if first.status == RunStatus.successful else first
        return determinism(first, second, context.manifest)
