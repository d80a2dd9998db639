"""Our own JSON API for twins, datasets, scenarios, edits, diffs and shares."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from tweeling.api import uploads
from tweeling.api.deps import DB, Caller, RowId, SignedIn
from tweeling.api.parts import PLATFORM, ApiPart, Link
from tweeling.services import datasets as datasets_service
from tweeling.services import twins as service
from tweeling.services.datasets import DatasetInfo
from tweeling.services.twins import Footprint

router = APIRouter(prefix="/twins", tags=["twins"])


def part() -> ApiPart:
    return ApiPart(
        name="twins",
        router=router,
        landing=PLATFORM,
        links=(Link("twins", "/twins"),),
        tags={"twins": "Twins, datasets, scenarios, edits, diffs and shares"},
    )


def _links(request: Request, name: str) -> list[dict[str, str]]:
    base = str(request.url_for("get_twin", name=name))
    return [
        {"rel": "self", "href": base},
        {"rel": "datasets", "href": f"{base}/datasets"},
        {"rel": "scenarios", "href": f"{base}/scenarios"},
    ]


@router.get("", summary="Twins you may see")
def list_twins(request: Request, db: DB, caller: Caller) -> dict[str, Any]:
    names = service.visible_twins(db, caller)
    return {"twins": [{"name": n, "links": _links(request, n)} for n in names]}


@router.get("/{name}", summary="One twin: CRS, scenarios, objects per type")
def get_twin(
    request: Request, name: str, db: DB, caller: Caller, purpose: str | None = None
) -> dict[str, Any]:
    info = service.twin_info(db, caller, name, purpose)
    return {**info.__dict__, "links": _links(request, name)}


@router.get("/{name}/datasets", summary="Datasets with source, licence, hash and quality")
def get_datasets(name: str, db: DB, caller: Caller, purpose: str | None = None) -> dict[str, Any]:
    rows = datasets_service.twin_datasets(db, caller, name, purpose)
    for row in rows:
        row["imported_at"] = row["imported_at"].isoformat()
    return {"datasets": rows}


@router.get("/{name}/scenarios", summary="Scenarios of a twin")
def get_scenarios(name: str, db: DB, caller: Caller, purpose: str | None = None) -> dict[str, Any]:
    info = service.twin_info(db, caller, name, purpose)
    return {"scenarios": info.scenarios}


class NewScenario(BaseModel):
    name: str = Field(description="name of the new scenario")
    source: str = Field("current", alias="from", description="scenario to start from")
    kind: Literal["proposed", "permitted", "other"] = "proposed"
    label: str | None = None
    description: str | None = None


@router.post("/{name}/scenarios", status_code=201, summary="Create a scenario (copy-on-write)")
def post_scenario(name: str, body: NewScenario, db: DB, caller: SignedIn) -> dict[str, Any]:
    s = service.create_scenario(
        db,
        caller,
        name,
        body.name,
        source=body.source,
        kind=body.kind,
        label=body.label,
        description=body.description,
    )
    return {
        "name": s.name,
        "kind": s.kind,
        "created_by": s.created_by,
        "created_at": s.created_at.isoformat(),
    }


Longitude = Annotated[float, Field(ge=-180, le=180)]
Latitude = Annotated[float, Field(ge=-90, le=90)]


class DrawnFootprint(BaseModel):
    id: str = Field(min_length=1, max_length=200, description="id of the new object")
    outline: list[tuple[Longitude, Latitude]] = Field(
        min_length=3, max_length=500, description="(longitude, latitude) points in CRS84"
    )
    height: float = Field(description="metres above the base")
    base: float = Field(
        0.0, ge=-1000, le=10000, description="ground height in the twin's vertical datum"
    )
    type: Literal["Building"] = "Building"


class Edit(BaseModel):
    reason: str = Field(description="why: recorded with the edit")
    add: dict[str, Any] | None = Field(None, description="a CityJSON document of new objects")
    modify: dict[str, Any] | None = Field(
        None, description="a CityJSON document of changed objects (attributes merge)"
    )
    delete: list[str] = Field(default_factory=list, description="ids of objects to delete")
    heights: dict[str, float] = Field(
        default_factory=dict,
        description="object id → new height in metres (stretched from the object's lowest point)",
    )
    footprints: list[DrawnFootprint] = Field(
        default_factory=list, description="footprints drawn in CRS84, extruded to LoD1 blocks"
    )


@router.post("/{name}/scenarios/{scenario}/edits", status_code=201, summary="Edit a scenario")
def post_edit(name: str, scenario: str, body: Edit, db: DB, caller: SignedIn) -> dict[str, Any]:
    result = service.edit_scenario_cityjson(
        db,
        caller,
        name,
        scenario,
        add=body.add,
        modify=body.modify,
        delete=body.delete,
        reason=body.reason,
        heights=body.heights,
        footprints=[
            Footprint(f.id, [list(p) for p in f.outline], f.height, f.base, f.type)
            for f in body.footprints
        ],
    )
    return result.__dict__


@router.get("/{name}/diff", summary="Objects added, modified and removed between two scenarios")
def get_diff(
    name: str,
    db: DB,
    caller: Caller,
    a: str = Query(..., alias="from"),
    b: str = Query(..., alias="to"),
    purpose: str | None = None,
) -> dict[str, Any]:
    return service.diff_scenarios(db, caller, name, a, b, purpose).as_json()


class NewShare(BaseModel):
    organisation: str | None = Field(None, description="organisation to share with")
    public: bool = Field(False, description="share with everyone instead")
    purposes: list[str] = Field(default_factory=list, description="allowed purposes; none: any")


@router.post("/{name}/shares", status_code=201, summary="Share a twin or make it public")
def post_share(name: str, body: NewShare, db: DB, caller: SignedIn) -> dict[str, Any]:
    service.share_twin(
        db, caller, name, with_org=body.organisation, purposes=body.purposes, public=body.public
    )
    return {
        "twin": name,
        "shared_with": "everyone" if body.public else body.organisation,
        "purposes": sorted(set(body.purposes)),
    }


class NewTwin(BaseModel):
    name: str = Field(description="twin name: letters, digits, '.', '_', '-'")
    crs: str = Field("EPSG:7415", description="projected CRS of the twin")
    title: str | None = None


@router.post("", status_code=201, summary="Create an empty twin for your organisation")
def post_twin(request: Request, body: NewTwin, db: DB, caller: SignedIn) -> dict[str, Any]:
    twin = service.create_twin(db, caller, body.name, body.crs, body.title)
    return {"name": twin.name, "crs": twin.crs, "links": _links(request, twin.name)}


class TwinChange(BaseModel):
    title: str | None = None


@router.patch("/{name}", summary="Change a twin's title")
def patch_twin(name: str, body: TwinChange, db: DB, caller: SignedIn) -> dict[str, Any]:
    service.update_twin(db, caller, name, title=body.title)
    return {"name": name, "title": body.title}


@router.delete("/{name}", status_code=204, summary="Delete a twin and everything in it")
def delete_twin(name: str, db: DB, caller: SignedIn) -> Response:
    service.delete_twin(db, caller, name)
    return Response(status_code=204)


@router.post("/{name}/datasets", status_code=201, summary="Import a file as a new dataset")
async def post_dataset(
    name: str,
    request: Request,
    db: DB,
    caller: SignedIn,
    crs: str | None = None,
    licence: str | None = None,
    source: str | None = None,
    owner: str | None = None,
    acquired: str | None = None,
    dataset_name: str | None = Query(None, alias="name"),
) -> dict[str, Any]:
    """The request body is the file: CityJSON, CityJSONSeq, GeoJSON or GeoPackage, named by
    its Content-Type. Permission is checked before the body is read; the body is streamed to
    disk under TWEELING_MAX_UPLOAD_MB (413 beyond it) and imported off the event loop."""
    await run_in_threadpool(datasets_service.may_import, db, caller, name)
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    suffix = datasets_service.upload_suffix(content_type)
    info = DatasetInfo(
        name=dataset_name or f"upload{suffix}",
        source=source or "upload",
        owner=owner,
        licence=licence,
        acquired=acquired,
    )
    folder = uploads.spool_folder(request.app.state.runtime.home)
    cap = uploads.dataset_cap()
    async with uploads.spooled(
        request, folder, cap, suffix=suffix, public=f"the uploaded file ({info.name})"
    ) as path:
        report = await run_in_threadpool(
            datasets_service.import_dataset, db, caller, name, path, crs=crs, info=info
        )
    return {
        "dataset": report.dataset_id,
        "objects": report.objects,
        "counts": report.counts,
        "content_hash": report.content_hash,
        "warnings": report.warnings,
    }


class DatasetChange(BaseModel):
    name: str | None = None
    source: str | None = None
    owner: str | None = None
    licence: str | None = None
    acquired: str | None = None


@router.patch("/{name}/datasets/{dataset_id}", summary="Correct a dataset's metadata")
def patch_dataset(
    name: str, dataset_id: RowId, body: DatasetChange, db: DB, caller: SignedIn
) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    datasets_service.update_dataset(db, caller, name, dataset_id, fields)
    return {"dataset": dataset_id, **fields}


@router.delete(
    "/{name}/datasets/{dataset_id}", summary="Withdraw a dataset from the current reality"
)
def delete_dataset(name: str, dataset_id: RowId, db: DB, caller: SignedIn) -> dict[str, Any]:
    removed = datasets_service.delete_dataset(db, caller, name, dataset_id)
    return {"dataset": dataset_id, "objects_removed": removed}


@router.delete("/{name}/scenarios/{scenario}", status_code=204, summary="Delete a scenario")
def delete_scenario(name: str, scenario: str, db: DB, caller: SignedIn) -> Response:
    service.delete_scenario(db, caller, name, scenario)
    return Response(status_code=204)


@router.get("/{name}/usage", summary="Who used this twin's data, when and for what (owner only)")
def get_usage(name: str, db: DB, caller: SignedIn) -> dict[str, Any]:
    return {"usage": service.usage(db, caller, name)}
