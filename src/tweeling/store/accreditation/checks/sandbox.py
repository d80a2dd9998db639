"""The sandbox check: the run stayed inside the OS sandbox."""

from __future__ import annotations

from tweeling.apps.runs import RunRecord
from tweeling.store.accreditation.checks.base import (
    SANDBOX_STATUSES,
    CheckContext,
    CheckResult,
    Quality,
    run_evidence,
)

NAME = "sandbox"


def sandbox(run: RunRecord) -> CheckResult:
    if run.status in SANDBOX_STATUSES:
        return CheckResult(NAME, False, run.message or "sandbox breach", run_evidence(run))
    if "unsandboxed" in run.flags:
        return CheckResult(NAME, None, "the run was made without the OS sandbox", run_evidence(run))
    return CheckResult(
        NAME, True, "no network, no processes, no writes outside its work directory",
        run_evidence(run),
    )  # fmt: skip


class SandboxCheck:
    name = NAME
    proves = (
        "On the reference twin the app used no network, started no processes and wrote "
        "nothing outside its work directory."
    )
    criteria: tuple[str, ...] = ("TEC-6",)
    quality: Quality | None = None

    def run(self, context: CheckContext) -> CheckResult:
        return sandbox(context.reference_runs()[0][1])
