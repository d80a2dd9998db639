"""The automated intake checks: each turns what the platform measured about a version — its
package, and its runs in the sandbox on the reference twins — into a verdict with evidence.

One module per check (``integrity.py``, ``conformance.py``, …), each a :class:`Check`
registered in ``CHECKS`` in the order reports show them. The pipeline
(``services.accreditation``) runs every registered check, the report and the scoring read
their names and qualities from here, and the criteria framework may cite any of them. A
third party adds one from its own package through the ``tweeling.checks`` entry-point
group; it runs after the built-ins.
"""

from __future__ import annotations

from tweeling.plugins import Registry
from tweeling.store.accreditation.checks.base import (
    OWNER,
    RESOURCE_STATUSES,
    SANDBOX_STATUSES,
    Check,
    CheckContext,
    CheckResult,
    Quality,
    elsewhere,
    run_evidence,
)
from tweeling.store.accreditation.checks.conformance import ConformanceCheck, conformance
from tweeling.store.accreditation.checks.determinism import DeterminismCheck, determinism
from tweeling.store.accreditation.checks.integrity import IntegrityCheck, integrity
from tweeling.store.accreditation.checks.licence import BUSINESS_MODELS, LicenceCheck, licence
from tweeling.store.accreditation.checks.privacy import PrivacyCheck, privacy
from tweeling.store.accreditation.checks.provenance import ProvenanceCheck, provenance
from tweeling.store.accreditation.checks.reference_cases import ReferenceCasesCheck
from tweeling.store.accreditation.checks.resources import ResourcesCheck, resources
from tweeling.store.accreditation.checks.robustness import RobustnessCheck
from tweeling.store.accreditation.checks.sandbox import SandboxCheck, sandbox

__all__ = [
    "BUILTIN_NAMES", "BUSINESS_MODELS", "CHECKS", "OWNER", "RESOURCE_STATUSES",
    "SANDBOX_STATUSES", "Check", "CheckContext", "CheckResult", "Quality", "conformance",
    "determinism", "elsewhere", "integrity", "licence", "names", "privacy", "provenance",
    "resources", "run_evidence", "sandbox",
]  # fmt: skip


def _is_check(item: object) -> bool:
    return callable(getattr(item, "run", None)) and all(
        isinstance(getattr(item, attribute, None), str) for attribute in ("name", "proves")
    )


CHECKS: Registry[Check] = Registry("tweeling.checks", "accreditation check", _is_check)
_BUILTINS: tuple[Check, ...] = (
    IntegrityCheck(), ConformanceCheck(), SandboxCheck(), ResourcesCheck(), DeterminismCheck(),
    ProvenanceCheck(), PrivacyCheck(), LicenceCheck(), RobustnessCheck(), ReferenceCasesCheck(),
)  # fmt: skip
for _check in _BUILTINS:
    CHECKS.register(_check.name, _check)
# The platform's own checks by name (no plug-ins: reading this scans no entry points).
BUILTIN_NAMES: tuple[str, ...] = tuple(check.name for check in _BUILTINS)


def names() -> list[str]:
    """Every registered check's name, in the order of the report."""
    return CHECKS.names()
