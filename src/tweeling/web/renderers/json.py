"""JSON, the default form: the resource's body as its own media type (GeoJSON, JSON …)."""

from __future__ import annotations

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from tweeling.web.negotiation import Resource


class JsonRenderer:
    # Any of the JSON forms a client names gets the resource's own JSON form.
    media_types: tuple[str, ...] = (
        "application/json",
        "application/geo+json",
        "application/city+json",
        "application/schema+json",
    )
    formats: tuple[str, ...] = ("json", "geojson")

    def renders(self, kind: str) -> bool:
        return True

    def render(self, resource: Resource, request: Request) -> Response:
        headers = dict(resource.headers) if resource.headers else None
        if isinstance(resource.body, bytes):  # serialised already (a page of features)
            return Response(resource.body, media_type=resource.media_type, headers=headers)
        # What FastAPI does with a returned value: dates, enums and models become JSON.
        body = jsonable_encoder(resource.body)
        return JSONResponse(body, media_type=resource.media_type, headers=headers)
