"""What every accreditation check shares: the :class:`Check` protocol, the
:class:`CheckContext` a round gives it, the :class:`CheckResult` it gives back, and which
check answers for a run that ended badly.

The checks judge; they do not make runs or twins themselves. The round's context (made by
``services.reference_runs``) makes the sandboxed runs on the reference twins once and hands
them to every check that asks, so a check module needs nothing above ``store``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from tweeling.apps.manifest import Manifest
from tweeling.apps.packages import Package
from tweeling.apps.runs import RunRecord
from tweeling.store.pages import ProductPage
from tweeling.twin.scenarios import Changes

SANDBOX_STATUSES = {"sandbox-violation"}
RESOURCE_STATUSES = {"memory-limit", "timeout", "cpu-limit"}
# Which check answers for a run that ended this way. Every other check leaves such a run
# unjudged (passed None), so a report names each problem once, under its own check.
OWNER = {
    **dict.fromkeys(SANDBOX_STATUSES, "sandbox"),
    **dict.fromkeys(RESOURCE_STATUSES, "resources"),
    "invalid-output": "conformance",
}

# The two qualities the trust score expresses (store.accreditation.scoring).
Quality = Literal["reliability", "traceability"]


def elsewhere(status: str, check: str) -> str | None:
    """Why ``check`` does not judge a run that ended ``status`` (None: it does)."""
    owner = OWNER.get(status)
    if owner is None or owner == check:
        return None
    return f"not judged: the run ended {status} (see the {owner} check)"


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool | None  # None: not run (yet), with the reason in the summary
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_evidence(run: RunRecord) -> dict[str, Any]:
    """What a report shows of one sandboxed run."""
    return {
        "run": run.run_id,
        "status": run.status,
        "message": run.message,
        "measured": run.measured,
        "flags": run.flags,
        "output_hash": run.output_hash,
    }


class CheckContext(Protocol):
    """What a round of checks offers each check about the version under assessment."""

    package: Package  # verified: its content hash and signature held when the round began
    manifest: Manifest
    page: ProductPage
    registered_keys: set[str]  # the publisher's valid signing keys

    def reference_twins(self) -> list[str]:
        """The reference twins (Delft first), imported on first use."""

    def reference_runs(self) -> list[tuple[str, RunRecord]]:
        """One run on each reference twin (Delft first), made once per round."""

    def run(
        self, twin: str, scenario: str = "current", parameters: dict[str, Any] | None = None
    ) -> RunRecord:
        """A fresh sandboxed run of the version, never stored in the twin."""

    def objects(self, twin: str, layer: str) -> list[tuple[str, str]]:
        """(id, type) of the objects of ``layer`` in ``twin``'s current scenario."""

    def degraded(self, twin: str, name: str, changes: Changes, why: str) -> str:
        """A scenario of ``twin`` with ``changes`` applied (made once, then reused)."""

    def case_twin(self, name: str, data: bytes) -> str:
        """The twin of a reference case's data file, named by its content (made once)."""


class Check(Protocol):
    """One automated intake check: ``name`` (as reports show it), ``proves`` (what a pass
    proves, a sentence), the framework ``criteria`` it evidences, the trust-score
    ``quality`` it counts towards (None: none), and ``run`` → a verdict with evidence."""

    name: str
    proves: str
    criteria: tuple[str, ...]
    quality: Quality | None

    def run(self, context: CheckContext) -> CheckResult: ...
