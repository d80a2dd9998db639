"""OGC API – Common: the landing pages and ``/conformance``, assembled from the API parts.

``/`` is the platform's landing page (an HTML home page for a browser); ``/ogc/{twin}`` is a
twin's OGC API landing page and ``/ogc/{twin}/conformance`` its conformance declaration.
Neither lists anything itself: each part on the landing page contributes its links and
conformance classes (``api.parts``), so a new part appears here without a change here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tweeling import __version__
from tweeling.api.deps import DB, Caller
from tweeling.api.parts import PLATFORM, TWIN, ApiPart, conformance, landing_links
from tweeling.services import features as features_service
from tweeling.services import store as store_service
from tweeling.services import twins as twins_service
from tweeling.services.access import ANONYMOUS, Principal
from tweeling.services.platform import Database
from tweeling.services.store import Hit
from tweeling.web.negotiation import Resource, check_format, respond

router = APIRouter()
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
TWIN_TAG = "OGC API – Common"


def part() -> ApiPart:
    return ApiPart(
        name="common",
        router=router,
        landing=TWIN,
        tags={
            "platform": "The platform's landing page",
            TWIN_TAG: "A twin's OGC API: its landing page and conformance classes",
        },
    )


@router.get(
    "/",
    summary="Landing page (an HTML home page for a browser)",
    tags=["platform"],
    response_model=None,
)
def platform_landing(request: Request, db: DB, caller: Caller) -> Response:
    body = {
        "title": "Tweeling",
        "version": __version__,
        "links": [
            *landing_links(request, PLATFORM, ""),
            {"rel": "service-desc", "href": "/openapi.json"},
            {"rel": "service-doc", "href": "/docs"},
        ],
    }
    context = {"listing": lambda: home_listing(db, caller), "db": db, "principal": caller}
    return respond(request, Resource("platform-landing", body, context=context))


def home_listing(db: Database, caller: Principal) -> dict[str, Any]:
    """What the home page shows: the twins the visitor may see, the store's accredited
    apps by use case."""
    listed = store_service.find(db, caller, "", limit=200)
    by_use_case: dict[str, list[Hit]] = {}
    for hit in listed.hits:
        if hit.facets.get("origin", "local") == "local":  # harvested listings live elsewhere
            for use_case in hit.facets.get("use_cases") or ["other"]:
                by_use_case.setdefault(use_case, []).append(hit)
    return {
        "twins": twins_service.visible_twins(db, caller),
        "signed_in": caller is not ANONYMOUS,
        "use_cases": sorted(by_use_case.items()),
    }


def twin_root(request: Request, twin: str) -> str:
    return str(request.url_for("ogc_landing", twin=twin))


@router.get(
    "/ogc/{twin}",
    name="ogc_landing",
    summary="Landing page of a twin's OGC API",
    tags=[TWIN_TAG],
    response_model=None,
)
def twin_landing(
    request: Request, twin: str, db: DB, caller: Caller, purpose: str | None = None
) -> Response:
    check_format(request)
    features_service.layers(db, caller, twin, "current", purpose)  # the policy point
    root = twin_root(request, twin)
    body = {
        "title": f"Tweeling twin {twin}",
        "description": "City objects of this twin per layer, as OGC API – Features",
        "links": [
            {"rel": "self", "type": "application/json", "href": root},
            {"rel": "service-desc", "type": OPENAPI_JSON, "href": str(request.url_for("openapi"))},
            {"rel": "conformance", "type": "application/json", "href": f"{root}/conformance"},
            *landing_links(request, TWIN, root),
        ],
    }
    return respond(request, Resource("twin-landing", body, context={"twin": twin, "root": root}))


@router.get("/ogc/{twin}/conformance", summary="Conformance classes", tags=[TWIN_TAG])
def twin_conformance(request: Request, twin: str) -> dict[str, Any]:
    return conformance(request, TWIN)
