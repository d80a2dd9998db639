"""``tweeling demo``'s work on the platform: the demo municipality, the sample city loaded and
opened to everyone, the tower plan, the demo apps installed and run, the exports.

The demo sets up a fresh platform as the platform itself: data changes are authored by
``demo`` (as a migration's would be), and what people do later with apps goes through the
services as the local operator ``operator:demo``, on the policy point and the audit log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import shapely
from sqlalchemy import update

from tweeling.access import identity
from tweeling.access.identity import local_operator
from tweeling.apps import environments, packages
from tweeling.apps.compare import Comparison
from tweeling.apps.executors import LocalExecutor
from tweeling.apps.runs import RunRecord, Runtime
from tweeling.apps.scaffold import scaffold
from tweeling.errors import NotFound
from tweeling.services import apps as app_service
from tweeling.storage.db import Database
from tweeling.storage.schema import twins
from tweeling.twin.export import export
from tweeling.twin.ingest import DatasetInfo, IngestReport, ingest
from tweeling.twin.model import ScenarioKind
from tweeling.twin.scenarios import Changes, create_scenario, diff, edit
from tweeling.twin.twins import find_twin, get_scenario, get_twin, list_scenarios
from tweeling.twin.vector_io import feature_to_object
from tweeling.twin.views import count_by_type, iter_objects, view_of

DEMO_MUNICIPALITY = "Gemeente Delft"
OPERATOR = "demo"


def demo_municipality(db: Database) -> int:
    """The demo twin's owner: a municipality, made once."""
    with db.begin() as conn:
        try:
            return identity.get_organisation(conn, DEMO_MUNICIPALITY).id
        except NotFound:
            org = identity.create_organisation(
                conn, DEMO_MUNICIPALITY, identity.OrgKind.municipality.value, actor="demo"
            )
            return org.id


def city_loaded(db: Database, twin_name: str) -> bool:
    """Whether the demo's twin is there already (a second demo keeps it)."""
    with db.read() as conn:
        return find_twin(conn, twin_name) is not None


