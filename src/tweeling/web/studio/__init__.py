"""Tweeling Studio: the web front, server-rendered pages with small JavaScript modules.

The Studio is a set of sections (home, twins, scenarios, store, runs, account, accreditation
desk, plans), each one module under ``web/studio/`` whose ``section()`` returns a ``Section``:
its routes (a factory of a router, given the request dependencies) and its place in the
navigation. ``router(deps)`` assembles them from the registry ``SECTIONS`` (the platform's
own, registered in code, then third parties' through the entry-point group
``tweeling.studio_sections``)::

    [project.entry-points."tweeling.studio_sections"]
    noise = "my_package.studio_noise:section"

Pages read through services (so through the one policy point, as the API does) and change
nothing themselves: a page's forms and buttons call the JSON API with the session's CSRF token
(``studio.js``), so every change passes the same checks, audit and errors as an API client's.
The web layer does not import the API: the API's dependencies come in as ``StudioDeps``
(``api/studio.py`` builds them), in the way of tipg's and titiler's factories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from tweeling.plugins import Registry


@dataclass(frozen=True)
class StudioDeps:
    """The request dependencies a section's routes use (FastAPI dependables).

    ``database`` gives the ``Database``; ``principal`` the caller (anonymous when nobody is
    signed in); ``visitor`` the ``layout.Visitor`` a page is rendered for (it depends on
    ``principal``, so a page that takes ``visitor`` has passed the sign-in checks)."""

    database: Callable[..., Any]
    principal: Callable[..., Any]
    visitor: Callable[..., Any]


@dataclass(frozen=True)
class NavItem:
    """A link in the Studio's main navigation. ``label`` is an English message id (translated
    when shown); ``shown_to`` says for which visitors (default: everyone)."""

    label: str
    href: str
    order: int
    shown_to: Callable[[Any], bool] = field(default=lambda visitor: True)


@dataclass(frozen=True)
class Section:
    name: str
    routes: Callable[[StudioDeps], APIRouter]
    nav: tuple[NavItem, ...] = ()


SECTIONS: Registry[Section] = Registry(
    "tweeling.studio_sections", "Studio section", lambda item: isinstance(item, Section)
)

_builtins_registered = False


def register_builtins() -> None:
    global _builtins_registered
    if _builtins_registered:
        return
    _builtins_registered = True
    from tweeling.web.studio import (
        account,
        desk,
        home,
        owners,
        plans,
        publisher,
        runs,
        scenarios,
        store,
        twin,
    )

    modules = (home, twin, scenarios, store, runs, plans, desk, publisher, account, owners)
    for module in modules:
        built = module.section()
        SECTIONS.register(built.name, built)


def sections() -> list[Section]:
    register_builtins()
    return [section for _, section in SECTIONS.items()]


def navigation() -> list[NavItem]:
    return sorted((item for s in sections() for item in s.nav), key=lambda item: item.order)


def router(deps: StudioDeps) -> APIRouter:
    """Every section's routes in one router (the API part ``studio`` includes it)."""
    assembled = APIRouter(include_in_schema=False)
    for section in sections():
        assembled.include_router(section.routes(deps))
    return assembled
