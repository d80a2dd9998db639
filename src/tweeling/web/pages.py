"""HTML rendering of API responses (Jinja2, autoescaped), chosen by ``f=html`` or Accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tweeling.store.federation import http_url

_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)
# A link taken from another store's record is linked only when it is a plain http(s) URL
# (autoescaping stops markup, not a javascript: href); otherwise it is shown as text.
_env.filters["http_href"] = lambda value: http_url(value) or ""


def wants_html(request: Request) -> bool:
    """``f=html``, or a browser's Accept header that asks for HTML before JSON."""
    f = request.query_params.get("f")
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept.split("text/html")[0]


def page(template: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**context))
