"""The resources check: the run stayed within the memory, time and CPU it declares."""

from __future__ import annotations

from tweeling.apps.manifest import Manifest
from tweeling.apps.runs import RunRecord
from tweeling.apps.sandbox import RunStatus
from tweeling.store.accreditation.checks.base import (
    RESOURCE_STATUSES,
    CheckContext,
    CheckResult,
    Quality,
    run_evidence,
)

NAME = "resources"


def resources(run: RunRecord, manifest: Manifest) -> CheckResult:
    declared = {
        "memory_mb": manifest.resources.memory_mb,
        "max_runtime_s": manifest.resources.max_runtime_s,
        "cpu": manifest.resources.cpu,
    }
    evidence = {"declared": declared, **run_evidence(run)}
    if run.status in RESOURCE_STATUSES:
        return CheckResult(NAME, False, f"beyond its declaration: {run.message}", evidence)
    if run.status != RunStatus.successful:
        return CheckResult(NAME, None, f"not judged: the run ended {run.status}",
                           evidence)  # fmt: skip
    peak = float(run.measured.get("peak_rss_mb", 0.0))
    wall = float(run.measured.get("wall_s", 0.0))
    summary = (
        f"peak {peak:.0f} MB of {declared['memory_mb']} MB declared (plus the runtime), "
        f"{wall:.1f} s of {declared['max_runtime_s']} s"
    )
    return CheckResult(NAME, True, summary, evidence)


class ResourcesCheck:
    name = NAME
    proves = "On the reference twin the app stayed within its declared memory, time and CPU."
    criteria: tuple[str, ...] = ("TEC-5",)
    quality: Quality | None = "reliability"

    def run(self, context: CheckContext) -> CheckResult:
        return resources(context.reference_runs()[0][1], context.manifest)
