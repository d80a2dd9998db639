"""The integrity check: the package is what its publisher signed."""

from __future__ import annotations

from typing import Any

from tweeling.apps.packages import Package, read
from tweeling.errors import TweelingError
from tweeling.store.accreditation.checks.base import CheckContext, CheckResult, Quality

NAME = "integrity"


def integrity(package: Package, registered_keys: set[str]) -> CheckResult:
    """Signed by one of the publisher's registered keys, the content hash and signature
    verify, the manifest is valid."""
    evidence: dict[str, Any] = {"content_hash": package.content_hash}
    if package.signature is None:
        return CheckResult(NAME, False, "the package is not signed", evidence)
    try:
        again = read(package.archive, "the submitted package")  # re-verifies hash and signature
    except TweelingError as exc:
        return CheckResult(NAME, False, f"the package does not verify: {exc}", evidence)
    key = (again.signature or {}).get("public_key")
    evidence["public_key"] = key
    if key not in registered_keys:
        return CheckResult(
            NAME,
            False,
            "signed with a key the publisher has not registered",
            evidence,
        )
    return CheckResult(NAME, True, "signature and content hash verify", evidence)


def unverifiable(content_hash: str, why: str) -> CheckResult:
    """The stored archive no longer matches its hash or signature: no other check runs."""
    evidence = {"content_hash": content_hash}
    return CheckResult(NAME, False, f"the stored package does not verify: {why}", evidence)


class IntegrityCheck:
    name = NAME
    proves = "The package is the one its publisher signed with a registered key, unaltered."
    criteria: tuple[str, ...] = ("TEC-1",)
    quality: Quality | None = "traceability"

    def run(self, context: CheckContext) -> CheckResult:
        return integrity(context.package, context.registered_keys)
