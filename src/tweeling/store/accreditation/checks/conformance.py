"""The conformance check: the app runs on every reference twin and keeps to its manifest."""

from __future__ import annotations

from tweeling.apps.runs import RunRecord
from tweeling.apps.sandbox import RunStatus
from tweeling.store.accreditation.checks.base import (
    CheckContext,
    CheckResult,
    Quality,
    elsewhere,
    run_evidence,
)

NAME = "conformance"


def conformance(runs: list[tuple[str, RunRecord]]) -> CheckResult:
    """Every reference twin ran to a successful end, and the outputs matched the manifest
    (the platform checks names, types, units' ranges and objects after each run)."""
    evidence = {twin: run_evidence(run) for twin, run in runs}
    for twin, run in runs:
        message = run.message or ""
        if run.status == RunStatus.successful:
            continue
        unjudged = elsewhere(run.status, NAME)
        if unjudged:
            return CheckResult(NAME, None, f"{unjudged} on {twin}", evidence)
        if run.status == RunStatus.invalid_output:
            reason = f"outputs do not match the manifest on {twin}: {message}"
        elif "no input layer" in message or "has no attribute" in message:
            reason = f"reads data it does not declare: {message}"
        else:
            reason = f"the run on {twin} ended {run.status}: {message}"
        return CheckResult(NAME, False, reason, evidence)
    twins = " and ".join(twin for twin, _ in runs)
    return CheckResult(
        NAME,
        True,
        f"ran on {twins}; outputs match the declared names, types and ranges",
        evidence,
    )


class ConformanceCheck:
    name = NAME
    proves = (
        "The app runs to a successful end on every reference twin, reads only what it "
        "declares, and its outputs match the manifest's names, types and ranges."
    )
    criteria: tuple[str, ...] = ("TEC-2",)
    quality: Quality | None = "reliability"

    def run(self, context: CheckContext) -> CheckResult:
        return conformance(context.reference_runs())
