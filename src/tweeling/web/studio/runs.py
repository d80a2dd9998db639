"""Runs and provenance: the visitor's recent app runs, and one run's record and PROV graph.

A run's page shows its facts from the run record, and its provenance as a graph read from the
run's own W3C PROV document (``prov_graph``), the same document the PROV-JSON and PROV-N
downloads serve. Replaying a run is the API's (``POST /ogc/{twin}/jobs/{id}/replay``); the
page's script (``provenance.js``) calls it and shows the verdict with both output hashes.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tweeling.errors import NotFound
from tweeling.services import apps as apps_service
from tweeling.services import twins as twins_service
from tweeling.services.platform import Database
from tweeling.web import i18n
from tweeling.web.studio import NavItem, Section, StudioDeps
from tweeling.web.studio.layout import Visitor, render, translate
from tweeling.web.studio.prov_graph import graph

RECENT = 50


def section() -> Section:
    return Section(
        name="runs",
        routes=routes,
        nav=(
            NavItem(
                i18n.N_("Runs"),
                "/studio/runs",
                order=50,
                shown_to=lambda visitor: visitor.signed_in,
            ),
        ),
    )


def output_summary(outputs: dict[str, Any]) -> list[tuple[str, str]]:
    """Each output by name: an indicator's value, an attribute's count of objects, a layer's
    count of features (a run's outputs are ``attributes``, ``indicators`` and ``layers``)."""
    summary = []
    for name, value in sorted((outputs.get("indicators") or {}).items()):
        summary.append((name, str(value)))
    for name, values in sorted((outputs.get("attributes") or {}).items()):
        count = i18n.ngettext_("%(num)d object", "%(num)d objects", len(values))
        summary.append((name, count % {"num": len(values)}))
    for name, layer in sorted((outputs.get("layers") or {}).items()):
        features = layer.get("features", []) if isinstance(layer, dict) else []
        count = i18n.ngettext_("%(num)d feature", "%(num)d features", len(features))
        summary.append((name, count % {"num": len(features)}))
    return summary


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()
    DB = Annotated[Database, Depends(deps.database)]
    Seen = Annotated[Visitor, Depends(deps.visitor)]

    @router.get("/studio/runs")
    def run_list(request: Request, db: DB, visitor: Seen, twin: str = "") -> Response:
        twins = twins_service.visible_twins(db, visitor.principal)
        if twin and twin not in twins:
            raise NotFound(f"no twin {twin!r}")
        found = apps_service.list_runs(db, visitor.principal, twin or None, RECENT)
        return render(
            request,
            visitor,
            "studio/runs.html",
            title=translate(visitor.language, "Runs"),
            runs=found,
            twins=twins,
            twin=twin,
        )

    @router.get("/studio/runs/{run_id}")
    def run_page(request: Request, run_id: str, db: DB, visitor: Seen) -> Response:
        record = apps_service.get_run(db, visitor.principal, run_id)  # the policy point
        provenance = None
        if record.prov is not None:
            provenance = graph(apps_service.prov_document(db, visitor.principal, run_id))
        jobs = f"/ogc/{record.twin}/jobs/{record.run_id}"
        with i18n.active(visitor.language):
            outputs = output_summary(record.outputs)
        return render(
            request,
            visitor,
            "studio/run.html",
            title=translate(visitor.language, "Run of %(app)s") % {"app": record.app_id},
            crumbs=[{"href": "/studio/runs", "title": translate(visitor.language, "Runs")}],
            run=record,
            outputs=outputs,
            graph=provenance,
            job=jobs,
            may_replay=visitor.signed_in and record.status == apps_service.SUCCESSFUL,
        )

    return router
