"""HTML (``f=html``, ``text/html``): a page per kind of resource, for a person in a browser.

Each kind that has a page has a view: a function from the resource (and the request) to the
response, usually ``pages.page(template, ...)``. The platform's views are in ``web.views``;
a third party's part adds a page for its own kind with ``@html.view("my-kind")``."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response

from tweeling.web.negotiation import Resource
from tweeling.web.pages import HTML

View = Callable[[Resource, Request], Response]
VIEWS: dict[str, View] = {}


def view(kind: str) -> Callable[[View], View]:
    """Register the page of a kind of resource."""

    def register(function: View) -> View:
        VIEWS[kind] = function
        return function

    return register


class HtmlRenderer:
    media_types: tuple[str, ...] = (HTML,)
    formats: tuple[str, ...] = ("html",)

    def __init__(self) -> None:
        from tweeling.web import views  # noqa: F401  (registers the platform's pages)

    def renders(self, kind: str) -> bool:
        return kind in VIEWS

    def render(self, resource: Resource, request: Request) -> Response:
        return VIEWS[resource.kind](resource, request)
