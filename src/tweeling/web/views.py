"""The platform's HTML pages, one view per kind of resource (see ``renderers.html``).

A view turns what the handler found into a page: the template, its title and bread crumbs,
and what the page shows that the JSON does not need (table columns, colours)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from tweeling.store.pages import render_markdown
from tweeling.store.search import FACET_PARAMS
from tweeling.web.negotiation import Resource
from tweeling.web.pages import page
from tweeling.web.renderers.html import view


@view("platform-landing")
def home(resource: Resource, request: Request) -> Response:
    """``/`` in a browser: the Studio's home page."""
    from tweeling.web.studio.home import home_page

    return home_page(
        request, resource.fetch("db"), resource.fetch("principal"), resource.fetch("listing")
    )


def _twin_crumb(root: str, twin: str) -> dict[str, str]:
    return {"href": f"{root}?f=html", "title": twin}


@view("twin-landing")
def twin_landing(resource: Resource, request: Request) -> Response:
    return page(
        "landing.html",
        title=f"Twin {resource.context['twin']}",
        root=resource.fetch("root"),
        crumbs=[],
        description="City objects of this twin per layer (OGC API – Features).",
    )


@view("twin-collections")
def collections(resource: Resource, request: Request) -> Response:
    twin, root = resource.fetch("twin"), resource.fetch("root")
    return page(
        "collections.html",
        title=f"Layers of {twin}",
        root=root,
        collections=resource.context["layers"],
        crumbs=[_twin_crumb(root, twin)],
    )


@view("feature-collection")
def items(resource: Resource, request: Request) -> Response:
    twin, layer, root = (resource.fetch(k) for k in ("twin", "layer", "root"))
    collection = resource.json()
    features = collection["features"]
    keys = list(dict.fromkeys(k for f in features for k in f["properties"]))
    links = {link["rel"]: link["href"] for link in collection["links"]}
    return page(
        "items.html",
        title=f"{layer} of {twin}",
        features=features,
        columns=[k for k in keys if k not in ("cityjson_type", "parents")][:5],
        base=f"{root}/collections/{layer}",
        offset=resource.context["offset"],
        next=links.get("next"),
        prev=links.get("prev"),
        crumbs=[
            _twin_crumb(root, twin),
            {"href": f"{root}/collections?f=html", "title": "layers"},
        ],
    )


@view("feature")
def item(resource: Resource, request: Request) -> Response:
    twin, layer, root = (resource.fetch(k) for k in ("twin", "layer", "root"))
    feature = {k: v for k, v in resource.json().items() if k != "links"}
    return page(
        "item.html",
        title=str(feature["id"]),
        feature=feature,
        layer=layer,
        base=f"{root}/collections/{layer}",
        crumbs=[
            _twin_crumb(root, twin),
            {"href": f"{root}/collections/{layer}/items?f=html", "title": layer},
        ],
    )


def _store_crumbs(resource: Resource) -> list[dict[str, str]]:
    return [{"title": "Store", "href": f"{resource.context['base']}/search?f=html"}]


@view("store-search")
def store_search(resource: Resource, request: Request) -> Response:
    return page(
        "store_search.html",
        title="Digital-twin apps",
        crumbs=_store_crumbs(resource),
        results=resource.context["results"],
        query=resource.context["query"],
        base=resource.context["base"],
        facet_params=FACET_PARAMS,
    )


@view("store-app")
def store_app(resource: Resource, request: Request) -> Response:
    context: dict[str, Any] = dict(resource.context)
    product = context["view"]
    return page(
        "store_app.html",
        title=product.current.page.title,
        crumbs=_store_crumbs(resource),
        view=product,
        description=render_markdown(product.current.page.description),
        reviews=context["reviews"],
        rating=context["rating"],
        accreditation=context["accreditation"],
        base=context["base"],
    )


_COLOURS = {"green": "#1a7f37", "amber": "#b35900", "red": "#c0392b"}


@view("store-fit")
def store_fit(resource: Resource, request: Request) -> Response:
    report = resource.context["report"]
    return page(
        "store_fit.html",
        title=f"Fit report: {report.app_id} on {report.twin}",
        crumbs=_store_crumbs(resource),
        report=report,
        colours=_COLOURS,
    )


_MARKS = {True: ("pass", "#1a7f37"), False: ("FAIL", "#c0392b"), None: ("not judged", "#b35900")}


@view("store-accreditation")
def store_accreditation(resource: Resource, request: Request) -> Response:
    app, version = resource.context["app"], resource.context["version"]
    return page(
        "store_accreditation.html",
        title=f"Accreditation report: {app} {version}",
        crumbs=_store_crumbs(resource),
        report=resource.body,
        marks=_MARKS,
    )
