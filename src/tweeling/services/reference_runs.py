"""The runs accreditation makes: an app version in the sandbox on the reference twins, on
degraded copies of them, and on its publisher's own reference cases — never stored in a twin.

The reference twins belong to the market master's organisation and are made on first use:
the Delft sample (real, messy data) and a synthetic district (clean, generated, every
building type). Degraded scenarios and the twins of reference cases are made once and reused.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from tweeling.access.identity import MARKET_MASTER, Principal, get_organisation
from tweeling.apps import packages, runs
from tweeling.apps.manifest import Manifest
from tweeling.apps.sandbox import RunStatus
from tweeling.errors import InvalidInput, NotFound, TweelingError
from tweeling.services import apps as app_service
from tweeling.storage.db import Database
from tweeling.store.accreditation import cases as reference_cases
from tweeling.store.accreditation.checks import CheckResult, elsewhere
from tweeling.twin.ingest import DatasetInfo, ingest
from tweeling.twin.model import CityObject
from tweeling.twin.scenarios import Changes, create_scenario, edit
from tweeling.twin.synth import write_cityjsonseq
from tweeling.twin.twins import find_twin, get_scenario, get_twin, list_scenarios
from tweeling.twin.views import iter_objects, view_of

DELFT = "reference-delft"
DISTRICT = "reference-district"
DISTRICT_BUILDINGS = 120
PURPOSE = "accreditation: automated intake checks"


def _owner(db: Database) -> int | None:
    with db.read() as conn:
        try:
            return get_organisation(conn, MARKET_MASTER).id
        except NotFound:  # a platform not yet set up (the local operator at work)
            return None


def _exists(db: Database, name: str) -> bool:
    with db.read() as conn:
        return find_twin(conn, name) is not None


def reference_twins(db: Database, samples: Path) -> list[str]:
    """The reference twins the checks run on, imported once: Delft, then the district."""
    if not _exists(db, DELFT):
        source = samples / "delft.city.json"
        if not source.is_file():
            raise InvalidInput(f"the reference data {source} is not there")
        info = DatasetInfo(source="cjio test data (TU Delft), reference twin for accreditation")
        ingest(db, source, DELFT, info=info, author="accreditation", owner_org_id=_owner(db))
    if not _exists(db, DISTRICT):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "district.city.jsonl"
            write_cityjsonseq(path, DISTRICT_BUILDINGS, seed=8)
            info = DatasetInfo(
                source=f"Tweeling synthetic district ({DISTRICT_BUILDINGS} buildings, seed 8)"
            )
            ingest(db, path, DISTRICT, info=info, author="accreditation", owner_org_id=_owner(db))
    return [DELFT, DISTRICT]


def run(
    runtime: runs.Runtime,
    principal: Principal,
    package: packages.Package,
    twin: str,
    scenario: str = "current",
    parameters: dict[str, Any] | None = None,
) -> runs.RunRecord:
    run_id = app_service.submit(
        runtime,
        principal,
        twin,
        scenario=scenario,
        package=package,
        overrides=parameters,
        purpose=PURPOSE,
        claim=True,
    )
    return runs.execute(runtime, run_id, store=False, use_cache=False)


def _degraded(db: Database, name: str, changes: Changes, why: str) -> str:
    """A scenario of the Delft twin with its inputs degraded (made once, then reused)."""
    with db.read() as conn:
        twin = get_twin(conn, DELFT)
        if any(s.name == name for s in list_scenarios(conn, twin)):
            return name
    create_scenario(db, DELFT, name, label=why, author="accreditation")
    edit(db, DELFT, name, changes, reason=why, author="accreditation")
    return name


def robustness(
    runtime: runs.Runtime, principal: Principal, package: packages.Package, manifest: Manifest
) -> CheckResult:
    """Degraded inputs — declared attributes missing, the first layer empty — must give a
    clear error (AppError) or flagged results, never a crash or invalid output."""
    db = runtime.db
    spec = manifest.inputs.layers[0] if manifest.inputs.layers else None
    if spec is None:
        return CheckResult("robustness", True, "reads no layers: nothing to degrade")
    with db.read() as conn:
        view = view_of(conn, get_scenario(conn, get_twin(conn, DELFT), "current"))
        objects = [
            (o.object_id, o.object_type)
            for o in iter_objects(conn, view, layer=spec.layer)
            if not spec.object_types or o.object_type in spec.object_types
        ]
    cases = {
        "empty layer": _degraded(
            db,
            f"degraded-empty-{spec.layer}",
            Changes(delete=[oid for oid, _ in objects]),
            f"accreditation: layer {spec.layer} emptied",
        )
    }
    if spec.attributes:
        blank = dict.fromkeys(spec.attributes)
        cases["missing attributes"] = _degraded(
            db,
            "degraded-" + "-".join(sorted(spec.attributes))[:40],
            Changes(
                modify=[CityObject(id=oid, type=otype, attributes=blank) for oid, otype in objects]
            ),
            f"accreditation: {', '.join(spec.attributes)} removed from {spec.layer}",
        )
    outcomes = {}
    for case, scenario in cases.items():
        done = run(runtime, principal, package, DELFT, scenario)
        outcomes[case] = {"status": done.status, "message": done.message, "run": done.run_id}
        if done.status in (RunStatus.successful, RunStatus.failed):  # results, or a clear AppError
            continue
        unjudged = elsewhere(done.status, "robustness")
        if unjudged and done.status != RunStatus.invalid_output:  # nonsense on bad data is ours
            return CheckResult("robustness", None, f"{unjudged} on {case}", outcomes)
        return CheckResult("robustness", False, f"{done.status} on {case}: {done.message}",
                           outcomes)  # fmt: skip
    return CheckResult(
        "robustness",
        True,
        "; ".join(f"{case}: {o['status']}" for case, o in outcomes.items()),
        outcomes,
    )


def _case_twin(db: Database, name: str, data: bytes) -> str:
    """The twin of a reference case's data, named by its content (made once)."""
    twin = f"refcase-{hashlib.sha256(data).hexdigest()[:16]}"
    if not _exists(db, twin):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(name).name
            path.write_bytes(data)
            info = DatasetInfo(source=f"reference case data {name}")
            ingest(db, path, twin, info=info, author="accreditation", owner_org_id=_owner(db))
    return twin


