"""OGC API – Records, Part 1 Core: the app store's public catalogue.

``/records/collections/apps/items`` are the listed app versions as record-core GeoJSON, found
with ``q`` (every word, as a prefix, ranked) and the store's facets; each record is also
DCAT-AP JSON-LD with ``f=jsonld`` (or ``Accept: application/ld+json``), and the collection as
a whole a ``dcat:Catalog``. Only listed versions appear: the catalogue is public, like the
store. OWSLib's Records client reads it (tested); another store harvests it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from tweeling.api.deps import DB, Caller
from tweeling.api.parts import RECORDS, ApiPart, Link, conformance, landing_links
from tweeling.errors import NotFound
from tweeling.services import store as service
from tweeling.services.store import State, Version, filters_from
from tweeling.store.records import (
    dcat,
    dcat_catalogue,
    dcat_document,
    record,
    remote_dcat,
    remote_record,
)

router = APIRouter(prefix="/records", tags=["OGC API – Records (app store)"])

COLLECTION = "apps"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/json",
]
GEOJSON = "application/geo+json"
JSONLD = "application/ld+json"


def part() -> ApiPart:
    """OGC API – Records: the store's public catalogue, with its own landing page."""
    return ApiPart(
        name="records",
        router=router,
        landing=RECORDS,
        conformance=tuple(CONFORMANCE),
        links=(Link("data", "/collections", "application/json"),),
        tags={"OGC API – Records (app store)": "The app store's catalogue as OGC API – Records"},
    )


def _base(request: Request) -> str:
    return str(request.url_for("records_landing")).rstrip("/")


def _wants_jsonld(request: Request, f: str | None) -> bool:
    if f is not None:
        return f == "jsonld"
    return JSONLD in request.headers.get("accept", "")


def _collection(base: str) -> dict[str, Any]:
    items = f"{base}/collections/{COLLECTION}/items"
    return {
        "id": COLLECTION,
        "title": "Tweeling app store",
        "description": "Accredited digital-twin apps for governments: the listed versions",
        "itemType": "record",
        "type": "Collection",
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/collections/{COLLECTION}"},
            {"rel": "items", "type": GEOJSON, "href": items},
            {"rel": "alternate", "type": JSONLD, "href": f"{items}?f=jsonld"},
        ],
    }


@router.get("", name="records_landing", summary="The app store catalogue's landing page")
def landing(request: Request) -> dict[str, Any]:
    base = _base(request)
    return {
        "title": "Tweeling app store catalogue",
        "description": "OGC API – Records of the apps listed in this store",
        "links": [
            {"rel": "self", "type": "application/json", "href": base},
            {"rel": "conformance", "type": "application/json", "href": f"{base}/conformance"},
            *landing_links(request, RECORDS, base),
            {
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "href": str(request.url_for("openapi")),
            },
        ],
    }


@router.get("/conformance", summary="Conformance classes of the catalogue")
def records_conformance(request: Request) -> dict[str, Any]:
    return conformance(request, RECORDS)


@router.get("/collections", summary="The catalogue's collections")
def collections(request: Request) -> dict[str, Any]:
    base = _base(request)
    return {
        "collections": [_collection(base)],
        "links": [{"rel": "self", "type": "application/json", "href": f"{base}/collections"}],
    }


@router.get("/collections/{collection_id}", summary="A catalogue collection")
def collection(collection_id: str, request: Request) -> dict[str, Any]:
    if collection_id != COLLECTION:
        raise NotFound(f"no collection {collection_id!r} (the catalogue has {COLLECTION!r})")
    return _collection(_base(request))


@router.get("/collections/{collection_id}/items", summary="Records of listed apps")
def items(
    collection_id: str,
    request: Request,
    db: DB,
    caller: Caller,
    q: str = "",
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0),
    use_case: str | None = None,
    publisher: str | None = None,
    price_model: str | None = None,
    data: str | None = Query(None, description="only apps that read this layer"),
    f: str | None = Query(None, pattern="^(json|jsonld)$"),
) -> Any:
    if collection_id != COLLECTION:
        raise NotFound(f"no collection {collection_id!r} (the catalogue has {COLLECTION!r})")
    filters = filters_from(
        use_case=use_case, publisher=publisher, price_model=price_model, data=data
    )
    results, entries = service.catalogue_page(db, caller, q, filters, limit, offset)
    base = f"{_base(request)}/collections/{COLLECTION}/items"
    if _wants_jsonld(request, f):
        nodes = [
            remote_dcat(e) if isinstance(e, dict) else dcat(e, f"{base}/{e.app_id}")
            for e in entries
        ]
        return JSONResponse(
            dcat_catalogue(str(request.url), "Tweeling app store", nodes), media_type=JSONLD
        )
    links = [{"rel": "self", "type": GEOJSON, "href": str(request.url)}]
    if offset + len(entries) < results.total:
        following = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append({"rel": "next", "type": GEOJSON, "href": str(following)})
    body = {
        "type": "FeatureCollection",
        "numberMatched": results.total,
        "numberReturned": len(entries),
        "features": [
            remote_record(e, f"{base}/{e['key']}")
            if isinstance(e, dict)
            else record(e, f"{base}/{e.app_id}", report_url=_report(request, e))
            for e in entries
        ],
        "links": links,
        "tweeling:facets": results.facets,
    }
    return JSONResponse(body, media_type=GEOJSON)


def _report(request: Request, version: Version) -> str:
    return str(request.url_for("accreditation_report", app=version.app_id, version=version.version))


@router.get("/collections/{collection_id}/items/{record_id}", summary="One app's record")
def item(
    collection_id: str,
    record_id: str,
    request: Request,
    db: DB,
    caller: Caller,
    f: str | None = Query(None, pattern="^(json|jsonld)$"),
) -> Any:
    if collection_id != COLLECTION:
        raise NotFound(f"no collection {collection_id!r} (the catalogue has {COLLECTION!r})")
    url = f"{_base(request)}/collections/{COLLECTION}/items/{record_id}"
    remote = service.harvested_record(db, record_id)
    if remote is not None:
        if _wants_jsonld(request, f):
            return JSONResponse(dcat_document(remote_dcat(remote)), media_type=JSONLD)
        return JSONResponse(remote_record(remote, url), media_type=GEOJSON)
    version, rating = service.catalogue_item(db, caller, record_id)
    if version.state not in (State.approved, State.deprecated):
        raise NotFound(f"no record {record_id!r} in the catalogue")
    if _wants_jsonld(request, f):
        return JSONResponse(dcat_document(dcat(version, url)), media_type=JSONLD)
    return JSONResponse(record(version, url, rating, _report(request, version)), media_type=GEOJSON)
