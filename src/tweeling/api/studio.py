"""The Studio (the web front) as an API part: its pages and its static assets.

The pages live in ``web/studio/`` and know nothing of this package; they are handed the
API's request dependencies here (the database, the caller) so that a page sees exactly what
the same person would see through the API."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from tweeling.api.deps import database, principal
from tweeling.api.parts import PLATFORM, ApiPart
from tweeling.web import studio
from tweeling.web.studio.layout import STATIC, STATIC_URL, visitor_dependency


def part() -> ApiPart:
    router = APIRouter(include_in_schema=False)
    deps = studio.StudioDeps(
        database=database, principal=principal, visitor=visitor_dependency(principal)
    )
    router.include_router(studio.router(deps))
    # check_dir=False: a server started before `make assets` still serves the pages (they
    # say the assets are missing) and picks the files up once they are built.
    router.mount(STATIC_URL, StaticFiles(directory=STATIC, check_dir=False), name="static")
    return ApiPart(name="studio", router=router, landing=PLATFORM)