def load_city(
    db: Database,
    twin_name: str,
    path: Path,
    *,
    crs: str | None,
    info: DatasetInfo,
    owner_org_id: int,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """The sample city as a public twin (open data: anyone may look at it, signed in or
    not)."""
    report = ingest(
        db,
        path,
        twin_name,
        crs=crs,
        info=info,
        author="demo",
        owner_org_id=owner_org_id,
        progress=progress,
    )
    with db.begin() as conn:
        conn.execute(update(twins).where(twins.c.name == twin_name).values(public=True))
    return report


def tower_site(footprints: list[shapely.Geometry], clearance: float = 20.0) -> shapely.Point:
    """An open spot at least ``clearance`` metres from every footprint with the most buildings
    in the 90° sector north of it within 150 m: where a tower's shadow falls on a district."""
    built = shapely.union_all(footprints)
    centres = [f.centroid for f in footprints]
    minx, miny, maxx, maxy = built.bounds
    best, most = built.envelope.centroid, -1
    for x in range(int(minx), int(maxx) + 1, 10):
        for y in range(int(miny), int(maxy) + 1, 10):
            site = shapely.Point(x, y)
            if built.distance(site) < clearance:
                continue
            north = sum(
                1 for c in centres if c.y > y and abs(c.x - x) < c.y - y and c.distance(site) < 150
            )
            if north > most:
                best, most = site, north
    return best


def add_tower_scenario(db: Database, twin_name: str) -> None:
    """A proposed scenario: a 70 m tower in open space just south of a cluster of buildings,
    so that the plan's shadow shows in the reference apps' results."""
    with db.read() as conn:
        twin = get_twin(conn, twin_name)
        if any(s.name == "tower" for s in list_scenarios(conn, twin)):
            return
        current = view_of(conn, get_scenario(conn, twin, "current"))
        footprints, tallest = [], None
        for obj in iter_objects(conn, current, layer="buildings"):
            city = obj.to_city_object()
            if obj.object_type == "Building" and city.vertices:
                footprints.append(shapely.MultiPoint([v[:2] for v in city.vertices]).convex_hull)
                if tallest is None:
                    tallest = city
    if not footprints:
        return
    site = tower_site(footprints)
    tower = feature_to_object(
        "demo-tower-1",
        "Building",
        {"measuredHeight": 70.0, "status": "ontwerp", "gebruiksdoel": "woonfunctie"},
        shapely.Point(site.x, site.y, 0.0).buffer(12, quad_segs=2),
    )
    create_scenario(
        db,
        twin_name,
        "tower",
        kind=ScenarioKind.proposed,
        label="Tower plan",
        description="A 70 m residential tower in open space south of a cluster of buildings",
        author="demo",
    )
    changes = Changes(add=[tower])
    if tallest is not None:
        changes.modify.append(
            type(tallest)(id=tallest.id, type=tallest.type, attributes={"status": "te slopen"})
        )
    edit(db, twin_name, "tower", changes, reason="demo: tower plan", author="demo")


def run_demo_apps(
    db: Database,
    home: Path,
    twin_name: str,
    reference: Path | None,
    signing_key: Path,
    progress: Callable[[str], None] | None = None,
) -> list[RunRecord]:
    """Scaffold the example app and install it with a calibration, install the solar
    potential reference app (from ``reference``, signed with ``signing_key``; ``progress``
    hears about the libraries it declares being provided), and run both on both scenarios in
    the sandbox: their results become attributes of the exports."""
    source = home / "apps-src" / "footprints"
    if not source.exists():
        scaffold("footprints", source.parent, publisher="Tweeling demo")
    operator = local_operator(OPERATOR)
    app_service.install(db, operator, twin_name, packages.from_path(source), {"large_m2": 300})
    apps = ["footprints"]
    if reference is not None:
        key = packages.load_key(signing_key)
        solar = packages.from_path(reference / "solar-potential", key)
        app_service.install(
            db,
            operator,
            twin_name,
            solar,
            {"pv_efficiency": 0.21},
            envs_dir=environments.default_folder(home),
            progress=progress,
        )
        apps.append("solar-potential")
    runtime = Runtime(db, LocalExecutor(slots=1), home)
    try:
        return [
            app_service.run(
                runtime,
                operator,
                twin_name,
                scenario=scenario,
                app_id=app_id,
                purpose="demo",
            )
            for app_id in apps
            for scenario in ("current", "tower")
        ]
    finally:
        runtime.executor.close()


def compare_runs(db: Database, before: str, after: str) -> Comparison:
    """Two demo runs compared, as the demo's operator."""
    return app_service.compare(db, local_operator(OPERATOR), before, after)


def export_scenarios(db: Database, twin_name: str, exports: Path) -> list[Path]:
    """Both scenarios as CityJSON, GeoPackage and 3D Tiles under ``exports``."""
    written = []
    for scenario in ("current", "tower"):
        for fmt, suffix in (("cityjson", "city.json"), ("gpkg", "gpkg")):
            out = exports / f"{twin_name}-{scenario}.{suffix}"
            export(db, twin_name, fmt, out, scenario=scenario)
            written.append(out)
        tiles_dir = exports / f"{twin_name}-{scenario}-3dtiles"
        export(db, twin_name, "3dtiles", tiles_dir, scenario=scenario)
        written.append(tiles_dir)
    return written


def scenario_sizes(db: Database, twin_name: str) -> tuple[str, list[tuple[str, str, int]]]:
    """The twin's CRS, and per scenario its name, kind and number of objects."""
    with db.read() as conn:
        twin = get_twin(conn, twin_name)
        return twin.crs, [
            (s.name, s.kind, sum(count_by_type(conn, view_of(conn, s)).values()))
            for s in list_scenarios(conn, twin)
        ]


def tower_changes(db: Database, twin_name: str) -> tuple[int, int, int]:
    """How many objects the tower plan adds, modifies and removes."""
    changes = diff(db, twin_name, "current", "tower")
    return len(changes.added), len(changes.modified), len(changes.removed)
