"""The application factory: each call builds an independent app (tests get their own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from tweeling import __version__
from tweeling.access.oidc import OIDCSettings
from tweeling.api import (
    auth,
    features,
    organisations,
    processes,
    records,
    store,
    tiles,
    twins,
    uploads,
)
from tweeling.api.deps import ANONYMOUS, DB, Caller
from tweeling.api.errors import add_exception_handlers
from tweeling.services import store as store_service
from tweeling.services import twins as twins_service
from tweeling.services import usage
from tweeling.services.access import Principal
from tweeling.services.background import AtStart, AtStop, BackgroundService, running
from tweeling.services.federation import Harvester
from tweeling.services.platform import Database, JobRunner, Runtime, default_runtime, open_database
from tweeling.services.store import Hit
from tweeling.web.pages import page, wants_html


def create_app(
    db: Database | None = None,
    *,
    cookie_secure: bool = True,
    oidc_settings: OIDCSettings | None = None,
    runtime: Runtime | None = None,
    run_jobs: bool = True,
) -> FastAPI:
    """A Tweeling platform API over ``db`` (default: the configured database).

    ``cookie_secure`` marks session cookies Secure (HTTPS only; browsers treat localhost as
    secure too); tests that speak plain HTTP to a named host turn it off. ``runtime`` says
    where app runs go (default: the configured executor, run folders under TWEELING_HOME);
    ``run_jobs`` starts the background runner of asynchronous jobs with the app.
    """
    database = db or open_database()
    database.require_current()
    own_runtime = runtime is None
    app_runtime = runtime or default_runtime(database)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Started in this order and stopped in the reverse one (services.background).
        services: list[BackgroundService] = [
            # upload spool files a killed server left behind (those another worker holds stay)
            AtStart(lambda: uploads.remove_stale(uploads.spool_folder(app_runtime.home))),
            AtStop(lambda: usage.flush(database)),  # reads logged in the last second
        ]
        if own_runtime:
            services.append(AtStop(app_runtime.executor.close))
        if run_jobs:
            app.state.job_runner = JobRunner(app_runtime)
            services += [app.state.job_runner, Harvester(database)]
        with running(services):
            yield

    app = FastAPI(
        lifespan=lifespan,
        title="Tweeling",
        version=__version__,
        description="Urban digital twins: twins, datasets, scenarios and their edits.",
    )
    app.state.db = database
    app.state.runtime = app_runtime
    app.state.cookie_secure = cookie_secure
    app.state.oidc_settings = oidc_settings or OIDCSettings()
    add_exception_handlers(app)
    app.include_router(auth.router)
    app.include_router(twins.router)
    app.include_router(organisations.router)
    app.include_router(features.router)
    app.include_router(tiles.router)
    app.include_router(processes.router)
    app.include_router(records.router)
    app.include_router(store.router)

    @app.get("/", summary="Landing page (an HTML home page for a browser)", tags=["platform"])
    def landing(request: Request, db: DB, caller: Caller) -> Any:
        if wants_html(request):
            return home_page(db, caller)
        return {
            "title": "Tweeling",
            "version": __version__,
            "links": [
                {"rel": "twins", "href": "/twins"},
                {"rel": "store", "href": "/store/search"},
                {"rel": "service-desc", "href": "/openapi.json"},
                {"rel": "service-doc", "href": "/docs"},
            ],
        }

    return app


def home_page(db: Database, caller: Principal) -> HTMLResponse:
    """The home page a browser gets at ``/``: the twins the visitor may see, the store's
    accredited apps by use case, the API documentation."""
    listed = store_service.find(db, caller, "", limit=200)
    by_use_case: dict[str, list[Hit]] = {}
    for hit in listed.hits:
        if hit.facets.get("origin", "local") == "local":  # harvested listings live elsewhere
            for use_case in hit.facets.get("use_cases") or ["other"]:
                by_use_case.setdefault(use_case, []).append(hit)
    return page(
        "home.html",
        title="Tweeling",
        crumbs=[],
        twins=twins_service.visible_twins(db, caller),
        signed_in=caller is not ANONYMOUS,
        use_cases=sorted(by_use_case.items()),
    )
