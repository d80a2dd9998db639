"""Cross-origin reads: another site's viewer (CesiumJS, MapLibre, a GIS in the browser) may
load the twin's 3D Tiles, features and records.

Only reads are opened (GET and HEAD, and the preflight for a bearer token), and never with
credentials: the browser sends no cookie of ours along, so a page on another origin sees
what an anonymous visitor sees, or what the token it holds may see — nothing it could not
fetch from its own server. Changes stay same-origin (the Studio, or clients that are not
browsers)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from tweeling import settings

READ_METHODS = ["GET", "HEAD"]
REQUEST_HEADERS = ["Authorization", "Accept", "Accept-Language", "If-None-Match"]
RESPONSE_HEADERS = ["ETag", "Content-Crs", "Link"]
PREFLIGHT_SECONDS = 600


def origins(spec: str) -> list[str]:
    return [origin.strip().rstrip("/") for origin in spec.split(",") if origin.strip()]


def add_cors(app: FastAPI) -> None:
    """Open reads to the configured origins (``TWEELING_CORS_ORIGINS``); none: nothing added,
    so a deployment without it pays nothing per request."""
    allowed = origins(settings.current().server.cors_origins)
    if not allowed:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=allowed,
        allow_methods=READ_METHODS,
        allow_headers=REQUEST_HEADERS,
        expose_headers=RESPONSE_HEADERS,
        allow_credentials=False,
        max_age=PREFLIGHT_SECONDS,
    )
