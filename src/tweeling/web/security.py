"""Headers every HTML page carries: a Content-Security-Policy without inline scripts, and
the usual guards against framing, sniffing and referrer leaks.

Only the page's own origin may serve scripts, styles, images, workers and data; an
operator's basemap (``TWEELING_BASEMAP_STYLE``) adds its origin for the map's requests and
nothing else. Set on pages only (the JSON API answers are not documents a browser runs)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from tweeling import settings


@lru_cache(maxsize=4)
def _headers(basemap_style: str | None) -> dict[str, str]:
    extra = ""
    if basemap_style:
        parts = urlsplit(basemap_style)
        if parts.scheme in ("http", "https") and parts.netloc:
            extra = f" {parts.scheme}://{parts.netloc}"
    policy = "; ".join(
        [
            "default-src 'self'",
            # WebAssembly compilation only (CesiumJS's decoders), never JavaScript eval
            "script-src 'self' 'wasm-unsafe-eval'",
            # CesiumJS writes style attributes into the elements it creates, which a policy
            # can only allow as 'unsafe-inline'; styles cannot run code, scripts stay strict.
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{extra}",
            f"connect-src 'self'{extra}",
            "worker-src 'self' blob:",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


def page_headers() -> dict[str, str]:
    return _headers(settings.current().studio.basemap_style)
