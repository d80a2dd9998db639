"""App runs from start to record: prepare inputs, run in the sandbox, check, store, prove.

A run is first *accepted* (a row with everything needed to carry it out: app package,
twin, scenario and the edit number it reads, parameters, person and purpose), then executed
— possibly by another process, after a restart — through an executor. Per-object outputs
are stored in the scenario as attributes ``<app-id>.<output>`` by an edit of kind
``app-run``, so Features, 3D Tiles and exports serve them like any other attribute, and the
edit number ties each stored value back to its run. A run whose app, inputs and parameters
hash the same as an earlier successful run is answered from that run's outputs.

Policy is not decided here: :mod:`tweeling.services.apps` authorises, then calls in.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from tweeling import settings
from tweeling.access.audit import AuditEvent, AuditOutcome, record
from tweeling.apps import environments, packages
from tweeling.apps.executors import Executor, executor_for
from tweeling.apps.inputs import PreparedInputs, owner_name, prepare_inputs
from tweeling.apps.manifest import Manifest
from tweeling.apps.outputs import attribute_name, check_outputs, output_hash
from tweeling.apps.provenance import as_json, run_document
from tweeling.apps.sandbox import OS_SANDBOX, Limits, Outcome, RunSpec, RunStatus, release
from tweeling.apps.sandbox import SUCCESSFUL as SUCCESSFUL
from tweeling.errors import InvalidInput, NotFound, TweelingError
from tweeling.storage.db import Database, clock_of
from tweeling.storage.schema import app_packages, app_runs, organisations, twins
from tweeling.twin import scenarios as scenario_edits
from tweeling.twin.model import CityObject
from tweeling.twin.twins import Scenario, Twin, get_scenario, get_twin, scenario_by_id
from tweeling.twin.views import resolve, view_as_of, view_of

log = logging.getLogger(__name__)

ACCEPTED = RunStatus.accepted
RUNNING = RunStatus.running
INVALID_OUTPUT = RunStatus.invalid_output
DISMISSED = RunStatus.dismissed
FINISHED = frozenset(RunStatus) - {ACCEPTED, RUNNING}


class JobStatus(StrEnum):
    """OGC API – Processes ``statusCode``: a job's status as the standard names it."""

    accepted = "accepted"
    running = "running"
    successful = "successful"
    failed = "failed"
    dismissed = "dismissed"


def job_status(status: str) -> JobStatus:
    """The OGC API – Processes status of a run status."""
    if status in (ACCEPTED, RUNNING, SUCCESSFUL, DISMISSED):
        return JobStatus(status)
    return JobStatus.failed


@dataclass
class Runtime:
    """What runs need besides the database: an executor and a place for run folders."""

    db: Database
    executor: Executor
    home: Path
    keep_run_dirs: bool = False
    # "os" (bubblewrap) for every run; only `tweeling app run FOLDER --unsandboxed`, a
    # developer trying their own app, sets "none".
    isolation: str = OS_SANDBOX
    # where the apps' library environments live (TWEELING_APP_ENVS, else home/envs, unless
    # given): content-addressed, so several homes may share one
    envs: Path | None = None

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def apps_dir(self) -> Path:
        return self.home / "apps"

    @property
    def envs_dir(self) -> Path:
        """The environments of the libraries apps declare (tweeling.apps.environments)."""
        return self.envs if self.envs is not None else environments.default_folder(self.home)


