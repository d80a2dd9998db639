"""The robustness check: degraded inputs give a clear error or flagged results."""

from __future__ import annotations

from tweeling.apps.sandbox import RunStatus
from tweeling.store.accreditation.checks.base import CheckContext, CheckResult, Quality, elsewhere
from tweeling.twin.model import CityObject
from tweeling.twin.scenarios import Changes

NAME = "robustness"


def robustness(context: CheckContext) -> CheckResult:
    """Degraded inputs — declared attributes missing, the first layer empty — must give a
    clear error (AppError) or flagged results, never a crash or invalid output."""
    manifest = context.manifest
    spec = manifest.inputs.layers[0] if manifest.inputs.layers else None
    if spec is None:
        return CheckResult(NAME, True, "reads no layers: nothing to degrade")
    twin = context.reference_twins()[0]
    objects = [
        (oid, otype)
        for oid, otype in context.objects(twin, spec.layer)
        if not spec.object_types or otype in spec.object_types
    ]
    cases = {
        "empty layer": context.degraded(
            twin,
            f"degraded-empty-{spec.layer}",
            Changes(delete=[oid for oid, _ in objects]),
            f"accreditation: layer {spec.layer} emptied",
        )
    }
    if spec.attributes:
        blank = dict.fromkeys(spec.attributes)
        cases["missing attributes"] = context.degraded(
            twin,
            "degraded-" + "-".join(sorted(spec.attributes))[:40],
            Changes(
                modify=[CityObject(id=oid, type=otype, attributes=blank) for oid, otype in objects]
            ),
            f"accreditation: {', '.join(spec.attributes)} removed from {spec.layer}",
        )
    outcomes = {}
    for case, scenario in cases.items():
        done = context.run(twin, scenario)
        outcomes[case] = {"status": done.status, "message": done.message, "run": done.run_id}
        if done.status in (RunStatus.successful, RunStatus.failed):  # results, or a clear AppError
            continue
        unjudged = elsewhere(done.status, NAME)
        if unjudged and done.status != RunStatus.invalid_output:  # nonsense on bad data is ours
            return CheckResult(NAME, None, f"{unjudged} on {case}", outcomes)
        return CheckResult(NAME, False, f"{done.status} on {case}: {done.message}",
                           outcomes)  # fmt: skip
    return CheckResult(
        NAME,
        True,
        "; ".join(f"{case}: {o['status']}" for case, o in outcomes.items()),
        outcomes,
    )


class RobustnessCheck:
    name = NAME
    proves = (
        "With its first layer emptied or its declared attributes missing, the app gives a "
        "clear error or flagged results, never a crash or invalid output."
    )
    criteria: tuple[str, ...] = ("TEC-4",)
    quality: Quality | None = "reliability"

    def run(self, context: CheckContext) -> CheckResult:
        return robustness(context)
