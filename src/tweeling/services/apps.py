"""Apps on behalf of a principal: install into a twin, run, show, replay, explain a value.

Every entry point asks the policy point first. Installing an app changes what a twin offers,
so it needs the right to update the twin; a run reads the twin's data for a stated purpose
(the purpose is checked against the twin's shares) and writes results into a scenario, so it
needs both reading the datasets and updating the scenario.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from tweeling import settings
from tweeling.access.audit import acted, record
from tweeling.access.identity import Principal
from tweeling.access.policy import Action, Kind
from tweeling.apps import environments, packages, parameters, runs
from tweeling.apps.compare import Comparison, compare_runs
from tweeling.apps.manifest import Manifest as Manifest
from tweeling.apps.packages import Package
from tweeling.apps.provenance import as_json, load_json
from tweeling.apps.runs import RunRecord as RunRecord
from tweeling.apps.runs import Runtime as Runtime
from tweeling.apps.runs import job_status as job_status
from tweeling.apps.sandbox import SUCCESSFUL as SUCCESSFUL
from tweeling.apps.sandbox import RunStatus as RunStatus
from tweeling.errors import Conflict, InvalidInput, NotFound
from tweeling.services.twins import authorised_twin, visible_twins
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import Json, app_installations, app_packages, app_runs
from tweeling.twin.crs import horizontal
from tweeling.twin.twins import Twin, get_scenario
from tweeling.twin.views import view_of


@dataclass(frozen=True)
class Installation:
    twin: str
    app_id: str
    version: str
    package_id: int
    package_hash: str
    parameters: dict[str, Any]
    installed_by: str
    signed: bool

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _org_id(principal: Principal, twin: Twin) -> int | None:
    return twin.owner_org_id if principal.operator else principal.org.id


def _signer(signature: Any) -> str | None:
    """The public key (hex) a stored package was signed with; None when unsigned."""
    return None if signature is None else str(signature.get("public_key"))


def _may_replace(
    app_id: str, twin: Twin, installed_key: str | None, package: Package, accept_new_key: bool
) -> None:
    """An unsigned package never replaces a signed installation; one signed by another key only
    when the operator says so (a publisher's new key, or another publisher: a person decides)."""
    if installed_key is None:
        return
    if package.signature is None:
        raise Conflict(
            f"app {app_id!r} is installed in twin {twin.name!r} from a package signed by key "
            f"{installed_key[:16]}…; an unsigned package never replaces a signed installation "
            "(install a package signed by that key)"
        )
    new_key = str(package.signature["public_key"])
    if new_key != installed_key and not accept_new_key:
        raise Conflict(
            f"app {app_id!r} is installed in twin {twin.name!r} from a package signed by key "
            f"{installed_key[:16]}…; this package is signed by another key ({new_key[:16]}…): "
            "replace it only if you trust the new key (--accept-new-key)"
        )


def default_envs_dir() -> Path:
    """Where this platform keeps the apps' library environments (TWEELING_APP_ENVS, else
    ``$TWEELING_HOME/envs``)."""
    return environments.default_folder(settings.current().storage.home)


def prepare_environment(
    envs_dir: Path, manifest: Manifest, progress: Callable[[str], None] | None = None
) -> Path | None:
    """The environment of the libraries an app declares, built once per distinct set (see
    tweeling.apps.environments); None when it declares none."""
    label = f"{manifest.id} {manifest.version}"
    return environments.prepare(envs_dir, manifest.requirements, label, progress)


def install(
    db: Database,
    principal: Principal,
    twin_name: str,
    package: Package,
    calibration: dict[str, Any],
    *,
    accept_new_key: bool = False,
    envs_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Installation:
    """Install (or upgrade to) a package in a twin for its organisation, with its calibration.
    A signed installation is replaced only by a package signed by the same key, or by another
    key with ``accept_new_key``; never by an unsigned package. With ``envs_dir``, the
    libraries the app declares are provided first: a requirement that cannot be met refuses
    the installation."""
    twin = authorised_twin(db, principal, twin_name, Kind.twin, Action.update, None)
    parameters.resolve(package.manifest, calibration)  # refuse a calibration that cannot run
    if envs_dir is not None:
        prepare_environment(envs_dir, package.manifest, progress)
    with db.begin() as conn:
        existing = conn.execute(
            select(app_installations.c.id, app_packages.c.signature)
            .join(app_packages, app_packages.c.id == app_installations.c.package_id)
            .where(
                app_installations.c.twin_id == twin.id,
                app_installations.c.app_id == package.manifest.id,
            )
        ).first()
        installed_key = None if existing is None else _signer(existing.signature)
        _may_replace(package.manifest.id, twin, installed_key, package, accept_new_key)
        package_id = packages.register(conn, package, principal.actor)
        values = {
            "package_id": package_id,
            "parameters": calibration,
            "installed_by": principal.actor,
            "installed_at": clock_of(conn).now(),
            "org_id": twin.owner_org_id,
        }
        if existing is None:
            conn.execute(
                insert(app_installations).values(
                    twin_id=twin.id, app_id=package.manifest.id, **values
                )
            )
        else:
            conn.execute(
                update(app_installations)
                .where(app_installations.c.id == existing.id)
                .values(**values)
            )
        details: dict[str, Any] = {
            "app": f"{package.manifest.id}@{package.manifest.version}",
            "package_hash": package.content_hash,
            "signed": package.signed,
            "parameters": calibration,
        }
        if package.signature is not None:
            details["key"] = package.signature["public_key"]
            if installed_key not in (None, details["key"]):
                details["replaced_key"] = installed_key
        record(conn, acted(principal, "app.install", f"twin:{twin.name}", details))
    return Installation(
        twin.name,
        package.manifest.id,
        package.manifest.version,
        package_id,
        package.content_hash,
        calibration,
        principal.actor,
        package.signed,
    )


_INSTALLED = select(
    app_installations.c.app_id,
    app_installations.c.parameters,
    app_installations.c.installed_by,
    app_packages.c.id.label("package_id"),
    app_packages.c.version,
    app_packages.c.content_hash,
    app_packages.c.signature,
).join(app_packages, app_packages.c.id == app_installations.c.package_id)


def _installation(twin: Twin, row: Any) -> Installation:
    return Installation(
        twin.name,
        row.app_id,
        row.version,
        row.package_id,
        row.content_hash,
        row.parameters,
        row.installed_by,
        row.signature is not None,
    )


def installed_apps(
    db: Database, principal: Principal, twin_name: str, purpose: str | None = None
) -> list[Installation]:
    twin = authorised_twin(db, principal, twin_name, Kind.twin, Action.read, purpose)
    with db.read() as conn:
        rows = conn.execute(
            _INSTALLED.where(app_installations.c.twin_id == twin.id).order_by(
                app_installations.c.app_id
            )
        )
        return [_installation(twin, r) for r in rows]


def installed_manifests(
    db: Database, principal: Principal, twin_name: str, purpose: str | None = None
) -> list[tuple[Manifest, dict[str, Any]]]:
    """The manifests of a twin's installed apps, with each one's calibrated parameters."""
    twin = authorised_twin(db, principal, twin_name, Kind.twin, Action.read, purpose)
    with db.read() as conn:
        rows = conn.execute(
            select(app_packages.c.manifest, app_installations.c.parameters)
            .join(app_packages, app_packages.c.id == app_installations.c.package_id)
            .where(app_installations.c.twin_id == twin.id)
            .order_by(app_installations.c.app_id)
        )
        return [(Manifest.model_validate(m), p or {}) for m, p in rows]


def _installed(conn: Connection, twin: Twin, app_id: str) -> Installation:
    row = conn.execute(
        _INSTALLED.where(
            app_installations.c.twin_id == twin.id, app_installations.c.app_id == app_id
        )
    ).first()
    if row is None:
        raise NotFound(f"app {app_id!r} is not installed in twin {twin.name!r}")
    return _installation(twin, row)


def _fits(manifest: Manifest, twin: Twin, purpose: str | None) -> None:
    """Refuse a run the manifest rules out before any data is prepared."""
    if manifest.personal_data and not (purpose and purpose.strip()):
        raise InvalidInput(
            f"app {manifest.id} processes personal data: state the purpose of this run "
            "(--purpose / input 'purpose'), as the GDPR's purpose limitation requires"
        )
    if manifest.inputs.crs:
        accepted = {horizontal(c).to_epsg() for c in manifest.inputs.crs}
        if horizontal(twin.crs).to_epsg() not in accepted:
            raise InvalidInput(
                f"app {manifest.id} works in {', '.join(manifest.inputs.crs)}; twin "
                f"{twin.name!r} is in {twin.crs}"
            )


def submit(
    runtime: runs.Runtime,
    principal: Principal,
    twin_name: str,
    *,
    scenario: str = "current",
    app_id: str | None = None,
    package: Package | None = None,
    overrides: dict[str, Any] | None = None,
    purpose: str | None = None,
    recipe_run_id: str | None = None,
    step: int | None = None,
    claim: bool = False,
) -> str:
    """Accept a run of an installed app (``app_id``) or of a package not installed (a
    developer's own run, ``package``); returns the run id. Nothing is executed yet; with
    ``claim`` the caller executes it itself, right after (synchronous runs)."""
    db = runtime.db
    authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    twin = authorised_twin(db, principal, twin_name, Kind.scenario, Action.update, purpose)
    with db.begin() as conn:
        target = get_scenario(conn, twin, scenario)
        if package is not None:
            package_id = packages.register(conn, package, principal.actor)
            calibration: dict[str, Any] = {}
        elif app_id is not None:
            installation = _installed(conn, twin, app_id)
            package_id, calibration = installation.package_id, installation.parameters
            package = packages.load(conn, package_id)
        else:
            raise InvalidInput("name an installed app or give an app folder or package")
        _fits(package.manifest, twin, purpose)
        params = parameters.resolve(package.manifest, calibration, overrides)
        return runs.accept(
            conn,
            twin=twin,
            scenario=target,
            package_id=package_id,
            manifest=package.manifest,
            parameters=params,
            actor=principal.actor,
            org_id=_org_id(principal, twin),
            purpose=purpose,
            executor=runtime.executor.name,
            recipe_run_id=recipe_run_id,
            step=step,
            claimed=claim,
        )


def run(
    runtime: runs.Runtime, principal: Principal, twin_name: str, **kwargs: Any
) -> runs.RunRecord:
    """Accept a run and carry it out now (synchronous execution)."""
    run_id = submit(runtime, principal, twin_name, claim=True, **kwargs)
    return runs.execute(runtime, run_id)


def execute_claimed(runtime: runs.Runtime, principal: Principal, run_id: str) -> runs.RunRecord:
    """Carry out a run this principal submitted with ``claim`` (a synchronous request), now;
    the finished record."""
    own_run(runtime, principal, run_id)  # not another principal's to carry out
    return runs.execute(runtime, run_id)


def own_run(runtime: runs.Runtime, principal: Principal, run_id: str) -> runs.RunRecord:
    """The record of a run this principal submitted, as it stands (a progress display's
    poll: no policy decision and no audit row each time)."""
    with runtime.db.read() as conn:
        record_ = runs.get_run(conn, run_id)
    if record_.actor != principal.actor:
        raise NotFound(f"no run {run_id!r}")
    return record_


def get_run(db: Database, principal: Principal, run_id: str) -> runs.RunRecord:
    """A run's record, for whoever may read its twin (404 otherwise, as for no run at all)."""
    with db.read() as conn:
        try:
            record_ = runs.get_run(conn, run_id)
        except NotFound:
            raise NotFound(f"no run {run_id!r}") from None
    try:
        authorised_twin(db, principal, record_.twin, Kind.scenario, Action.read, record_.purpose)
    except NotFound:
        raise NotFound(f"no run {run_id!r}") from None
    return record_


def follow_run(
    db: Database,
    principal: Principal,
    run_id: str,
    *,
    every_s: float = 0.5,
    for_s: float = 300.0,
    wait: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.monotonic,
) -> Iterator[runs.RunRecord]:
    """A run's record each time its status or progress changes, until it has finished (the
    last one yielded is final) or ``for_s`` seconds have passed (a follower holds a server
    thread: a run that waits long for a worker must not hold it for as long; the browser's
    EventSource reconnects and follows on). Every look goes through ``get_run``, so a caller
    who loses the right to read the twin mid-run is stopped with the same 404 as a
    stranger."""
    seen: tuple[str, int] | None = None
    until = now() + for_s
    while True:
        current = get_run(db, principal, run_id)
        state = (str(current.status), current.progress)
        if state != seen:
            seen = state
            yield current
        if current.finished or now() >= until:
            return
        wait(every_s)


def prov_document(db: Database, principal: Principal, run_id: str) -> Any:
    """The run's PROV document (a recipe's chain: ``recipes.RecipeRecord.prov``)."""
    record_ = get_run(db, principal, run_id)
    if record_.prov is None:
        raise NotFound(f"run {run_id!r} has not finished: no provenance yet")
    return load_json(record_.prov)


def prov_json(db: Database, principal: Principal, run_id: str) -> Any:
    """The run's PROV document as PROV-JSON."""
    return as_json(prov_document(db, principal, run_id))


def prov_n(db: Database, principal: Principal, run_id: str) -> str:
    """The run's PROV document in PROV-N, the W3C's notation for people to read."""
    return str(prov_document(db, principal, run_id).get_provn())


def prov_as_json(document: Any) -> Any:
    """A PROV document (a run's or a recipe's chain) as PROV-JSON."""
    return as_json(document)


def recipe_steps(db: Database, recipe_run_id: str) -> list[runs.RunRecord]:
    with db.read() as conn:
        ids = conn.execute(
            select(app_runs.c.run_id)
            .where(app_runs.c.recipe_run_id == recipe_run_id)
            .order_by(app_runs.c.step)
        ).scalars()
        return [runs.get_run(conn, i) for i in ids]


@dataclass(frozen=True)
class Replay:
    original: runs.RunRecord
    replay: runs.RunRecord

    @property
    def identical(self) -> bool:
        return (
            self.replay.status == SUCCESSFUL
            and self.replay.output_hash == self.original.output_hash
        )

    @property
    def same_inputs(self) -> bool:
        return self.replay.inputs.get("content_hash") == self.original.inputs.get("content_hash")

    def as_json(self) -> dict[str, Any]:
        """The verdict with both hashes (what a replay button shows)."""
        return {
            "identical": self.identical,
            "same_inputs": self.same_inputs,
            "original": {
                "run_id": self.original.run_id,
                "output_hash": self.original.output_hash,
                "inputs_hash": self.original.inputs.get("content_hash"),
            },
            "replay": {
                "run_id": self.replay.run_id,
                "status": self.replay.status,
                "message": self.replay.message,
                "output_hash": self.replay.output_hash,
                "inputs_hash": self.replay.inputs.get("content_hash"),
            },
        }


def replay(runtime: runs.Runtime, principal: Principal, run_id: str) -> Replay:
    """Run again what a record describes — the same package, parameters and data as it was —
    without the cache and without storing; compare the output hashes."""
    original = get_run(runtime.db, principal, run_id)
    if original.status != SUCCESSFUL:
        raise InvalidInput(f"run {run_id} did not succeed ({original.status}); nothing to compare")
    db = runtime.db
    authorised_twin(db, principal, original.twin, Kind.dataset, Action.read, original.purpose)
    with db.begin() as conn:
        row = conn.execute(
            select(app_runs.c.package_id, app_runs.c.scenario_id, app_runs.c.org_id).where(
                app_runs.c.run_id == run_id
            )
        ).one()
        twin = authorised_twin(
            db, principal, original.twin, Kind.scenario, Action.read, original.purpose, conn
        )
        package = packages.load(conn, row.package_id)
        replay_id = runs.accept(
            conn,
            twin=twin,
            scenario=get_scenario(conn, twin, original.scenario),
            package_id=row.package_id,
            manifest=package.manifest,
            parameters=original.parameters,
            actor=principal.actor,
            org_id=_org_id(principal, twin),
            purpose=original.purpose,
            executor=runtime.executor.name,
            as_of_seq=original.as_of_seq,
            claimed=True,
        )
    done = runs.execute(runtime, replay_id, store=False, use_cache=False)
    return Replay(original, done)


def compare(
    db: Database, principal: Principal, run_a: str, run_b: str, top: int = 10
) -> Comparison:
    """What changed, output by output, from one run of an app to another (say the current city
    and a plan); both runs must be readable by the caller."""
    a = get_run(db, principal, run_a)
    b = get_run(db, principal, run_b)
    with db.read() as conn:
        package_id = conn.execute(
            select(app_runs.c.package_id).where(app_runs.c.run_id == run_b)
        ).scalar_one()
        manifest = packages.load(conn, package_id).manifest
    units = {o.name: o.unit for o in manifest.outputs}
    return compare_runs(a, b, units, top)


@dataclass(frozen=True)
class Explanation:
    """Why an object has the value it has: the run that stored it, and that run's chain."""

    twin: str
    scenario: str
    object_id: str
    attribute: str
    value: Any
    run: runs.RunRecord
    chain: list[runs.RunRecord]

    def as_json(self) -> dict[str, Any]:
        return {
            "twin": self.twin,
            "scenario": self.scenario,
            "object": self.object_id,
            "attribute": self.attribute,
            "value": self.value,
            "run": self.run.as_json(with_outputs=False),
            "chain": [r.as_json(with_outputs=False) for r in self.chain],
        }


def explain(
    db: Database,
    principal: Principal,
    twin_name: str,
    scenario_name: str,
    object_id: str,
    attribute: str,
    purpose: str | None = None,
) -> Explanation:
    """The provenance of one stored output value: walk the object's versions back to the
    edit that set the value, and the run whose results that edit stored."""
    twin = authorised_twin(db, principal, twin_name, Kind.dataset, Action.read, purpose)
    with db.read() as conn:
        scenario = get_scenario(conn, twin, scenario_name)
        view = view_of(conn, scenario)
        condition, params = view.visible("o")
        current = conn.execute(
            text(
                f"SELECT o.seq, o.attributes FROM city_objects o WHERE {condition} "
                "AND NOT o.deleted AND o.object_id = :oid"
            ).columns(attributes=Json),
            {**params, "oid": object_id},
        ).first()
        if current is None:
            raise NotFound(f"no object {object_id!r} in scenario {scenario_name!r}")
        attrs = current.attributes or {}
        if attribute not in attrs:
            raise NotFound(f"object {object_id!r} has no attribute {attribute!r}")
        value = attrs[attribute]
        chain_ids = [sid for sid, _ in view.chain]
        history = conn.execute(
            text(
                "SELECT o.seq, o.attributes FROM city_objects o WHERE o.object_id = :oid "
                f"AND o.scenario_id IN ({', '.join(str(int(s)) for s in chain_ids)}) "
                "AND o.seq <= :seq ORDER BY o.seq DESC"
            ).columns(attributes=Json),
            {"oid": object_id, "seq": current.seq},
        ).all()
        set_at = None
        for seq, raw in history:
            if (raw or {}).get(attribute) != value:
                break
            set_at = seq
        run_id = conn.execute(
            select(app_runs.c.run_id).where(
                app_runs.c.twin_id == twin.id, app_runs.c.stored_seq == set_at
            )
        ).scalar()
        if run_id is None:
            raise NotFound(
                f"the value of {attribute!r} on {object_id!r} was not stored by an app run "
                f"(it came with edit {set_at})"
            )
        record_ = runs.get_run(conn, run_id)
    chain = recipe_steps(db, record_.recipe_run_id) if record_.recipe_run_id else [record_]
    if record_.recipe_run_id:
        chain = [r for r in chain if (r.step or 0) <= (record_.step or 0)]
    return Explanation(twin.name, scenario_name, object_id, attribute, value, record_, chain)


def list_runs(
    db: Database, principal: Principal, twin_name: str | None, limit: int = 20
) -> list[runs.RunRecord]:
    """Recent runs on the twins the principal may see (or on one of them)."""
    names = [twin_name] if twin_name else visible_twins(db, principal)
    ids = [authorised_twin(db, principal, n, Kind.scenario, Action.read, None).id for n in names]
    with db.read() as conn:
        return runs.list_runs(conn, ids, limit)
