"""OGC API – Processes, Part 1 Core: the apps installed in a twin, as processes of its API.

``/ogc/{twin}/processes`` lists the twin's installed apps, each described from its manifest
(parameters as inputs with their JSON Schema, declared outputs with units). Execution is
synchronous by default and asynchronous with ``Prefer: respond-async`` (201 and a job at
``/ogc/{twin}/jobs/{jobId}``). Jobs are app runs: they live in the database and outlive the
service. Besides the app's parameters a request may give ``scenario`` (default ``current``)
and ``purpose`` (why the twin's data is used; checked against its shares).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Body, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from tweeling.api.deps import DB, Caller
from tweeling.api.errors import OGC_PROCESSES_EXCEPTION, problem
from tweeling.api.parts import TWIN, ApiPart, Link
from tweeling.errors import InvalidInput, NotFound, TweelingError
from tweeling.services import apps as service
from tweeling.services.apps import SUCCESSFUL, Manifest, RunRecord, Runtime, job_status

router = APIRouter(prefix="/ogc", tags=["OGC API – Processes"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
]
_RESERVED = ("scenario", "purpose")


def part() -> ApiPart:
    """OGC API – Processes on a twin's landing page: its installed apps, their jobs."""
    return ApiPart(
        name="processes",
        router=router,
        landing=TWIN,
        conformance=tuple(CONFORMANCE),
        links=(
            Link(
                "http://www.opengis.net/def/rel/ogc/1.0/processes",
                "/processes",
                "application/json",
                "The apps installed in this twin (OGC API – Processes)",
            ),
            Link("http://www.opengis.net/def/rel/ogc/1.0/job-list", "/jobs", "application/json"),
        ),
        tags={
            "OGC API – Processes": "The apps installed in a twin, run as processes",
            "Provenance": "Why a number is what it is: the chain behind an app's output",
        },
    )


def _root(request: Request, twin: str) -> str:
    return str(request.url_for("ogc_landing", twin=twin))


def _summary(manifest: Manifest, root: str) -> dict[str, Any]:
    return {
        "id": manifest.id,
        "title": manifest.name,
        "description": manifest.summary,
        "version": manifest.version,
        "keywords": [u.value for u in manifest.use_cases],
        "jobControlOptions": ["sync-execute", "async-execute"],
        "outputTransmission": ["value"],
        "links": [
            {
                "rel": "self",
                "type": "application/json",
                "href": f"{root}/processes/{manifest.id}",
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/execute",
                "type": "application/json",
                "href": f"{root}/processes/{manifest.id}/execution",
            },
        ],
    }


def _output_schema(output: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"type": output.type}
    if output.range is not None:
        value["minimum"], value["maximum"] = output.range
    if output.unit:
        value["x-unit"] = output.unit
    if output.kind == "attribute":
        return {
            "type": "object",
            "description": f"one value per {output.layer} object, by object id; stored as "
            f"attribute {output.name!r} prefixed with the app id",
            "additionalProperties": {**value, "type": [output.type, "null"]},
        }
    if output.kind == "layer":
        return {"type": "object", "contentMediaType": "application/geo+json"}
    return value


def describe(manifest: Manifest, root: str, calibrated: dict[str, Any]) -> dict[str, Any]:
    properties = manifest.parameters.schema_.get("properties") or {}
    inputs: dict[str, Any] = {
        "scenario": {
            "title": "Scenario",
            "description": "the scenario to read and to store the results in",
            "schema": {"type": "string", "default": "current"},
            "minOccurs": 0,
        },
        "purpose": {
            "title": "Purpose",
            "description": "why the twin's data is used (purpose binding)",
            "schema": {"type": "string"},
            "minOccurs": 0,
        },
    }
    for name, spec in properties.items():
        schema = dict(spec)
        if name in calibrated:
            schema["default"] = calibrated[name]  # the municipality's own calibration
        inputs[name] = {
            "title": name,
            "description": spec.get("description", ""),
            "schema": schema,
            "minOccurs": 0,
            "keywords": ["calibrated"] if name in manifest.parameters.calibrated else [],
        }
    outputs = {
        o.name: {"title": o.name, "description": o.description, "schema": _output_schema(o)}
        for o in manifest.outputs
    }
    return {**_summary(manifest, root), "inputs": inputs, "outputs": outputs}


