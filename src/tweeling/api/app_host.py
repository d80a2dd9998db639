"""``tweeling app serve DIR``: a provider hosts its app as an OGC API – Processes endpoint.

Platforms send a run's inputs (zipped, as the input ``data``) and its parameters; the app
runs here in the same sandbox as on a platform, and the results document goes back. The host
keeps nothing: each request gets a fresh run folder, removed afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.concurrency import run_in_threadpool

from tweeling.api.errors import OGC_PROCESSES_EXCEPTION, add_exception_handlers, problem
from tweeling.api.processes import CONFORMANCE, describe
from tweeling.errors import NotFound
from tweeling.services.hosting import HostedApp


def create_host_app(folder: Path, envs_dir: Path | None = None) -> FastAPI:
    hosted = HostedApp.load(folder, envs_dir)
    manifest = hosted.manifest
    app = FastAPI(title=f"{manifest.name} (hosted by its provider)", version=manifest.version)
    add_exception_handlers(app)

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
        archive, parameters = hosted.parse(body.get("inputs") or {})
        return await run_in_threadpool(_run, archive, parameters)

    def _run(archive: bytes, parameters: dict[str, Any]) -> Any:
        outcome = hosted.run(archive, parameters)
        if not outcome.successful:
            return problem(
                422,
                "job-failed",
                outcome.message or f"the run ended {outcome.status}",
                type=OGC_PROCESSES_EXCEPTION + "job-failed",
                title=outcome.status,
            )
        return outcome.results

    return app
