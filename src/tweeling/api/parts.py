"""API parts: each part of the HTTP API is one module whose factory returns an ``ApiPart``.

An ``ApiPart`` declares everything the application needs to know about it: its name, its
router, the conformance classes it implements, the links it puts on a landing page and its
OpenAPI tags. ``create_app`` takes the parts from ``API_PARTS`` (the platform's own,
registered in code, then third parties' through the entry-point group ``tweeling.api_parts``)
and includes their routers; the landing pages and every ``/conformance`` are assembled from
the parts, so a new part is one new module plus its registration::

    [project.entry-points."tweeling.api_parts"]
    sensorthings = "my_package.sensorthings:part"   # an ApiPart, or a factory marked
                                                    # with tweeling.plugins.factory

Three landing pages collect parts: ``PLATFORM`` (``/``), ``TWIN`` (a twin's OGC API at
``/ogc/{twin}``, whose ``/conformance`` lists the classes of every part on it) and
``RECORDS`` (the store's catalogue at ``/records``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Request

from tweeling.plugins import Registry

Landing = Literal["platform", "twin", "records"]
PLATFORM: Landing = "platform"
TWIN: Landing = "twin"
RECORDS: Landing = "records"


@dataclass(frozen=True)
class Link:
    """A landing-page link; ``href`` is relative to the landing page's URL (``/collections``
    under ``/ogc/delft`` is ``/ogc/delft/collections``)."""

    rel: str
    href: str
    type: str | None = None
    title: str | None = None

    def resolved(self, root: str) -> dict[str, str]:
        link = {"rel": self.rel}
        if self.type is not None:
            link["type"] = self.type
        if self.title is not None:
            link["title"] = self.title
        link["href"] = f"{root}{self.href}"
        return link


@dataclass(frozen=True)
class ApiPart:
    """One part of the API: a router and what it declares to the landing pages."""

    name: str
    router: APIRouter
    landing: Landing = TWIN
    conformance: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    # OpenAPI tag name → description (the tags its routes carry)
    tags: dict[str, str] = field(default_factory=dict)


API_PARTS: Registry[ApiPart] = Registry(
    "tweeling.api_parts", "API part", lambda item: isinstance(item, ApiPart)
)


_builtins_registered = False


def register_builtins() -> None:
    """The platform's own parts, in the order their routes are tried and their links shown."""
    global _builtins_registered
    if _builtins_registered:
        return
    _builtins_registered = True
    from tweeling.api import (
        auth,
        common,
        features,
        organisations,
        plans,
        processes,
        records,
        store,
        studio,
        tiles,
        twins,
    )

    for factory in (
        common.part,
        auth.part,
        twins.part,
        organisations.part,
        features.part,
        processes.part,
        tiles.part,
        plans.part,
        records.part,
        store.part,
        studio.part,
    ):
        built = factory()
        API_PARTS.register(built.name, built)


def assembled() -> list[ApiPart]:
    """Every part, built-ins first (read once per call: ``create_app`` calls it once)."""
    register_builtins()
    return [part for _, part in API_PARTS.items()]


def openapi_tags(parts: Iterable[ApiPart]) -> list[dict[str, str]]:
    tags: dict[str, str] = {}
    for part in parts:
        for name, description in part.tags.items():
            tags.setdefault(name, description)
    return [{"name": name, "description": text} for name, text in tags.items()]


def parts_of(request: Request) -> Sequence[ApiPart]:
    """The parts the serving application was built from."""
    parts: Sequence[ApiPart] = request.app.state.api_parts
    return parts


def landing_links(request: Request, landing: Landing, root: str) -> list[dict[str, Any]]:
    """The links the parts on ``landing`` put there, in the parts' order."""
    return [
        link.resolved(root)
        for part in parts_of(request)
        if part.landing == landing
        for link in part.links
    ]


def conformance(request: Request, landing: Landing) -> dict[str, Any]:
    """A ``/conformance`` document: the classes of every part on ``landing``."""
    classes = [c for part in parts_of(request) if part.landing == landing for c in part.conformance]
    return {"conformsTo": list(dict.fromkeys(classes))}