def _status_info(record: RunRecord, root: str) -> dict[str, Any]:
    links = [
        {
            "rel": "self",
            "type": "application/json",
            "href": f"{root}/jobs/{record.run_id}",
        }
    ]
    if record.status == SUCCESSFUL:
        links.append(
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/results",
                "type": "application/json",
                "href": f"{root}/jobs/{record.run_id}/results",
            }
        )
    updated = record.ended_at or record.started_at or record.created_at
    return {
        "processID": record.app_id,
        "type": "process",
        "jobID": record.run_id,
        "status": job_status(record.status),
        "message": record.message or record.status,
        "created": record.created_at.isoformat(),
        "started": record.started_at.isoformat() if record.started_at else None,
        "finished": record.ended_at.isoformat() if record.ended_at else None,
        "updated": updated.isoformat(),
        "progress": record.progress,
        "links": links,
    }


def _job_failed(record: RunRecord, headers: dict[str, str] | None = None) -> JSONResponse:
    """A run that ended without results, as an OGC exception (422: the request was sound,
    the app could not produce what it promised)."""
    return problem(
        422,
        "job-failed",
        record.message or f"the run ended {record.status}",
        type=OGC_PROCESSES_EXCEPTION + "job-failed",
        title=f"the run ended {record.status}",
        headers=headers,
        jobID=record.run_id,
    )


def results_document(record: RunRecord) -> dict[str, Any]:
    outputs = record.outputs
    return {
        **(outputs.get("attributes") or {}),
        **(outputs.get("indicators") or {}),
        **(outputs.get("layers") or {}),
    }


@router.get("/{twin}/processes", summary="The apps installed in this twin, as processes")
def processes(
    request: Request, twin: str, db: DB, caller: Caller, purpose: str | None = None
) -> dict[str, Any]:
    root = _root(request, twin)
    listed = service.installed_manifests(db, caller, twin, purpose)
    return {
        "processes": [_summary(m, root) for m, _ in listed],
        "links": [{"rel": "self", "type": "application/json", "href": f"{root}/processes"}],
    }


@router.get("/{twin}/processes/{process_id}", summary="An app's process description")
def process(
    request: Request,
    twin: str,
    process_id: str,
    db: DB,
    caller: Caller,
    purpose: str | None = None,
) -> dict[str, Any]:
    for manifest, calibrated in service.installed_manifests(db, caller, twin, purpose):
        if manifest.id == process_id:
            return describe(manifest, _root(request, twin), calibrated)
    raise NotFound(f"no process {process_id!r} in twin {twin!r}")


@router.post(
    "/{twin}/processes/{process_id}/execution",
    summary="Run the app (sync by default; Prefer: respond-async for a job)",
    response_model=None,
)
async def execute(
    request: Request,
    twin: str,
    process_id: str,
    db: DB,
    caller: Caller,
    body: dict[str, Any] = Body(default_factory=dict),
    prefer: str | None = Header(default=None),
    purpose: str | None = None,
) -> Any:
    given = body.get("inputs") or {}
    if not isinstance(given, dict):
        raise InvalidInput("'inputs' must be an object of input name to value")
    scenario = str(given.get("scenario", "current"))
    purpose = given.get("purpose", purpose)
    overrides = {k: v for k, v in given.items() if k not in _RESERVED}
    runtime: Runtime = request.app.state.runtime
    asynchronous = bool(prefer and "respond-async" in prefer.replace(" ", ""))
    run_id = await run_in_threadpool(
        service.submit,
        runtime,
        caller,
        twin,
        scenario=scenario,
        app_id=process_id,
        overrides=overrides,
        purpose=purpose,
        claim=not asynchronous,  # a synchronous run is this request's, not the job runner's
    )
    root = _root(request, twin)
    location = f"{root}/jobs/{run_id}"
    if asynchronous:
        runner = getattr(request.app.state, "job_runner", None)
        if runner is not None:
            runner.wake()
        record = await run_in_threadpool(service.get_run, db, caller, run_id)
        return JSONResponse(
            _status_info(record, root),
            status_code=201,
            headers={"Location": location, "Preference-Applied": "respond-async"},
        )
    record = await run_in_threadpool(service.execute_claimed, runtime, caller, run_id)
    if record.status != SUCCESSFUL:
        return _job_failed(record, {"Location": location})
    return JSONResponse(results_document(record), headers={"Location": location})


@router.get("/{twin}/jobs", summary="Jobs (app runs) on this twin")
def jobs(request: Request, twin: str, db: DB, caller: Caller, limit: int = 100) -> dict[str, Any]:
    root = _root(request, twin)
    records = service.list_runs(db, caller, twin, min(max(limit, 1), 1000))
    return {
        "jobs": [_status_info(r, root) for r in records],
        "links": [{"rel": "self", "type": "application/json", "href": f"{root}/jobs"}],
    }


