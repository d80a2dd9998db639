"""Scenarios: a twin's list of scenarios, the scenario editor and the comparison of two.

The editor shows the scenario in 3D; a building is chosen by a click or by its id (a list
the keyboard reaches), then raised, lowered or removed; a new building is drawn by clicking
its footprint on the ground (or typing its points) and given a height. Every change is one
call of the scenario edit API (``heights``, ``delete``, ``footprints``), so it passes the
same policy point and audit as any API client's. The comparison reads the diff and, for
each app run on both scenarios, the run comparison's indicator deltas (a table and an SVG
bar chart drawn here, with text labels)."""

from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tweeling.errors import NotFound, TweelingError
from tweeling.services import apps as apps_service
from tweeling.services import features as features_service
from tweeling.services import twins as twins_service
from tweeling.services.platform import Database
from tweeling.web.studio import Section, StudioDeps
from tweeling.web.studio.layout import Visitor, render, translate

BUILDINGS_LISTED = 2000  # the editor's list of ids; a bigger twin is searched by id


def section() -> Section:
    # reached from a twin's page (no item of its own in the main navigation)
    return Section(name="scenarios", routes=routes)


@dataclass(frozen=True)
class Bar:
    """One indicator's change as a bar of the chart: ``x``/``width`` in the chart's units."""

    app: str
    name: str
    unit: str | None
    a: float | None
    b: float | None
    change: float | None
    x: float = 0.0
    width: float = 0.0


CHART_HALF = 200.0  # half the bars' width: 0 at the middle, the largest change at an edge


def chart_bars(deltas: list[Bar]) -> list[Bar]:
    """The bars of the indicator chart: each change scaled so that the largest change (of
    either sign) reaches an edge; a change of zero or none has no bar, only its label."""
    largest = max((abs(d.change) for d in deltas if d.change), default=0.0)
    bars = []
    for d in deltas:
        if not d.change or not largest:
            bars.append(Bar(d.app, d.name, d.unit, d.a, d.b, d.change, CHART_HALF, 0.0))
            continue
        width = abs(d.change) / largest * CHART_HALF
        x = CHART_HALF if d.change > 0 else CHART_HALF - width
        bars.append(Bar(d.app, d.name, d.unit, d.a, d.b, d.change, x, width))
    return bars


def indicator_deltas(
    db: Database, visitor: Visitor, twin: str, a: str, b: str
) -> tuple[list[Bar], list[str]]:
    """For each app with a successful run on both scenarios, its latest runs' indicator
    changes; and the apps run on only one of them (named, so the visitor knows why)."""
    latest: dict[tuple[str, str], str] = {}
    for run in apps_service.list_runs(db, visitor.principal, twin, limit=200):  # newest first
        if run.status == apps_service.RunStatus.successful and run.scenario in (a, b):
            latest.setdefault((run.app_id, run.scenario), run.run_id)
    apps = sorted({app for app, _ in latest})
    deltas: list[Bar] = []
    one_sided = []
    for app in apps:
        if (app, a) not in latest or (app, b) not in latest:
            one_sided.append(app)
            continue
        comparison = apps_service.compare(db, visitor.principal, latest[app, a], latest[app, b])
        for ind in comparison.indicators:
            deltas.append(Bar(app, ind["name"], ind["unit"], ind["a"], ind["b"], ind["change"]))
    return chart_bars(deltas), one_sided


def routes(deps: StudioDeps) -> APIRouter:
    router = APIRouter()
    DB = Annotated[Database, Depends(deps.database)]
    Seen = Annotated[Visitor, Depends(deps.visitor)]

    def crumbs(visitor: Visitor, twin: twins_service.TwinInfo) -> list[dict[str, str]]:
        return [
            {"href": "/studio/twins", "title": translate(visitor.language, "Twins")},
            {"href": f"/studio/twins/{twin.name}", "title": twin.title or twin.name},
            {
                "href": f"/studio/twins/{twin.name}/scenarios",
                "title": translate(visitor.language, "Scenarios"),
            },
        ]

    @router.get("/studio/twins/{twin}/scenarios")
    def scenario_list(request: Request, twin: str, db: DB, visitor: Seen) -> Response:
        info = twins_service.twin_info(db, visitor.principal, twin)  # the policy point
        return render(
            request,
            visitor,
            "studio/scenario_list.html",
            title=translate(visitor.language, "Scenarios"),
            crumbs=crumbs(visitor, info)[:2],
            twin=info,
            scenarios=twins_service.scenarios(db, visitor.principal, twin),
            kinds=[
                k.value
                for k in twins_service.ScenarioKind
                if k != twins_service.ScenarioKind.current
            ],
        )

    @router.get("/studio/twins/{twin}/scenarios/{scenario}/edit")
    def scenario_editor(
        request: Request, twin: str, scenario: str, db: DB, visitor: Seen
    ) -> Response:
        info = twins_service.twin_info(db, visitor.principal, twin)
        if scenario not in info.scenarios:
            raise NotFound(f"twin {twin} has no scenario {scenario!r}")
        page = features_service.items(
            db, visitor.principal, twin, "buildings", scenario=scenario, limit=BUILDINGS_LISTED
        )
        ids = sorted(orjson.loads(feature)["id"] for feature in page.features)
        return render(
            request,
            visitor,
            "studio/scenario_edit.html",
            title=translate(visitor.language, "Edit scenario %(name)s") % {"name": scenario},
            crumbs=crumbs(visitor, info),
            twin=info,
            scenario=scenario,
            building_ids=ids,
        )

    @router.get("/studio/twins/{twin}/compare")
    def compare(
        request: Request, twin: str, db: DB, visitor: Seen, a: str = "current", b: str = ""
    ) -> Response:
        info = twins_service.twin_info(db, visitor.principal, twin)
        others = [s for s in info.scenarios if s != a]
        b = b or (others[0] if others else a)
        for name in (a, b):
            if name not in info.scenarios:
                raise NotFound(f"twin {twin} has no scenario {name!r}")
        diff = twins_service.diff_scenarios(db, visitor.principal, twin, a, b)
        try:
            bars, one_sided = indicator_deltas(db, visitor, twin, a, b)
        except TweelingError:  # a run the visitor may not read: the diff still stands
            bars, one_sided = [], []
        return render(
            request,
            visitor,
            "studio/scenario_compare.html",
            title=translate(visitor.language, "Compare scenarios"),
            crumbs=crumbs(visitor, info),
            twin=info,
            a=a,
            b=b,
            diff=diff,
            bars=bars,
            one_sided=one_sided,
            chart_half=CHART_HALF,
        )

    return router
