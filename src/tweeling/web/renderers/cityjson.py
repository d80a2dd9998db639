"""CityJSON (``f=cityjson``, ``application/city+json``): features with full 3D geometry.

The CityJSON document is read by its own query; the handler leaves that query in the
resource's context as ``city_json`` and only this renderer runs it."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from tweeling.web.negotiation import Resource

CITYJSON = "application/city+json"
KINDS = frozenset({"feature-collection", "feature"})


class CityJsonRenderer:
    media_types: tuple[str, ...] = (CITYJSON,)
    formats: tuple[str, ...] = ("cityjson",)

    def renders(self, kind: str) -> bool:
        return kind in KINDS

    def render(self, resource: Resource, request: Request) -> Response:
        return JSONResponse(resource.fetch("city_json"), media_type=CITYJSON)
