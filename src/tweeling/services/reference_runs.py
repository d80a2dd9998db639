"""The runs accreditation makes: an app version in the sandbox on the reference twins, on
degraded copies of them, and on its publisher's own reference cases — never stored in a twin.
``RoundContext`` offers them to the checks (``store.accreditation.checks``), which judge.

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
from tweeling.errors import InvalidInput, NotFound
from tweeling.services import apps as app_service
from tweeling.storage.db import Database
from tweeling.store.pages import ProductPage
from tweeling.twin.ingest import DatasetInfo, ingest
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


def _degraded(db: Database, twin_name: str, name: str, changes: Changes, why: str) -> str:
    """A scenario of a reference twin with its inputs degraded (made once, then reused)."""
    with db.read() as conn:
        twin = get_twin(conn, twin_name)
        if any(s.name == name for s in list_scenarios(conn, twin)):
            return name
    create_scenario(db, twin_name, name, label=why, author="accreditation")
    edit(db, twin_name, name, changes, reason=why, author="accreditation")
    return name


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


class RoundContext:
    """One round's :class:`~tweeling.store.accreditation.checks.CheckContext`: the version's
    verified package and page, and its runs on the reference twins, made once and shared by
    every check that asks, in the order the checks ask."""

    def __init__(
        self,
        runtime: runs.Runtime,
        principal: Principal,
        package: packages.Package,
        manifest: Manifest,
        page: ProductPage,
        registered_keys: set[str],
        samples: Path,
    ) -> None:
        self.runtime = runtime
        self.principal = principal
        self.package = package
        self.manifest = manifest  # as the catalogue recorded it for this version
        self.page = page
        self.registered_keys = registered_keys
        self.samples = samples
        self._twins: list[str] | None = None
        self._first: list[tuple[str, runs.RunRecord]] | None = None

    def reference_twins(self) -> list[str]:
        if self._twins is None:
            self._twins = reference_twins(self.runtime.db, self.samples)
        return self._twins

    def reference_runs(self) -> list[tuple[str, runs.RunRecord]]:
        if self._first is None:
            self._first = [(twin, self.run(twin)) for twin in self.reference_twins()]
        return self._first

    def run(
        self, twin: str, scenario: str = "current", parameters: dict[str, Any] | None = None
    ) -> runs.RunRecord:
        return run(self.runtime, self.principal, self.package, twin, scenario, parameters)

    def objects(self, twin: str, layer: str) -> list[tuple[str, str]]:
        with self.runtime.db.read() as conn:
            view = view_of(conn, get_scenario(conn, get_twin(conn, twin), "current"))
            return [(o.object_id, o.object_type) for o in iter_objects(conn, view, layer=layer)]

    def degraded(self, twin: str, name: str, changes: Changes, why: str) -> str:
        return _degraded(self.runtime.db, twin, name, changes, why)

    def case_twin(self, name: str, data: bytes) -> str:
        return _case_twin(self.runtime.db, name, data)