def _job(db: Any, caller: Any, twin: str, job_id: str) -> RunRecord:
    record = service.get_run(db, caller, job_id)
    if record.twin != twin:
        raise NotFound(f"no run {job_id!r}")
    return record


@router.get("/{twin}/jobs/{job_id}", summary="A job's status")
def job(request: Request, twin: str, job_id: str, db: DB, caller: Caller) -> dict[str, Any]:
    return _status_info(_job(db, caller, twin, job_id), _root(request, twin))


@router.get(
    "/{twin}/jobs/{job_id}/events",
    summary="A job's status and progress as server-sent events, until it has finished",
    response_class=StreamingResponse,
)
def job_events(request: Request, twin: str, job_id: str, db: DB, caller: Caller) -> Any:
    """``text/event-stream``: one ``status`` event (the job's status info, as
    ``GET /jobs/{id}`` gives it) whenever its status or progress changes; the last one has a
    final status. The first look is made before the stream starts, so an unknown or unseen
    job is a plain 404."""
    _job(db, caller, twin, job_id)  # the policy point, answered as an HTTP status
    root = _root(request, twin)

    def events() -> Iterator[str]:
        # A stream ends after a while even when the job has not (services.apps.follow_run):
        # the browser then reconnects after this many milliseconds and follows on.
        yield "retry: 2000\n\n"
        try:
            for record in service.follow_run(db, caller, job_id):
                yield f"event: status\ndata: {json.dumps(_status_info(record, root))}\n\n"
        except TweelingError as error:  # e.g. the right to read the twin was withdrawn
            yield f"event: error\ndata: {json.dumps({'detail': str(error)})}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/{twin}/jobs/{job_id}/results", summary="A finished job's results")
def job_results(twin: str, job_id: str, db: DB, caller: Caller) -> Any:
    record = _job(db, caller, twin, job_id)
    if not record.finished:
        return problem(
            404,
            "result-not-ready",
            f"job {job_id} is {record.status}; its results are there once it has finished",
            type=OGC_PROCESSES_EXCEPTION + "result-not-ready",
            title=f"job {job_id} is {record.status}",
        )
    if record.status != SUCCESSFUL:
        return _job_failed(record)
    return results_document(record)


@router.get("/{twin}/jobs/{job_id}/provenance", summary="A job's W3C PROV document (PROV-JSON)")
def job_provenance(twin: str, job_id: str, db: DB, caller: Caller) -> Any:
    _job(db, caller, twin, job_id)
    return service.prov_json(db, caller, job_id)


PROV_N = "text/provenance-notation"


@router.get(
    "/{twin}/jobs/{job_id}/provenance.provn",
    summary="A job's W3C PROV document in PROV-N",
    response_class=PlainTextResponse,
    responses={200: {"content": {PROV_N: {}}}},
)
def job_provenance_n(twin: str, job_id: str, db: DB, caller: Caller) -> PlainTextResponse:
    _job(db, caller, twin, job_id)
    return PlainTextResponse(service.prov_n(db, caller, job_id), media_type=PROV_N)


@router.post(
    "/{twin}/jobs/{job_id}/replay",
    summary="Run a finished job again from its record; the verdict compares the output hashes",
)
async def job_replay(request: Request, twin: str, job_id: str, db: DB, caller: Caller) -> Any:
    await run_in_threadpool(_job, db, caller, twin, job_id)
    runtime: Runtime = request.app.state.runtime
    verdict = await run_in_threadpool(service.replay, runtime, caller, job_id)
    return verdict.as_json()


@router.get(
    "/{twin}/jobs/{job_id}/compare/{other_id}",
    summary="What changed from this job's results to another's of the same app",
)
def job_compare(
    twin: str, job_id: str, other_id: str, db: DB, caller: Caller, top: int = 10
) -> dict[str, Any]:
    _job(db, caller, twin, job_id)
    _job(db, caller, twin, other_id)
    return service.compare(db, caller, job_id, other_id, min(max(top, 0), 100)).as_json()


@router.get(
    "/{twin}/collections/{layer}/items/{object_id}/why",
    summary="Why this number? The provenance chain of one stored app output",
    tags=["Provenance"],
)
def why(
    twin: str,
    layer: str,
    object_id: str,
    attribute: str,
    db: DB,
    caller: Caller,
    scenario: str = "current",
    purpose: str | None = None,
) -> dict[str, Any]:
    explanation = service.explain(db, caller, twin, scenario, object_id, attribute, purpose)
    return explanation.as_json()
