"""OGC API – Features, Part 1 Core: every layer of a twin as a collection (GeoJSON, CRS84).

Each twin is its own OGC API landing page, ``/ogc/{twin}``; ``?scenario=`` picks the scenario
(default ``current``) and ``?purpose=`` states why the data is read (purpose binding).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tweeling.api.deps import DB, MAX_ID, Caller
from tweeling.api.parts import TWIN, ApiPart, Link
from tweeling.errors import InvalidInput, NotFound
from tweeling.services import features as service
from tweeling.web.negotiation import Resource, check_format, respond

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
]
_KNOWN_PARAMETERS = frozenset(
    {
        "bbox",
        "limit",
        "offset",
        "scenario",
        "purpose",
        "f",
        "filter",
        "filter-lang",
        "crs",
        "bbox-crs",
        "datetime",
        "filter-crs",
    }
)
GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
CITYJSON = "application/city+json"


def part() -> ApiPart:
    """OGC API – Features on a twin's landing page: its layers as collections."""
    return ApiPart(
        name="features",
        router=router,
        landing=TWIN,
        conformance=tuple(CONFORMANCE),
        links=(Link("data", "/collections", "application/json"),),
        tags={"OGC API – Features": "A twin's layers as collections of features"},
    )


CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _root(request: Request, twin: str) -> str:
    return str(request.url_for("ogc_landing", twin=twin))


def _query(request: Request, **changes: Any) -> str:
    params = dict(request.query_params)
    params.update({k: str(v) for k, v in changes.items()})
    return f"{str(request.url).split('?')[0]}?{urlencode(params)}"


def parse_bbox(
    text: str | None, geographic_range: bool = True
) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidInput(f"bbox {text!r} is not a list of numbers") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise InvalidInput(f"bbox needs 4 (or 6) numbers, got {len(values)}")
    x1, y1, x2, y2 = values
    if geographic_range and not (
        -180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90
    ):
        raise InvalidInput(f"bbox {text!r} is outside longitude/latitude range (CRS84)")
    if y1 > y2:
        raise InvalidInput(f"bbox {text!r}: the lower latitude is above the upper one")
    return x1, y1, x2, y2


def _collection(request: Request, twin: str, layer: service.Layer, twin_crs: str) -> dict[str, Any]:
    base = f"{_root(request, twin)}/collections/{layer.id}"
    return {
        "id": layer.id,
        "title": layer.id,
        "itemType": "feature",
        "crs": service.supported_crs(twin_crs),
        "storageCrs": service.crs_uri(twin_crs),
        "extent": {"spatial": {"bbox": [layer.extent], "crs": CRS84}} if layer.extent else {},
        "links": [
            {"rel": "self", "type": "application/json", "href": base},
            {"rel": "items", "type": GEOJSON, "href": f"{base}/items"},
            {"rel": QUERYABLES_REL, "type": SCHEMA_JSON, "href": f"{base}/queryables"},
        ],
    }


@router.get("/{twin}/collections", summary="The twin's layers")
def collections(
    request: Request,
    twin: str,
    db: DB,
    caller: Caller,
    scenario: str = "current",
    purpose: str | None = None,
) -> Any:
    found = service.layers(db, caller, twin, scenario, purpose)
    twin_crs = service.twin_crs(db, caller, twin, purpose)
    root = _root(request, twin)
    body = {
        "links": [{"rel": "self", "type": "application/json", "href": f"{root}/collections"}],
        "collections": [_collection(request, twin, layer, twin_crs) for layer in found],
    }
    context = {"twin": twin, "root": root, "layers": found}
    return respond(request, Resource("twin-collections", body, context=context))


@router.get("/{twin}/collections/{layer}", summary="One layer")
def collection(
    request: Request,
    twin: str,
    layer: str,
    db: DB,
    caller: Caller,
    scenario: str = "current",
    purpose: str | None = None,
) -> dict[str, Any]:
    twin_crs = service.twin_crs(db, caller, twin, purpose)
    for found in service.layers(db, caller, twin, scenario, purpose):
        if found.id == layer:
            return _collection(request, twin, found, twin_crs)
    raise NotFound(f"twin {twin!r} has no layer {layer!r}")


@router.get("/{twin}/collections/{layer}/queryables", summary="What a filter can name")
def queryables(
    request: Request,
    twin: str,
    layer: str,
    db: DB,
    caller: Caller,
    scenario: str = "current",
    purpose: str | None = None,
) -> Response:
    """The layer's queryables as JSON Schema (OGC API – Features Part 3)."""
    properties = service.queryables(db, caller, twin, layer, scenario=scenario, purpose=purpose)
    url = f"{_root(request, twin)}/collections/{layer}/queryables"
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": f"Queryables of {layer}",
        "properties": properties,
        "additionalProperties": True,  # objects may carry attributes no profile has seen
    }
    return Response(orjson.dumps(doc), media_type=SCHEMA_JSON)


