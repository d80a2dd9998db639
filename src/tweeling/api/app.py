"""The application factory: each call builds an independent app (tests get their own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tweeling import __version__
from tweeling.access.oidc import OIDCSettings
from tweeling.api import uploads
from tweeling.api.cors import add_cors
from tweeling.api.errors import add_exception_handlers
from tweeling.api.parts import assembled as assembled_parts
from tweeling.api.parts import openapi_tags
from tweeling.services import usage
from tweeling.services.background import AtStart, AtStop, BackgroundService, running
from tweeling.services.federation import Harvester
from tweeling.services.platform import Database, JobRunner, Runtime, default_runtime, open_database
from tweeling.web.negotiation import Negotiation


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

    parts = assembled_parts()
    app = FastAPI(
        lifespan=lifespan,
        title="Tweeling",
        version=__version__,
        description="Urban digital twins: twins, datasets, scenarios and their edits.",
        openapi_tags=openapi_tags(parts),
    )
    app.state.db = database
    app.state.runtime = app_runtime
    app.state.cookie_secure = cookie_secure
    app.state.oidc_settings = oidc_settings or OIDCSettings()
    add_exception_handlers(app)
    add_cors(app)
    # Parts and renderers are resolved once here, never per request.
    app.state.api_parts = parts
    app.state.negotiation = Negotiation.from_registry()
    for api_part in parts:
        app.include_router(api_part.router)
    return app
