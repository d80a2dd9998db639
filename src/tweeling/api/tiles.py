"""3D Tiles 1.1 of a twin's scenario, for CesiumJS, Netherlands3D and other 3D viewers.

    /ogc/{twin}/3dtiles/{scenario}/tileset.json
    /ogc/{twin}/3dtiles/{scenario}/tiles/{level}/{x}/{y}.glb

The scenario is part of the path (not a query parameter) so that the tileset's relative
content URIs lead every client to the same scenario's tiles. Responses carry an entity tag
that changes with the twin's data; a matching If-None-Match gets 304.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from tweeling.api.deps import DB, Caller
from tweeling.api.parts import TWIN, ApiPart, Link
from tweeling.services import tiles as service

router = APIRouter(prefix="/ogc", tags=["3D Tiles"])

GLB = "model/gltf-binary"
TILESET = "application/json"
Index = Annotated[int, Path(ge=0, le=2**31 - 1)]


def part() -> ApiPart:
    """3D Tiles of a twin's scenarios, linked from the twin's landing page."""
    return ApiPart(
        name="3dtiles",
        router=router,
        landing=TWIN,
        links=(
            Link(
                "alternate",
                "/3dtiles/current/tileset.json",
                "application/json",
                "3D Tiles 1.1 tileset of the current scenario (CesiumJS, Netherlands3D)",
            ),
        ),
        tags={"3D Tiles": "A scenario as 3D Tiles 1.1 for 3D viewers"},
    )


def respond_cached(request: Request, body: bytes, media_type: str, tag: str) -> Response:
    etag = f'"{tag}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get(
    "/{twin}/3dtiles/{scenario}/tileset.json",
    summary="3D Tiles 1.1 tileset of a scenario",
    response_class=Response,
    responses={200: {"content": {TILESET: {}}}, 304: {"description": "not modified"}},
)
def tileset(
    request: Request, twin: str, scenario: str, db: DB, caller: Caller, purpose: str | None = None
) -> Response:
    body, tag = service.tileset_json(db, caller, twin, scenario, purpose)
    return respond_cached(request, body, TILESET, tag)


@router.get(
    "/{twin}/3dtiles/{scenario}/tiles/{level}/{x}/{y}.glb",
    summary="One tile's content: binary glTF with per-object metadata",
    response_class=Response,
    responses={200: {"content": {GLB: {}}}, 304: {"description": "not modified"}},
)
def tile(
    request: Request,
    twin: str,
    scenario: str,
    level: Index,
    x: Index,
    y: Index,
    db: DB,
    caller: Caller,
    purpose: str | None = None,
) -> Response:
    body, tag = service.tile_content(db, caller, twin, scenario, f"{level}/{x}/{y}", purpose)
    return respond_cached(request, body, GLB, tag)