@router.get("/{twin}/collections/{layer}/items", summary="Features of a layer")
def items(
    request: Request,
    twin: str,
    layer: str,
    db: DB,
    caller: Caller,
    bbox: str | None = None,
    limit: int = Query(10, ge=1, le=service.MAX_LIMIT),
    offset: int = Query(0, ge=0, le=MAX_ID),
    scenario: str = "current",
    purpose: str | None = None,
    filter: str | None = Query(None, description="CQL2 filter"),
    filter_lang: str = Query("cql2-text", alias="filter-lang"),
    filter_crs: str | None = Query(
        None, alias="filter-crs", description="CRS of the filter's geometries (CRS84 only)"
    ),
    crs: str | None = Query(None, description="CRS of the returned geometries (URI)"),
    bbox_crs: str | None = Query(None, alias="bbox-crs", description="CRS of bbox (URI)"),
    when: str | None = Query(
        None, alias="datetime", description="instant or interval (a/b, '..' for open)"
    ),
) -> Response:
    """Features of a layer; any other query parameter is a simple property filter."""
    check_format(request)
    properties = {k: v for k, v in request.query_params.items() if k not in _KNOWN_PARAMETERS}
    if filter_crs is not None and filter_crs not in (CRS84, "OGC:CRS84"):
        raise InvalidInput(f"filter-crs {filter_crs!r} is not offered; filters use {CRS84}")
    box = parse_bbox(bbox, geographic_range=bbox_crs is None)
    page_ = service.items(
        db,
        caller,
        twin,
        layer,
        scenario=scenario,
        bbox=box,
        limit=limit,
        offset=offset,
        purpose=purpose,
        cql=filter,
        cql_lang=filter_lang,
        properties=properties,
        crs=crs,
        bbox_crs=bbox_crs,
        datetime=when,
    )
    encoded, more, out_crs = page_.features, page_.more, page_.crs

    def city_json() -> dict[str, Any]:  # run only when CityJSON is asked for
        ids = [orjson.loads(f)["id"] for f in encoded]
        return service.city_json(
            db, caller, twin, layer, ids=ids, scenario=scenario, purpose=purpose
        )

    links = [{"rel": "self", "type": GEOJSON, "href": str(request.url)}]
    if more:
        links.append(
            {"rel": "next", "type": GEOJSON, "href": _query(request, offset=offset + limit)}
        )
    if offset:
        links.append(
            {"rel": "prev", "type": GEOJSON, "href": _query(request, offset=max(0, offset - limit))}
        )
    # Assembled as bytes: the features arrive serialised from the service.
    tail = orjson.dumps(
        {
            "numberReturned": len(encoded),
            "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "links": links,
        }
    )
    body = b'{"type":"FeatureCollection","features":[' + b",".join(encoded) + b"]," + tail[1:]
    headers = {"Content-Crs": f"<{service.crs_uri(out_crs)}>"}
    context = {
        "twin": twin,
        "layer": layer,
        "root": lambda: _root(request, twin),  # a route look-up: only where a page needs it
        "offset": offset,
        "city_json": city_json,
    }
    return respond(request, Resource("feature-collection", body, GEOJSON, headers, context))


@router.get("/{twin}/collections/{layer}/items/{feature_id}", summary="One feature")
def item(
    request: Request,
    twin: str,
    layer: str,
    feature_id: str,
    db: DB,
    caller: Caller,
    scenario: str = "current",
    purpose: str | None = None,
    crs: str | None = Query(None, description="CRS of the returned geometry (URI)"),
) -> Response:
    check_format(request)
    page_ = service.items(
        db,
        caller,
        twin,
        layer,
        scenario=scenario,
        limit=1,
        purpose=purpose,
        object_id=feature_id,
        crs=crs,
    )
    encoded, out_crs = page_.features, page_.crs
    feature = orjson.loads(encoded[0])
    root = _root(request, twin)
    feature["links"] = [
        {"rel": "self", "type": GEOJSON, "href": str(request.url)},
        {"rel": "collection", "type": "application/json", "href": f"{root}/collections/{layer}"},
    ]

    def city_json() -> dict[str, Any]:  # run only when CityJSON is asked for
        return service.city_json(
            db, caller, twin, layer, ids=[feature_id], scenario=scenario, purpose=purpose
        )

    headers = {"Content-Crs": f"<{service.crs_uri(out_crs)}>"}
    context = {"twin": twin, "layer": layer, "root": root, "city_json": city_json}
    return respond(request, Resource("feature", orjson.dumps(feature), GEOJSON, headers, context))
