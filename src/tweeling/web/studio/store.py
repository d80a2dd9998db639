"""The store front: search with facets, an app's product page with its fit report against a
twin the visitor chooses, installation with a calibration form, and a run with live progress.

Everything is read through ``services.store`` (the policy point); installing and running go
through the JSON API from ``store.js`` (``POST /store/apps/{ref}/install``, the Processes
execution, then ``GET /ogc/{twin}/jobs/{job}/events`` for the progress)."""

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from tweeling.errors import TweelingError
from tweeling.services import accreditation as accreditation_service
from tweeling.services import store as store_service
from tweeling.services import twins as twins_service
from tweeling.services.platform import Database
from tweeling.store.search import FACET_PARAMS, FACETS, filters_from
from tweeling.web import i18n
from tweeling.web.studio import NavItem, Section, StudioDeps
from tweeling.web.studio.layout import Visitor, render, translate

PAGE_SIZE = 20
# What each facet is called on the page (English message ids, translated in the template).
FACET_LABELS = {
    "use_cases": i18n.N_("Use case"),
    "publisher": i18n.N_("Publisher"),
    "price_model": i18n.N_("Price model"),
    "approval": i18n.N_("Accreditation"),
    "layers": i18n.N_("Data it needs"),
    "origin": i18n.N_("Origin"),
}
STATUS_TEXT = {
    "green": i18n.N_("met"),
    "amber": i18n.N_("runs, with a cost"),
    "red": i18n.N_("not met"),
}


def section() -> Section:
    return Section(
        name="store",
        routes=routes,
        nav=(NavItem(i18n.N_("Store"), "/studio/store", order=40),),
    )


@dataclass(frozen=True)
class FormField:
    """One input of a calibration form, from one property of a parameters' JSON Schema."""

    name: str
    label: str
    control: str  # "number", "select", "checkbox" or "text"
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    step: str = "any"
    options: list[Any] = field(default_factory=list)
    required: bool = False


def calibration_fields(schema: dict[str, Any]) -> list[FormField]:
    """The labelled inputs for an app's parameters, in the schema's order: a number with its
    bounds, an enum as a select, a boolean as a checkbox, anything else as text; each with
    the schema's default filled in (the server renders them, so the form works as it is)."""
    required = set(schema.get("required") or [])
    fields = []
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        kind = spec.get("type")
        label = str(spec.get("title") or spec.get("description") or name)
        common: dict[str, Any] = {
            "name": name,
            "label": label,
            "default": spec.get("default"),
            "required": name in required,
        }
        if "enum" in spec:
            fields.append(FormField(control="select", options=list(spec["enum"]), **common))
        elif kind in ("number", "integer"):
            fields.append(
                FormField(
                    control="number",
                    minimum=spec.get("minimum"),
                    maximum=spec.get("maximum"),
                    step="1" if kind == "integer" else "any",
                    **common,
                )
            )
        elif kind == "boolean":
            fields.append(FormField(control="checkbox", **common))
        else:
            fields.append(FormField(control="text", **common))
    return fields


def colour_attribute(manifest: dict[str, Any]) -> str | None:
    """The first per-object output: what the viewer colours the twin by after a run."""
    for output in manifest.get("outputs") or []:
        if output.get("kind") == "attribute":
            return str(output["name"])
    return None


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()
    DB = Annotated[Database, Depends(deps.database)]
    Seen = Annotated[Visitor, Depends(deps.visitor)]

    @router.get("/studio/store")
    def search_page(
        request: Request,
        db: DB,
        visitor: Seen,
        q: str = "",
        use_case: str | None = None,
        publisher: str | None = None,
        price_model: str | None = None,
        approval: str | None = None,
        data: str | None = None,
        origin: str | None = None,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        chosen = {
            "use_case": use_case,
            "publisher": publisher,
            "price_model": price_model,
            "approval": approval,
            "data": data,
            "origin": origin,
        }
        filters = filters_from(**chosen)
        results = store_service.find(db, visitor.principal, q, filters, PAGE_SIZE, offset)
        return render(
            request,
            visitor,
            "studio/store_search.html",
            title=translate(visitor.language, "Store"),
            query=q,
            results=results,
            facets=[
                (facet, FACET_PARAMS[facet], FACET_LABELS[facet], results.facets.get(facet, {}))
                for facet in FACETS
            ],
            chosen={k: v for k, v in chosen.items() if v},
            offset=offset,
            page_size=PAGE_SIZE,
        )

    @router.get("/studio/store/apps/{ref}")
    def product_page(
        request: Request, ref: str, db: DB, visitor: Seen, twin: str | None = None
    ) -> Response:
        view = store_service.show(db, visitor.principal, ref)
        current = view.current
        found, mean = store_service.reviews_of(db, visitor.principal, ref)
        report = accreditation_service.public_report(db, visitor.principal, current.label)
        twins = twins_service.twin_summaries(db, visitor.principal) if visitor.signed_in else []
        fit = fit_problem = None
        if twin:
            try:
                fit = store_service.fit(db, visitor.principal, current.label, twin)
            except TweelingError as error:  # shown beside the twin chooser, not as a page
                fit_problem = str(error)
        schema = (current.manifest.get("parameters") or {}).get("schema") or {}
        return render(
            request,
            visitor,
            "studio/store_app.html",
            title=current.page.title,
            crumbs=[{"href": "/studio/store", "title": translate(visitor.language, "Store")}],
            view=view,
            current=current,
            reviews=found,
            rating=mean,
            accreditation=report if report.get("automated_checks") is not None else None,
            trust=report.get("trust") or {},
            accredited=report.get("accredited"),
            twins=twins,
            twin=twin,
            fit=fit,
            fit_problem=fit_problem,
            status_text=STATUS_TEXT,
            fields=calibration_fields(schema),
            colour=colour_attribute(current.manifest),
        )

    return router
