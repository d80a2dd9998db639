"""The twins: a list, and a twin's viewer page (3D Tiles in CesiumJS, a table of objects).

The viewer streams the twin's own 3D Tiles for the scenario shown
(``/ogc/{twin}/3dtiles/{scenario}/tileset.json``) and reads objects from the Features API; it
needs nothing from another origin (no Cesium ion, no basemap unless the operator sets one).

The page lists what the objects of a layer can be coloured by: the layer's queryables (the
datasets' attributes and the stored outputs of apps, ``<app>.<output>``), each with its kind
(a number gets a graduated ramp, anything else categories) and its unit where the twin knows
it (an app's manifest declares its outputs' units; CityJSON fixes a few attributes' units)."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tweeling.errors import NotFound, Unauthenticated
from tweeling.services import apps as apps_service
from tweeling.services import features as features_service
from tweeling.services import twins as twins_service
from tweeling.services.platform import Database
from tweeling.web import i18n
from tweeling.web.studio import NavItem, Section, StudioDeps
from tweeling.web.studio.layout import Visitor, render, translate

# Units the CityJSON specification fixes for its standard attributes (metres).
CITYJSON_UNITS = {"measuredHeight": "m"}
# Queryables that are no attribute to colour by.
NOT_COLOURABLE = {"geometry", "id"}
NUMERIC = {"number", "integer"}


@dataclass(frozen=True)
class Colouring:
    """Something the objects of a layer can be coloured by."""

    name: str
    kind: str  # "number" (a graduated ramp) or "category"
    unit: str | None
    app: str | None  # the app whose stored output it is, or None for the data's own


def section() -> Section:
    return Section(
        name="twins",
        routes=routes,
        nav=(NavItem(i18n.N_("Twins"), "/studio/twins", order=10),),
    )


def colourings(
    queryables: dict[str, dict[str, Any]], apps: list[tuple[Any, dict[str, Any]]], layer: str
) -> list[Colouring]:
    """The layer's colourable attributes: the data's own first, then the apps' outputs."""
    outputs = {
        f"{manifest.id}.{output.name}": (manifest.id, output.unit)
        for manifest, _ in apps
        for output in manifest.outputs
        if output.kind == "attribute" and output.layer == layer
    }
    found = []
    for name, schema in queryables.items():
        if name in NOT_COLOURABLE:
            continue
        kind = "number" if schema.get("type") in NUMERIC else "category"
        app, unit = outputs.get(name, (None, CITYJSON_UNITS.get(name)))
        found.append(Colouring(name, kind, unit, app))
    return sorted(found, key=lambda c: (c.app is not None, c.name.lower()))


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
        request: Request,
        twin: str,
        db: DB,
        visitor: Seen,
        scenario: str = "current",
        layer: str | None = None,
        colour: str | None = None,
    ) -> Response:
        try:
            info = twins_service.twin_info(db, visitor.principal, twin)  # the policy point
        except NotFound:
            # A private twin is hidden from anonymous visitors; whether it exists or not,
            # signing in is their way forward (the same answer either way: nothing leaks).
            if not visitor.signed_in:
                raise Unauthenticated(f"sign in to see twin {twin!r}") from None
            raise
        if scenario not in info.scenarios:
            raise NotFound(f"twin {twin} has no scenario {scenario!r}")
        layers = sorted(
            found.id
            for found in features_service.layers(db, visitor.principal, twin, scenario, None)
        )
        if layer is None:  # buildings where there are any: what most people look at
            layer = "buildings" if "buildings" in layers else (layers[0] if layers else None)
        elif layer not in layers:
            raise NotFound(f"twin {twin} has no layer {layer!r}")
        found: list[Colouring] = []
        app_ids: list[str] = []
        if layer is not None:
            queryables = features_service.queryables(
                db, visitor.principal, twin, layer, scenario=scenario
            )
            apps = apps_service.installed_manifests(db, visitor.principal, twin)
            found = colourings(queryables, apps, layer)
            app_ids = [manifest.id for manifest, _ in apps]
        return render(
            request,
            visitor,
            "studio/viewer.html",
            title=info.title or twin,
            twin=info,
            scenario=scenario,
            layers=layers,
            layer=layer,
            colourings=found,
            apps=app_ids,
            # ?colour=<attribute> (a link from a run's results) opens the page coloured by it
            colour=colour if any(c.name == colour for c in found) else None,
        )

    return router