@dataclass
class RunRecord:
    run_id: str
    twin: str
    scenario: str
    app_id: str
    version: str
    package_hash: str
    parameters: dict[str, Any]
    purpose: str | None
    actor: str
    organisation: str | None
    status: RunStatus
    progress: int
    message: str | None
    executor: str
    as_of_seq: int | None
    stored_seq: int | None
    cache_key: str | None
    cached_from: str | None
    recipe_run_id: str | None
    step: int | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    output_hash: str | None
    flags: list[str]
    measured: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    prov: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def as_json(self, *, with_outputs: bool = True) -> dict[str, Any]:
        doc = {k: v for k, v in self.__dict__.items() if k != "prov"}
        for key in ("created_at", "started_at", "ended_at"):
            doc[key] = doc[key].isoformat() if doc[key] else None
        if not with_outputs:
            doc["outputs"] = {
                "attributes": {
                    k: len(v) for k, v in (self.outputs.get("attributes") or {}).items()
                },
                "indicators": self.outputs.get("indicators") or {},
                "layers": sorted(self.outputs.get("layers") or {}),
            }
        return doc


_RUN_QUERY = (
    select(
        app_runs,
        twins.c.name.label("twin_name"),
        app_packages.c.content_hash.label("package_hash"),
        organisations.c.name.label("org_name"),
    )
    .join(twins, twins.c.id == app_runs.c.twin_id)
    .join(app_packages, app_packages.c.id == app_runs.c.package_id)
    .outerjoin(organisations, organisations.c.id == app_runs.c.org_id)
)


