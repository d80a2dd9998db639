"""The app store's own JSON API: search, product pages, fit reports, publishing, decisions,
installation, reviews and notices. Thin: each route calls one service (``services.store``),
which goes through the policy point; the public catalogue is also OGC API – Records
(``api.records``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from tweeling.api import uploads
from tweeling.api.deps import DB, Caller, RowId, SignedIn
from tweeling.api.parts import PLATFORM, ApiPart, Link
from tweeling.errors import UnsupportedMediaType
from tweeling.services import accreditation as accreditation_service
from tweeling.services import store as service
from tweeling.services.accreditation import Assessment
from tweeling.services.store import MAX_ENTRIES, SUFFIX, Version, filters_from
from tweeling.store.pages import render_markdown
from tweeling.web.negotiation import Resource
from tweeling.web.negotiation import respond as represent  # respond() is a route here

router = APIRouter(prefix="/store", tags=["app store"])
PACKAGE_TYPE = "application/vnd.tweeling.app+zip"


def part() -> ApiPart:
    return ApiPart(
        name="store",
        router=router,
        landing=PLATFORM,
        links=(Link("store", "/store/search"),),
        tags={"app store": "Search, product pages, publishing, accreditation, installation"},
    )


def _version(version: Version, decisions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    doc = {
        "app": version.app_id,
        "version": version.version,
        "state": version.state.value,
        "publisher": version.publisher or version.manifest.get("publisher"),
        "package_hash": version.content_hash,
        "licence": version.manifest.get("licence"),
        "use_cases": version.manifest.get("use_cases", []),
        "submitted_at": version.submitted_at.isoformat(),
        "page": version.page.model_dump(mode="json"),
        "description_html": render_markdown(version.page.description),
    }
    if decisions is not None:
        doc["decisions"] = decisions
    return doc


def _base(request: Request) -> str:
    return str(request.url_for("store_search")).rsplit("/", 1)[0]


@router.get(
    "/search",
    name="store_search",
    summary="Search the store's listings (ranked, with facet counts); HTML with f=html",
)
def search(
    request: Request,
    db: DB,
    caller: Caller,
    q: str = "",
    use_case: str | None = None,
    publisher: str | None = None,
    price_model: str | None = None,
    data: str | None = Query(None, description="only apps that read this layer"),
    origin: str | None = Query(None, description="'local' or a harvested store"),
    approval: str | None = Query(None, description="approved, deprecated or harvested"),
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> Any:
    filters = filters_from(
        use_case=use_case,
        publisher=publisher,
        price_model=price_model,
        data=data,
        origin=origin,
        approval=approval,
    )
    results = service.find(db, caller, q, filters, limit, offset)
    body = {
        "total": results.total,
        "hits": [
            {"title": h.title, "summary": h.summary, "rank": h.rank, **h.facets}
            for h in results.hits
        ],
        "facets": results.facets,
    }
    context = {"results": results, "query": q, "base": _base(request)}
    return represent(request, Resource("store-search", body, context=context))


@router.get("/apps/{ref}", summary="An app's product page, versions and decisions")
def product_page(request: Request, ref: str, db: DB, caller: Caller) -> Any:
    view = service.show(db, caller, ref)
    found, mean = service.reviews_of(db, caller, ref)
    accreditation = None
    report = accreditation_service.public_report(db, caller, view.current.label)
    if report["automated_checks"] is not None:
        accreditation = {
            **report["trust"],
            "accreditable": report["verdict"]["accreditable"],
            "accredited": report["accredited"],
            "measured": report["measured"],
            "report": str(
                request.url_for(
                    "accreditation_report", app=view.app_id, version=view.current.version
                )
            ),
        }
    body = {
        "app": view.app_id,
        "current": _version(view.current),
        "versions": [_version(v, view.decisions[v.version]) for v in view.versions],
        "rating": {"mean": mean, "reviews": len(found)},
        "accreditation": accreditation,
    }
    context = {
        "view": view,
        "reviews": found,
        "rating": mean,
        "accreditation": accreditation,
        "base": _base(request),
    }
    return represent(request, Resource("store-app", body, context=context))


_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}


@router.get("/apps/{ref}/screenshots/{name:path}", summary="A screenshot of the product page")
def screenshot(ref: str, name: str, db: DB, caller: Caller) -> Response:
    data = service.screenshot(db, caller, ref, name)
    suffix = "." + name.rsplit(".", 1)[-1].lower()
    return Response(data, media_type=_IMAGE_TYPES.get(suffix, "application/octet-stream"))


@router.get("/apps/{ref}/fit", summary="Will it run on this twin? (fit report)")
def fit(
    request: Request, ref: str, db: DB, caller: Caller, twin: str, scenario: str = "current"
) -> Any:
    report = service.fit(db, caller, ref, twin, scenario)
    context = {"report": report, "base": _base(request)}
    return represent(request, Resource("store-fit", report.as_json(), context=context))


@router.post("/apps", status_code=201, summary="Publish a signed app package (.twapp body)")
async def publish(request: Request, db: DB, caller: SignedIn) -> dict[str, Any]:
    """Permission is checked before the body is read; the body is streamed to disk under
    TWEELING_MAX_PACKAGE_MB (413 beyond it); the archive is checked (entry count from its end
    records, then names, ratios and unpacked size from its central directory) before any entry
    is read, off the event loop."""
    await run_in_threadpool(service.may_publish, db, caller)
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in (PACKAGE_TYPE, "application/zip", "application/octet-stream"):
        raise UnsupportedMediaType(f"send the package as {PACKAGE_TYPE}")
    folder = uploads.spool_folder(request.app.state.runtime.home)
    public = "the uploaded package"
    async with uploads.spooled(
        request, folder, uploads.package_cap(), suffix=SUFFIX, public=public
    ) as path:
        await run_in_threadpool(uploads.check_zip_extent, path, MAX_ENTRIES, public)
        version = await run_in_threadpool(service.publish_upload, db, caller, path, public)
    return _version(version)


@router.post("/apps/{app}/versions/{version}/decisions", summary="Move a version on")
def decide(
    app: str,
    version: str,
    db: DB,
    caller: SignedIn,
    state: Annotated[str, Body()],
    reason: Annotated[str, Body()],
    organisations: Annotated[list[str] | None, Body()] = None,
) -> dict[str, Any]:
    moved = service.decide_version(db, caller, f"{app}@{version}", state, reason, organisations)
    return _version(moved)


@router.post("/apps/{ref}/install", summary="Fit report, test run, then installation")
async def install(
    ref: str,
    request: Request,
    caller: SignedIn,
    twin: Annotated[str, Body()],
    parameters: Annotated[dict[str, Any] | None, Body()] = None,
    override: Annotated[str | None, Body()] = None,
) -> dict[str, Any]:
    runtime = request.app.state.runtime
    done = await run_in_threadpool(
        lambda: service.install(runtime, caller, ref, twin, parameters or {}, override=override)
    )
    return {
        "installation": done.installation.as_json(),
        "fit": done.report.as_json(),
        "test_run": {"run": done.validation.run_id, "status": done.validation.status},
        "warnings": done.warnings,
    }


@router.get("/apps/{ref}/reviews", summary="Reviews of an app's versions")
def reviews(ref: str, db: DB, caller: Caller) -> dict[str, Any]:
    found, mean = service.reviews_of(db, caller, ref)
    return {"mean_rating": mean, "reviews": [r.as_json() for r in found]}


@router.post("/apps/{ref}/reviews", status_code=201, summary="Review a version you used")
def review(
    ref: str,
    db: DB,
    caller: SignedIn,
    rating: Annotated[int, Body(ge=1, le=5)],
    text: Annotated[str, Body()],
) -> dict[str, Any]:
    return service.review(db, caller, ref, rating, text).as_json()


@router.post("/reviews/{review_id}/response", summary="The publisher's answer to a review")
def respond(
    review_id: RowId, db: DB, caller: SignedIn, text: Annotated[str, Body(embed=True)]
) -> dict[str, Any]:
    service.respond(db, caller, review_id, text)
    return {"review": review_id, "response": text}


@router.post("/reviews/{review_id}/reports", status_code=201, summary="Report a review")
def report(
    review_id: RowId, db: DB, caller: SignedIn, reason: Annotated[str, Body(embed=True)]
) -> dict[str, Any]:
    return {"report": service.report_abuse(db, caller, review_id, reason)}


@router.get(
    "/apps/{app}/versions/{version}/accreditation",
    name="accreditation_report",
    summary="The accreditation report: checks, scores with evidence, verdict, trust score",
)
def accreditation_report(request: Request, app: str, version: str, db: DB, caller: Caller) -> Any:
    ref = f"{app}@{version}"
    report = accreditation_service.public_report(db, caller, ref)
    context = {"app": app, "version": version, "base": _base(request)}
    return represent(request, Resource("store-accreditation", report, context=context))


@router.get("/accreditation/queue", summary="Versions on their way in that you have a part in")
def accreditation_queue(db: DB, caller: SignedIn) -> dict[str, Any]:
    return {"queue": accreditation_service.queue(db, caller)}


@router.post(
    "/apps/{app}/versions/{version}/submission",
    summary="Submit a draft version for accreditation (its publisher)",
)
def submit(
    app: str, version: str, db: DB, caller: SignedIn, note: Annotated[str, Body(embed=True)] = ""
) -> dict[str, Any]:
    return _version(accreditation_service.submit(db, caller, f"{app}@{version}", note))


@router.post(
    "/apps/{app}/versions/{version}/accreditation/scores",
    summary="An assigned accreditor's scores with evidence (all recorded, or none)",
)
def scores(
    app: str,
    version: str,
    db: DB,
    caller: SignedIn,
    scores: Annotated[list[Assessment], Body(embed=True)],
    framework: Annotated[str | None, Body(embed=True)] = None,
) -> dict[str, Any]:
    ref = f"{app}@{version}"
    count = accreditation_service.score_many(db, caller, ref, scores, framework)
    return {"scored": count, "verdict": accreditation_service.report(db, ref)["verdict"]}


@router.post(
    "/apps/{app}/versions/{version}/accreditation/decision",
    summary="The market master's decision: accredited (when the report allows it) or rejected",
)
def accreditation_decision(
    app: str,
    version: str,
    db: DB,
    caller: SignedIn,
    outcome: Annotated[str, Body()],
    reason: Annotated[str, Body()],
) -> dict[str, Any]:
    ref = f"{app}@{version}"
    accreditation_service.decide(db, caller, ref, outcome, reason)
    return accreditation_service.report(db, ref)


@router.get("/notices", summary="What your organisation was told about its apps")
def notices(db: DB, caller: SignedIn) -> dict[str, Any]:
    return {"notices": service.notices(db, caller)}
