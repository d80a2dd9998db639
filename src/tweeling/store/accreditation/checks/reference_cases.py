"""The reference-cases check: the publisher's own cases give their expected values."""

from __future__ import annotations

from typing import Any

from tweeling.apps.sandbox import RunStatus
from tweeling.errors import InvalidInput, TweelingError
from tweeling.store.accreditation import cases as reference_cases
from tweeling.store.accreditation.checks.base import CheckContext, CheckResult, Quality, elsewhere

NAME = "reference-cases"


def reference_case_check(context: CheckContext) -> CheckResult:
    """Run the publisher's reference cases in the sandbox and compare with their expected
    values; an app without any fails (it offers no way to check its own claims)."""
    try:
        found, data = reference_cases.load(context.package)
    except InvalidInput as exc:
        return CheckResult(NAME, False, exc.message)
    if found is None:
        return CheckResult(
            NAME,
            False,
            f"the package has no reference cases ({reference_cases.CASES_FILE})",
        )
    evidence: dict[str, Any] = {"cases": []}
    failures: list[str] = []
    skipped: list[str] = []
    for case in found.case:
        item: dict[str, Any] = {"name": case.name, "source": case.source, "data": case.data}
        try:
            twin = context.case_twin(case.data, data[case.data])
            done = context.run(twin, parameters=case.parameters)
        except TweelingError as exc:
            item.update(ok=False, why=exc.message)
            failures.append(f"{case.name}: {exc.message}")
            evidence["cases"].append(item)
            continue
        item.update(run=done.run_id, status=done.status)
        unjudged = elsewhere(done.status, NAME)
        if unjudged:
            item.update(ok=None, why=unjudged)
            skipped.append(f"{case.name}: {unjudged}")
        elif done.status != RunStatus.successful:
            item.update(ok=False, why=f"the run ended {done.status}: {done.message}")
            failures.append(f"{case.name}: the run ended {done.status}: {done.message}")
        else:
            compared = [reference_cases.compare(e, done.outputs) for e in case.expect]
            wrong = [c for c in compared if not c["ok"]]
            item.update(ok=not wrong, values=compared)
            failures += [f"{case.name}: {c['output']} {c['why']}" for c in wrong]
        evidence["cases"].append(item)
    if failures:
        return CheckResult(NAME, False, "expected values not met: " + "; ".join(failures), evidence)
    if skipped:
        return CheckResult(NAME, None, "; ".join(skipped), evidence)
    values = sum(len(c.expect) for c in found.case)
    return CheckResult(
        NAME,
        True,
        f"{len(found.case)} case(s), {values} expected value(s) within their tolerances",
        evidence,
    )


class ReferenceCasesCheck:
    name = NAME
    proves = (
        "The publisher's own reference cases, run in the sandbox, give their expected values "
        "within the stated tolerances."
    )
    criteria: tuple[str, ...] = ("TEC-3",)
    quality: Quality | None = "reliability"

    def run(self, context: CheckContext) -> CheckResult:
        return reference_case_check(context)
