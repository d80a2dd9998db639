"""The automated intake checks: each turns what the platform measured about a version — its
package, and its runs in the sandbox on a reference twin — into a verdict with evidence.

The runs themselves are made by ``services.accreditation``; here only the judging, so each
rule reads plainly: what passes, what fails, and the reason given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from license_expression import ExpressionError, get_spdx_licensing

from tweeling.apps.manifest import Manifest
from tweeling.apps.packages import Package, read
from tweeling.apps.provenance import load_json
from tweeling.apps.runs import RunRecord
from tweeling.apps.sandbox import RunStatus
from tweeling.errors import TweelingError
from tweeling.store.pages import PriceModel, ProductPage

SANDBOX_STATUSES = {RunStatus.sandbox_violation}
RESOURCE_STATUSES = {RunStatus.memory_limit, RunStatus.timeout, RunStatus.cpu_limit}
# Which check answers for a run that ended this way. Every other check leaves such a run
# unjudged (passed None), so a report names each problem once, under its own check.
OWNER: dict[str, str] = {
    **dict.fromkeys(SANDBOX_STATUSES, "sandbox"),
    **dict.fromkeys(RESOURCE_STATUSES, "resources"),
    RunStatus.invalid_output: "conformance",
}


def elsewhere(status: str, check: str) -> str | None:
    """Why ``check`` does not judge a run that ended ``status`` (None: it does)."""
    owner = OWNER.get(status)
    if owner is None or owner == check:
        return None
    return f"not judged: the run ended {status} (see the {owner} check)"


BUSINESS_MODELS = set(PriceModel.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool | None  # None: not run (yet), with the reason in the summary
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def integrity(package: Package, registered_keys: set[str]) -> CheckResult:
    """Signed by one of the publisher's registered keys, the content hash and signature
    verify, the manifest is valid."""
    evidence: dict[str, Any] = {"content_hash": package.content_hash}
    if package.signature is None:
        return CheckResult("integrity", False, "the package is not signed", evidence)
    try:
        again = read(package.archive, "the submitted package")  # re-verifies hash and signature
    except TweelingError as exc:
        return CheckResult("integrity", False, f"the package does not verify: {exc}", evidence)
    key = (again.signature or {}).get("public_key")
    evidence["public_key"] = key
    if key not in registered_keys:
        return CheckResult(
            "integrity",
            False,
            "signed with a key the publisher has not registered",
            evidence,
        )
    return CheckResult("integrity", True, "signature and content hash verify", evidence)


def _run_evidence(run: RunRecord) -> dict[str, Any]:
    return {
        "run": run.run_id,
        "status": run.status,
        "message": run.message,
        "measured": run.measured,
        "flags": run.flags,
        "output_hash": run.output_hash,
    }


def conformance(runs: list[tuple[str, RunRecord]]) -> CheckResult:
    """Every reference twin ran to a successful end, and the outputs matched the manifest
    (the platform checks names, types, units' ranges and objects after each run)."""
    evidence = {twin: _run_evidence(run) for twin, run in runs}
    for twin, run in runs:
        message = run.message or ""
        if run.status == RunStatus.successful:
            continue
        unjudged = elsewhere(run.status, "conformance")
        if unjudged:
            return CheckResult("conformance", None, f"{unjudged} on {twin}", evidence)
        if run.status == RunStatus.invalid_output:
            reason = f"outputs do not match the manifest on {twin}: {message}"
        elif "no input layer" in message or "has no attribute" in message:
            reason = f"reads data it does not declare: {message}"
        else:
            reason = f"the run on {twin} ended {run.status}: {message}"
        return CheckResult("conformance", False, reason, evidence)
    twins = " and ".join(twin for twin, _ in runs)
    return CheckResult(
        "conformance",
        True,
        f"ran on {twins}; outputs match the declared names, types and ranges",
        evidence,
    )


def sandbox(run: RunRecord) -> CheckResult:
    if run.status in SANDBOX_STATUSES:
        return CheckResult("sandbox", False, run.message or "sandbox breach", _run_evidence(run))
    if "unsandboxed" in run.flags:
        return CheckResult(
            "sandbox", None, "the run was made without the OS sandbox", _run_evidence(run)
        )
    return CheckResult(
        "sandbox", True, "no network, no processes, no writes outside its work directory",
        _run_evidence(run),
    )  # fmt: skip


def resources(run: RunRecord, manifest: Manifest) -> CheckResult:
    declared = {
        "memory_mb": manifest.resources.memory_mb,
        "max_runtime_s": manifest.resources.max_runtime_s,
        "cpu": manifest.resources.cpu,
    }
    evidence = {"declared": declared, **_run_evidence(run)}
    if run.status in RESOURCE_STATUSES:
        return CheckResult("resources", False, f"beyond its declaration: {run.message}", evidence)
    if run.status != RunStatus.successful:
        return CheckResult("resources", None, f"not judged: the run ended {run.status}",
                           evidence)  # fmt: skip
    peak = float(run.measured.get("peak_rss_mb", 0.0))
    wall = float(run.measured.get("wall_s", 0.0))
    summary = (
        f"peak {peak:.0f} MB of {declared['memory_mb']} MB declared (plus the runtime), "
        f"{wall:.1f} s of {declared['max_runtime_s']} s"
    )
    return CheckResult("resources", True, summary, evidence)


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
        return CheckResult("determinism", None, "needs two successful runs", evidence)
    under = f" under the declared seed {evidence['seed']}" if seed is not None else ""
    if first.output_hash == second.output_hash:
        return CheckResult("determinism", True, f"two runs gave identical outputs{under}",
                           evidence)  # fmt: skip
    return CheckResult(
        "determinism", False, f"two runs on the same data gave different outputs{under}", evidence
    )


def provenance(run: RunRecord) -> CheckResult:
    if run.status != RunStatus.successful:
        return CheckResult("provenance", None, f"not judged: the run ended {run.status}",
                           {"run": run.run_id})  # fmt: skip
    if run.prov is None:
        return CheckResult("provenance", False, "the run has no PROV record", {"run": run.run_id})
    document = load_json(run.prov)
    kinds = {type(r).__name__ for r in document.get_records()}
    needed = {"ProvActivity", "ProvAgent", "ProvEntity", "ProvUsage", "ProvGeneration"}
    missing = sorted(needed - kinds)
    evidence = {"run": run.run_id, "records": sorted(kinds)}
    if missing:
        return CheckResult("provenance", False, f"PROV lacks {', '.join(missing)}", evidence)
    return CheckResult("provenance", True, "complete W3C PROV (prov reads it)", evidence)


def privacy(manifest: Manifest, page: ProductPage) -> CheckResult:
    """Personal data only with a privacy statement and a lawful basis. Data minimisation is
    the platform's: an app receives only the layers, object types and attributes it declares
    (``apps.inputs``), so the evidence lists exactly what it can read."""
    reads = {
        spec.layer: {"object_types": spec.object_types, "attributes": spec.attributes}
        for spec in manifest.inputs.layers
    }
    evidence = {
        "personal_data": manifest.personal_data,
        "reads": reads,
        "lawful_basis": page.privacy.lawful_basis,
    }
    if manifest.personal_data and not (page.privacy.statement and page.privacy.lawful_basis):
        return CheckResult(
            "privacy", False, "processes personal data without a privacy statement", evidence
        )
    what = "personal data with a lawful basis" if manifest.personal_data else "no personal data"
    attributes = sum(len(spec.attributes) for spec in manifest.inputs.layers)
    return CheckResult(
        "privacy",
        True,
        f"{what}; receives only its {len(reads)} declared layer(s) and {attributes} declared "
        "attribute(s) (platform-enforced)",
        evidence,
    )


def licence(manifest: Manifest, page: ProductPage) -> CheckResult:
    evidence = {"licence": manifest.licence, "business_model": page.price.model}
    try:
        get_spdx_licensing().parse(manifest.licence, validate=True)
    except ExpressionError as exc:
        return CheckResult("licence", False, f"not an SPDX licence expression: {exc}", evidence)
    if page.price.model not in BUSINESS_MODELS:
        return CheckResult("licence", False, "business model outside the allowed set", evidence)
    return CheckResult(
        "licence", True, f"{manifest.licence}, business model {page.price.model}", evidence
    )
