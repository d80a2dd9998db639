"""The provenance check: the run's W3C PROV record is complete."""

from __future__ import annotations

from tweeling.apps.provenance import load_json
from tweeling.apps.runs import RunRecord
from tweeling.apps.sandbox import RunStatus
from tweeling.store.accreditation.checks.base import CheckContext, CheckResult, Quality

NAME = "provenance"


def provenance(run: RunRecord) -> CheckResult:
    if run.status != RunStatus.successful:
        return CheckResult(NAME, None, f"not judged: the run ended {run.status}",
                           {"run": run.run_id})  # fmt: skip
    if run.prov is None:
        return CheckResult(NAME, False, "the run has no PROV record", {"run": run.run_id})
    document = load_json(run.prov)
    kinds = {type(r).__name__ for r in document.get_records()}
    needed = {"ProvActivity", "ProvAgent", "ProvEntity", "ProvUsage", "ProvGeneration"}
    missing = sorted(needed - kinds)
    evidence = {"run": run.run_id, "records": sorted(kinds)}
    if missing:
        return CheckResult(NAME, False, f"PROV lacks {', '.join(missing)}", evidence)
    return CheckResult(NAME, True, "complete W3C PROV (prov reads it)", evidence)


class ProvenanceCheck:
    name = NAME
    proves = "A run's W3C PROV record names its activity, agent, inputs used and outputs made."
    criteria: tuple[str, ...] = ("TEC-7",)
    quality: Quality | None = "traceability"

    def run(self, context: CheckContext) -> CheckResult:
        return provenance(context.reference_runs()[0][1])
