"""The twins: a list, and a twin's viewer page (3D Tiles in CesiumJS, a 2D map, a table).

The viewer streams the twin's own 3D Tiles for the scenario shown
(``/ogc/{twin}/3dtiles/{scenario}/tileset.json``) and reads objects from the Features API; it
needs nothing from another origin (no Cesium ion, no basemap unless the operator sets one)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tweeling.errors import NotFound
from tweeling.services import twins as twins_service
from tweeling.services.platform import Database
from tweeling.web import i18n
from tweeling.web.studio import NavItem, Section, StudioDeps
from tweeling.web.studio.layout import Visitor, render, translate


def section() -> Section:
    return Section(
        name="twins",
        routes=routes,
        nav=(NavItem(i18n.N_("Twins"), "/studio/twins", order=10),),
    )


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()
    DB = Annotated[Database, Depends(deps.database)]
    Seen = Annotated[Visitor, Depends(deps.visitor)]

    @router.get("/studio/twins")
    def twin_list(request: Request, db: DB, visitor: Seen) -> Response:
        return render(
            request,
            visitor,
            "studio/twins.html",
            title=translate(visitor.language, "Twins"),
            twins=twins_service.twin_summaries(db, visitor.principal),
        )

    @router.get("/studio/twins/{twin}")
    def viewer(
        request: Request, twin: str, db: DB, visitor: Seen, scenario: str = "current"
    ) -> Response:
        info = twins_service.twin_info(db, visitor.principal, twin)  # the policy point
        if scenario not in info.scenarios:
            raise NotFound(f"twin {twin} has no scenario {scenario!r}")
        return render(
            request,
            visitor,
            "studio/viewer.html",
            title=info.title or twin,
            twin=info,
            scenario=scenario,
        )

    return router
