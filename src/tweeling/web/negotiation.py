"""One content-negotiation layer: handlers return a ``Resource``; a renderer answers it.

A handler says what it found (a ``Resource``: the kind of thing, its JSON form, and the facts
other forms need) and hands it to ``respond``. ``respond`` picks the representation — ``?f=``
first, then the Accept header by RFC 9110's rules (``pages.negotiate``) — among the
renderers that render that kind, and the chosen renderer builds the response. Renderers are
registered per media type in ``RENDERERS`` (the platform's own in code, a third party's
through the entry-point group ``tweeling.renderers``)::

    [project.entry-points."tweeling.renderers"]
    csv = "my_package.csv_renderer:CsvRenderer"

The JSON form is the default: what a client gets without ``f=`` or Accept, when it asks for a
format the resource is not offered in, or when its Accept header matches nothing we offer.
Per request, the choice is a dictionary look-up and at most one parse of the Accept header:
which renderers serve which kind is worked out once per kind and kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import orjson
from fastapi import Request
from fastapi.responses import Response

from tweeling.errors import NotAcceptable
from tweeling.plugins import Registry
from tweeling.web.pages import negotiate

JSON = "application/json"


@dataclass(frozen=True)
class Resource:
    """What a handler found, before it is rendered.

    ``kind`` names what it is (``feature-collection``, ``feature``, ``store-search`` …):
    renderers declare the kinds they can render. ``body`` is the JSON form — a JSON-able value
    or bytes already serialised — answered as ``media_type`` with ``headers``. ``context``
    holds what the other forms need beyond the JSON (the objects a page shows, the twin's
    URL); a value that costs a query to get is a function, called only by the form that
    needs it.
    """

    kind: str
    body: Any
    media_type: str = JSON
    headers: Mapping[str, str] | None = None
    context: Mapping[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        """The JSON form as Python values."""
        return orjson.loads(self.body) if isinstance(self.body, bytes) else self.body

    def fetch(self, name: str) -> Any:
        """A context value, calling it first if it is a function (a deferred query)."""
        value = self.context[name]
        return value() if callable(value) else value


@runtime_checkable
class Renderer(Protocol):
    """Renders resources of some kinds as one media type.

    ``media_types``: the media types it answers to in an Accept header, its own first.
    ``formats``: the ``f=`` values that ask for it. ``renders(kind)`` says whether it can
    render that kind of resource; it is asked once per kind, not per request."""

    media_types: tuple[str, ...]
    formats: tuple[str, ...]

    def renders(self, kind: str) -> bool: ...

    def render(self, resource: Resource, request: Request) -> Response: ...


RENDERERS: Registry[Renderer] = Registry(
    "tweeling.renderers", "renderer", lambda item: isinstance(item, Renderer)
)
DEFAULT = "json"  # the registered name of the JSON form, the fallback

_builtins_registered = False


def register_builtins() -> None:
    """The platform's own renderers: JSON (the default), CityJSON, HTML. The order breaks
    ties between equally preferred types, so it is the order of the former handlers."""
    global _builtins_registered
    if _builtins_registered:
        return
    _builtins_registered = True
    from tweeling.web.renderers.cityjson import CityJsonRenderer
    from tweeling.web.renderers.html import HtmlRenderer
    from tweeling.web.renderers.json import JsonRenderer

    RENDERERS.register(DEFAULT, JsonRenderer())
    RENDERERS.register("cityjson", CityJsonRenderer())
    RENDERERS.register("html", HtmlRenderer())


@dataclass(frozen=True)
class _Offer:
    """What one kind of resource is offered as: media types in the server's order of
    preference, and the renderer behind each type and each ``f=`` value."""

    default: Renderer
    media_types: tuple[str, ...]
    by_type: Mapping[str, Renderer]
    by_format: Mapping[str, Renderer]


class Negotiation:
    """The renderers of one application, and the choice among them for each request."""

    def __init__(self, renderers: Sequence[tuple[str, Renderer]]) -> None:
        named = dict(renderers)
        self._default = named[DEFAULT]
        self._others = [r for name, r in renderers if name != DEFAULT]
        self._offers: dict[str, _Offer] = {}
        self.formats = tuple(dict.fromkeys(f for _, r in renderers for f in r.formats))

    @classmethod
    def from_registry(cls) -> Negotiation:
        register_builtins()
        return cls(list(RENDERERS.items()))

    def check_format(self, request: Request) -> None:
        """Refuse an ``f=`` that no renderer offers (406), before any work is done."""
        f = request.query_params.get("f")
        if f is not None and f not in self.formats:
            offered = ", f=".join(self.formats)
            raise NotAcceptable(f"format {f!r} is not offered here; use f={offered}")

    def renderer_for(self, request: Request, kind: str) -> Renderer:
        offer = self._offers.get(kind) or self._offer(kind)
        f = request.query_params.get("f")
        if f is not None:
            return offer.by_format.get(f, offer.default)
        if not request.headers.get("accept"):
            return offer.default
        chosen = negotiate(request, offer.media_types)
        return offer.default if chosen is None else offer.by_type[chosen]

    def respond(self, request: Request, resource: Resource) -> Response:
        return self.renderer_for(request, resource.kind).render(resource, request)

    def _offer(self, kind: str) -> _Offer:
        others = [r for r in self._others if r.renders(kind)]
        by_type: dict[str, Renderer] = {}
        for renderer in others:
            for media_type in renderer.media_types:
                by_type.setdefault(media_type, renderer)
        # The JSON form answers to its types that no other form of this kind claims, first.
        own = [t for t in self._default.media_types if t not in by_type]
        by_type.update(dict.fromkeys(own, self._default))
        by_format: dict[str, Renderer] = dict.fromkeys(self._default.formats, self._default)
        for renderer in others:
            for f in renderer.formats:
                by_format.setdefault(f, renderer)
        offer = _Offer(
            self._default,
            (*own, *(t for r in others for t in r.media_types if by_type[t] is r)),
            by_type,
            by_format,
        )
        self._offers[kind] = offer
        return offer


def negotiation_of(request: Request) -> Negotiation:
    negotiation: Negotiation = request.app.state.negotiation
    return negotiation


def respond(request: Request, resource: Resource) -> Response:
    """The response to ``request`` that represents ``resource`` as the client prefers."""
    return negotiation_of(request).respond(request, resource)


def check_format(request: Request) -> None:
    negotiation_of(request).check_format(request)
