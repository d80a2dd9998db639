"""``tweeling app serve DIR``: a provider hosts its app as an OGC API – Processes endpoint.

Platforms send a run's inputs (zipped, as the input ``data``) and its parameters; the app
runs here in the same sandbox as on a platform, and the results document goes back. The host
keeps nothing: each request gets a fresh run folder, removed afterwards.
"""

from __future__ import annotations

import base64
import binascii
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from tweeling.api.errors import OGC_PROCESSES_EXCEPTION, add_exception_handlers, problem
from tweeling.api.processes import CONFORMANCE, describe
from tweeling.apps.check import check_app
from tweeling.apps.parameters import resolve
from tweeling.apps.remote import DATA_INPUT, unzip_inputs
from tweeling.apps.runs import limits_of
from tweeling.apps.sandbox import SUCCESSFUL, RunSpec, launch, release
from tweeling.errors import InvalidInput, NotFound


def create_host_app(folder: Path) -> FastAPI:
    manifest = check_app(folder).manifest
    if manifest.entry_point is None:
        raise InvalidInput(f"{folder}: a remote app's manifest cannot be served; serve the code")
    app = FastAPI(title=f"{manifest.name} (hosted by its provider)", version=manifest.version)
    add_exception_handlers(app)
    app_dir = folder.resolve()

    def root(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def known(process_id: str) -> None:
        if process_id != manifest.id:
            raise NotFound(f"no process {process_id!r}")

    @app.get("/")
    def landing(request: Request) -> dict[str, Any]:
        base = root(request)
        return {
            "title": manifest.name,
            "links": [
                {"rel": "conformance", "href": f"{base}/conformance"},
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
                    "href": f"{base}/processes",
                },
            ],
        }

    @app.get("/conformance")
    def conformance() -> dict[str, Any]:
        return {"conformsTo": CONFORMANCE}

    @app.get("/processes")
    def processes(request: Request) -> dict[str, Any]:
        return {"processes": [describe(manifest, root(request), {})], "links": []}

    @app.get("/processes/{process_id}")
    def process(request: Request, process_id: str) -> dict[str, Any]:
        known(process_id)
        return describe(manifest, root(request), {})

    @app.post("/processes/{process_id}/execution", response_model=None)
    async def execute(process_id: str, body: dict[str, Any] = Body(...)) -> Any:
        known(process_id)
        given = dict(body.get("inputs") or {})
        data = given.pop(DATA_INPUT, None)
        if not isinstance(data, dict) or "value" not in data:
            raise InvalidInput(f"input {DATA_INPUT!r} (the zipped run inputs) is missing")
        try:
            archive = base64.b64decode(str(data["value"]), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"input {DATA_INPUT!r} is not base64") from None
        parameters = resolve(manifest, given)
        return await run_in_threadpool(_run, archive, parameters)

    def _run(archive: bytes, parameters: dict[str, Any]) -> Any:
        run_dir = Path(tempfile.mkdtemp(prefix="tweeling-hosted-"))
        try:
            try:
                unzip_inputs(archive, run_dir / "inputs")
            except (ValueError, OSError) as exc:
                raise InvalidInput(f"input {DATA_INPUT!r}: {exc}") from None
            assert manifest.entry_point is not None
            spec = RunSpec(
                str(run_dir), str(app_dir), manifest.entry_point, parameters, limits_of(manifest)
            )
            outcome = launch(spec)
        finally:
            release(run_dir)
            shutil.rmtree(run_dir, ignore_errors=True)
        if outcome.status != SUCCESSFUL:
            return problem(
                422,
                "job-failed",
                outcome.message or f"the run ended {outcome.status}",
                type=OGC_PROCESSES_EXCEPTION + "job-failed",
                title=outcome.status,
            )
        out = outcome.outputs or {}
        return {**out.get("attributes", {}), **out.get("indicators", {}), **out.get("layers", {})}

    return app