def reference_case_check(
    runtime: runs.Runtime, principal: Principal, package: packages.Package
) -> CheckResult:
    """Run the publisher's reference cases in the sandbox and compare with their expected
    values; an app without any fails (it offers no way to check its own claims)."""
    try:
        found, data = reference_cases.load(package)
    except InvalidInput as exc:
        return CheckResult("reference-cases", False, exc.message)
    if found is None:
        return CheckResult(
            "reference-cases",
            False,
            f"the package has no reference cases ({reference_cases.CASES_FILE})",
        )
    evidence: dict[str, Any] = {"cases": []}
    failures: list[str] = []
    skipped: list[str] = []
    for case in found.case:
        item: dict[str, Any] = {"name": case.name, "source": case.source, "data": case.data}
        try:
            twin = _case_twin(runtime.db, case.data, data[case.data])
            done = run(runtime, principal, package, twin, parameters=case.parameters)
        except TweelingError as exc:
            item.update(ok=False, why=exc.message)
            failures.append(f"{case.name}: {exc.message}")
            evidence["cases"].append(item)
            continue
        item.update(run=done.run_id, status=done.status)
        unjudged = elsewhere(done.status, "reference-cases")
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
        return CheckResult(
            "reference-cases", False, "expected values not met: " + "; ".join(failures), evidence
        )
    if skipped:
        return CheckResult("reference-cases", None, "; ".join(skipped), evidence)
    values = sum(len(c.expect) for c in found.case)
    return CheckResult(
        "reference-cases",
        True,
        f"{len(found.case)} case(s), {values} expected value(s) within their tolerances",
        evidence,
    )