def _record(conn: Connection, row: Any) -> RunRecord:
    scenario = scenario_by_id(conn, row.scenario_id)

    def when(value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(str(value))

    created = when(row.created_at)
    assert created is not None
    return RunRecord(
        run_id=row.run_id,
        twin=row.twin_name,
        scenario=scenario.name,
        app_id=row.app_id,
        version=row.version,
        package_hash=row.package_hash,
        parameters=row.parameters,
        purpose=row.purpose,
        actor=row.actor,
        organisation=row.org_name,
        status=RunStatus(row.status),
        progress=row.progress,
        message=row.message,
        executor=row.executor,
        as_of_seq=row.as_of_seq,
        stored_seq=row.stored_seq,
        cache_key=row.cache_key,
        cached_from=row.cached_from,
        recipe_run_id=row.recipe_run_id,
        step=row.step,
        inputs=row.inputs or {},
        outputs=row.outputs or {},
        output_hash=row.output_hash,
        flags=row.flags or [],
        measured=row.measured or {},
        created_at=created,
        started_at=when(row.started_at),
        ended_at=when(row.ended_at),
        prov=row.prov,
    )


def get_run(conn: Connection, run_id: str) -> RunRecord:
    row = conn.execute(_RUN_QUERY.where(app_runs.c.run_id == run_id)).first()
    if row is None:
        raise NotFound(f"no run {run_id!r}")
    return _record(conn, row)


def list_runs(conn: Connection, twin_ids: list[int] | None, limit: int = 100) -> list[RunRecord]:
    query = _RUN_QUERY.order_by(app_runs.c.id.desc()).limit(limit)
    if twin_ids is not None:
        query = query.where(app_runs.c.twin_id.in_(twin_ids))
    return [_record(conn, row) for row in conn.execute(query)]


def accept(
    conn: Connection,
    *,
    twin: Twin,
    scenario: Scenario,
    package_id: int,
    manifest: Manifest,
    parameters: dict[str, Any],
    actor: str,
    org_id: int | None,
    purpose: str | None,
    executor: str,
    as_of_seq: int | None = None,
    recipe_run_id: str | None = None,
    step: int | None = None,
    claimed: bool = False,
) -> str:
    """Record a run to be carried out; returns its id. A run the caller will execute at once
    (``claimed``) is taken by this process from the start, so the background job runner,
    which takes accepted runs, cannot start it a second time meanwhile."""
    run_id = str(uuid.uuid4())
    seq = as_of_seq if as_of_seq is not None else get_twin(conn, twin.name).last_seq
    conn.execute(
        insert(app_runs).values(
            run_id=run_id,
            twin_id=twin.id,
            scenario_id=scenario.id,
            package_id=package_id,
            app_id=manifest.id,
            version=manifest.version,
            parameters=parameters,
            purpose=purpose,
            actor=actor,
            org_id=org_id,
            status=RUNNING if claimed else ACCEPTED,
            started_at=clock_of(conn).now() if claimed else None,
            claimed_by=_WHO if claimed else None,
            progress=0,
            executor=executor,
            as_of_seq=seq,
            recipe_run_id=recipe_run_id,
            step=step,
            inputs={},
            outputs={},
            flags=[],
            measured={},
            created_at=clock_of(conn).now(),
        )
    )
    return run_id


_WHO = f"{socket.gethostname()}:{os.getpid()}"


def claim(db: Database, run_id: str) -> bool:
    """Take an accepted run for execution; False when another worker took it first."""
    with db.begin() as conn:
        taken = conn.execute(
            update(app_runs)
            .where(app_runs.c.run_id == run_id, app_runs.c.status == ACCEPTED)
            .values(status=RUNNING, started_at=clock_of(conn).now(), progress=0, claimed_by=_WHO)
        )
        return taken.rowcount == 1


def _cache_key(package_hash: str, inputs: PreparedInputs, parameters: dict[str, Any]) -> str:
    canonical = orjson.dumps(
        [package_hash, inputs.content_hash, parameters], option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


def _cached(conn: Connection, key: str, run_id: str) -> RunRecord | None:
    row = conn.execute(
        _RUN_QUERY.where(
            app_runs.c.cache_key == key,
            app_runs.c.status == SUCCESSFUL,
            app_runs.c.run_id != run_id,
            app_runs.c.cached_from.is_(None),
        )
        .order_by(app_runs.c.id)
        .limit(1)
    ).first()
    return _record(conn, row) if row is not None else None


class _ProgressWriter:
    """Progress to the run's row, at most twice a second."""

    def __init__(self, db: Database, run_id: str) -> None:
        self.db, self.run_id = db, run_id
        self.last = 0.0
        self.lock = threading.Lock()

    def __call__(self, fraction: float, message: str) -> None:
        with self.lock:
            if time.monotonic() - self.last < 0.5 and fraction < 1.0:
                return
            self.last = time.monotonic()
        with self.db.begin() as conn:
            conn.execute(
                update(app_runs)
                .where(app_runs.c.run_id == self.run_id)
                .values(progress=round(fraction * 100), message=message or None)
            )


def store_outputs(
    db: Database, record: RunRecord, manifest: Manifest, outputs: dict[str, Any]
) -> int | None:
    """Write per-object outputs into the run's scenario; the edit number, or None if nothing
    changed. Objects deleted since the run read them are left out."""
    wanted: dict[str, dict[str, Any]] = {}
    for output in manifest.outputs:
        if output.kind != "attribute":
            continue
        name = attribute_name(manifest.id, output.name)
        for oid, value in (outputs.get("attributes") or {}).get(output.name, {}).items():
            wanted.setdefault(oid, {})[name] = value
    if not wanted:
        return None
    with db.read() as conn:
        twin = get_twin(conn, record.twin)
        scenario = get_scenario(conn, twin, record.scenario)
        current = resolve(conn, view_of(conn, scenario), list(wanted))
    changes = [
        CityObject(id=oid, type=current[oid].object_type, attributes=values)
        for oid, values in wanted.items()
        if oid in current and any(current[oid].attributes.get(k) != v for k, v in values.items())
    ]
    if not changes:
        return None
    result = scenario_edits.edit(
        db,
        record.twin,
        record.scenario,
        scenario_edits.Changes(modify=changes),
        reason=f"results of app {manifest.id} {manifest.version}, run {record.run_id}",
        author=record.actor,
        kind=scenario_edits.EditKind.app_run,
    )
    return result.seq


def _finish(
    db: Database,
    run_id: str,
    *,
    status: RunStatus,
    message: str | None,
    values: dict[str, Any],
) -> RunRecord:
    with db.begin() as conn:
        if status == SUCCESSFUL:
            values = {**values, "progress": 100}
        conn.execute(
            update(app_runs)
            .where(app_runs.c.run_id == run_id)
            .values(status=status, message=message, ended_at=clock_of(conn).now(), **values)
        )
        record_ = get_run(conn, run_id)
        prov = as_json(run_document(record_.as_json()))
        conn.execute(update(app_runs).where(app_runs.c.run_id == run_id).values(prov=prov))
        record(
            conn,
            AuditEvent(
                record_.actor,
                "app.run",
                outcome=AuditOutcome.success if status == SUCCESSFUL else AuditOutcome.failure,
                organisation=record_.organisation,
                target=f"twin:{record_.twin}/{record_.scenario}",
                detail={
                    "run": run_id,
                    "app": f"{record_.app_id}@{record_.version}",
                    "status": status,
                    "purpose": record_.purpose,
                },
            ),
        )
        record_.prov = prov
        return record_


def _input_flags(manifest: Manifest, prepared: PreparedInputs) -> list[str]:
    """Where the data falls short of what the app declared it needs: the results are flagged
    (the store's fit report warns before installing; this is the run's own record)."""
    flags = []
    for spec in manifest.inputs.layers:
        measured = prepared.completeness.get(spec.layer, 0.0)
        if spec.attributes and measured < spec.min_completeness:
            flags.append(
                f"incomplete-inputs:{spec.layer}:{measured:.2f}<{spec.min_completeness:.2f}"
            )
        if spec.required and not prepared.objects.get(spec.layer):
            flags.append(f"empty-input:{spec.layer}")
    return flags


def limits_of(manifest: Manifest) -> Limits:
    """The declared runtime is the CPU budget per declared core; the wall clock allows half as
    much again (and a second to start), so a run on a busy machine is not cut short."""
    resources = manifest.resources
    return Limits(
        memory_mb=resources.memory_mb,
        cpu_s=max(1, math.ceil(resources.max_runtime_s * resources.cpu)),
        wall_s=resources.max_runtime_s * 1.5 + 1.0,
        work_mb=resources.disk_mb,
        output_mb=settings.current().runs.max_output_mb,
    )


def execute(
    runtime: Runtime, run_id: str, *, store: bool = True, use_cache: bool = True
) -> RunRecord:
    """Carry out an accepted (or claimed) run to its end; the finished record."""
    db = runtime.db
    with db.read() as conn:
        run = get_run(conn, run_id)
        if run.finished:
            return run
        row = conn.execute(
            select(app_runs.c.package_id, app_runs.c.scenario_id, app_runs.c.claimed_by).where(
                app_runs.c.run_id == run_id
            )
        ).one()
        package = packages.load(conn, row.package_id)
    taken_elsewhere = run.status == RUNNING and row.claimed_by != _WHO
    if taken_elsewhere or (run.status == ACCEPTED and not claim(db, run_id)):
        return run  # another process carries it out
    manifest = package.manifest
    run_dir = runtime.runs_dir / run_id
    try:
        with db.read() as conn:
            twin = get_twin(conn, run.twin)
            scenario = scenario_by_id(conn, row.scenario_id)
            view = view_as_of(conn, scenario, run.as_of_seq or 0)
            if run_dir.exists():  # left by a process that stopped half-way
                release(run_dir)
                shutil.rmtree(run_dir)
            prepared = prepare_inputs(conn, twin, view, manifest, run_dir / "inputs")
            owner = owner_name(conn, twin)
        inputs_doc = {**prepared.as_json(), "twin_owner": owner}
        key = _cache_key(package.content_hash, prepared, run.parameters)
        earlier = None
        if use_cache:
            with db.read() as conn:
                earlier = _cached(conn, key, run_id)
        if earlier is not None:
            outcome = Outcome(SUCCESSFUL, "", earlier.outputs, flags=["answered-from-cache"])
        else:
            executor = executor_for(manifest, runtime.executor)
            hosted = manifest.remote is not None  # its code is at its provider, not here
            app_dir = "" if hosted else str(packages.extract(package, runtime.apps_dir))
            # normally built at installation; built here for a package run the first time
            # (an app folder, a package installed before it declared libraries) — before
            # the run starts, outside its sandbox; a hosted app brings its own
            env_dir = (
                None
                if hosted
                else environments.prepare(runtime.envs_dir, manifest.requirements, manifest.id)
            )
            spec = RunSpec(
                str(run_dir),
                app_dir,
                manifest.entry_point or "",
                run.parameters,
                limits_of(manifest),
                isolation=runtime.isolation,
                env_dir=None if env_dir is None else str(env_dir),
            )
            outcome = executor.submit(spec, _ProgressWriter(db, run_id)).result()
        values: dict[str, Any] = {
            "inputs": inputs_doc,
            "cache_key": key,
            "flags": outcome.flags + _input_flags(manifest, prepared),
            "measured": outcome.measured,
            "cached_from": earlier.run_id if earlier else None,
        }
        if outcome.status != SUCCESSFUL:
            message = outcome.message
            if outcome.log_tail.strip():
                values["measured"] = {**outcome.measured, "log_tail": outcome.log_tail[-2000:]}
            return _finish(db, run_id, status=outcome.status, message=message, values=values)
        outputs = outcome.outputs or {}
        try:
            check_outputs(manifest, outputs, prepared.ids)
        except InvalidInput as exc:
            return _finish(db, run_id, status=INVALID_OUTPUT, message=exc.message, values=values)
        values["outputs"] = outputs
        values["output_hash"] = output_hash(outputs)
        if store:
            values["stored_seq"] = store_outputs(db, run, manifest, outputs)
        return _finish(db, run_id, status=SUCCESSFUL, message=None, values=values)
    except TweelingError as exc:
        return _finish(db, run_id, status=RunStatus.failed, message=exc.message, values={})
    except Exception as exc:  # the platform's own defect: the run must still end, visibly
        log.exception("run %s failed inside the platform", run_id)
        return _finish(
            db,
            run_id,
            status=RunStatus.failed,
            message=f"platform error: {type(exc).__name__}: {exc}",
            values={},
        )
    finally:
        if run_dir.exists() and not runtime.keep_run_dirs:
            release(run_dir)
            shutil.rmtree(run_dir, ignore_errors=True)


def _abandoned(claimed_by: str | None, started: Any, stale_after: float, at: datetime) -> bool:
    """Whether the process that took a run is gone: on this host, by its pid; elsewhere, when
    the run has been going for longer than any run may (``stale_after`` seconds)."""
    host, _, pid = (claimed_by or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    if started is None:
        return True
    started_at = started if isinstance(started, datetime) else datetime.fromisoformat(started)
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    return (at - started_at).total_seconds() > stale_after


def requeue_interrupted(db: Database, stale_after: float = 86_400.0) -> int:
    """Runs whose process stopped half-way go back to accepted, to be run again from the
    start (a run writes nothing to the twin until it has finished): jobs survive a restart."""
    with db.begin() as conn:
        rows = conn.execute(
            select(app_runs.c.run_id, app_runs.c.claimed_by, app_runs.c.started_at).where(
                app_runs.c.status == RUNNING
            )
        ).all()
        at = db.clock.now()
        back = [r.run_id for r in rows if _abandoned(r.claimed_by, r.started_at, stale_after, at)]
        if back:
            conn.execute(
                update(app_runs)
                .where(app_runs.c.run_id.in_(back), app_runs.c.status == RUNNING)
                .values(status=ACCEPTED, progress=0, claimed_by=None)
            )
        return len(back)


def accepted_runs(db: Database, limit: int = 20) -> list[str]:
    with db.read(snapshot=False) as conn:
        rows = conn.execute(
            select(app_runs.c.run_id)
            .where(app_runs.c.status == ACCEPTED, app_runs.c.recipe_run_id.is_(None))
            .order_by(app_runs.c.id)
            .limit(limit)
        )
        return [r[0] for r in rows]
