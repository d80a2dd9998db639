"""``tweeling demo``: a database, a real city (or a synthetic one), a scenario, an app run in
the sandbox on both, exports."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import shapely
import typer
from rich.table import Table
from sqlalchemy import Connection, update

from tweeling import samples as sample_data
from tweeling import settings
from tweeling.access import identity, keys
from tweeling.apps.runs import RunRecord
from tweeling.apps.sandbox import RunStatus
from tweeling.cli.common import byte_progress, console, count_progress, database
from tweeling.cli.demo_store import REFERENCE_APPS, fill_store, signing_key
from tweeling.cli.twin_cmds import print_report
from tweeling.errors import InvalidInput, NotFound
from tweeling.settings import StorageSettings
from tweeling.storage.db import Database
from tweeling.storage.schema import twins
from tweeling.twin.export import export
from tweeling.twin.ingest import DatasetInfo, ingest
from tweeling.twin.model import ScenarioKind
from tweeling.twin.scenarios import Changes, create_scenario, diff, edit
from tweeling.twin.synth import write_cityjsonseq
from tweeling.twin.twins import find_twin, get_scenario, get_twin, list_scenarios
from tweeling.twin.vector_io import feature_to_object
from tweeling.twin.views import count_by_type, iter_objects, view_of

DEMO_MUNICIPALITY = "Gemeente Delft"
SAMPLE_LICENCE = "MIT"
SAMPLE_SOURCE = "cjio test data (TU Delft 3D geoinformation), from {origin}"
# The sample cities a demo may load: file, the CRS to assume when the file declares none
# (the Dutch ones are in RD New + NAP), owner, where the data comes from.
CITIES: dict[str, tuple[str, str | None, str, str]] = {
    "delft": ("delft.city.json", None, "Gemeente Delft", "BGT, BAG and AHN open data"),
    "rotterdam": ("rotterdam_lod2.city.json", "EPSG:7415", "Gemeente Rotterdam",
                  "the open 3D city model of Rotterdam"),
    "denhaag": ("denhaag_buildingparts.city.json", "EPSG:7415", "Gemeente Den Haag",
                "BAG open data"),
    "3dbag": ("3dbag_multi_lod.city.json", "EPSG:7415", "3D BAG", "the 3D BAG open data"),
    "zurich": ("zurich_lod2.city.json", None, "Stadt Zürich", "the open data of Zürich"),
}  # fmt: skip
ROOT = Path(__file__).resolve().parents[3]  # a source checkout's root (not in a wheel)
REFERENCE_REVIEW = ROOT / "tests" / "store" / "fixtures" / "reference-review.toml"


def samples_dir() -> Path | None:
    """The sample city models: the operator's folder ($TWEELING_SAMPLES) when set, else the
    ones shipped with the package; None when the operator's folder lacks Delft."""
    folder = settings.current().demo.samples or sample_data.CITIES
    return folder if (folder / "delft.city.json").is_file() else None


def _city_source(
    city: str, synthetic: int | None, home: Path
) -> tuple[str, Path, str | None, DatasetInfo]:
    """The twin to load: a sample city by name, or a synthetic district when asked for."""
    if synthetic is not None:
        if synthetic < 1:
            raise InvalidInput(f"--synthetic {synthetic}: give a number of buildings, 1 or more")
        path = home / f"demo-synthetic-{synthetic}.city.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            with count_progress("generating", synthetic) as progress:
                write_cityjsonseq(path, synthetic, seed=1, on_progress=progress)
        info = DatasetInfo(source=f"tweeling synth --buildings {synthetic} --seed 1",
                           licence="CC0-1.0")  # fmt: skip
        return "synthetic", path, None, info
    if city not in CITIES:
        raise InvalidInput(f"--city {city!r}: one of {', '.join(CITIES)}")
    samples = samples_dir()
    name, crs, owner, origin = CITIES[city]
    if samples is None or not (samples / name).is_file():
        where = settings.current().demo.samples or sample_data.CITIES
        raise InvalidInput(
            f"the sample data ({where}) holds no {name}; point TWEELING_SAMPLES at the "
            "shipped samples, or ask for a generated district with --synthetic 2000"
        )
    info = DatasetInfo(licence=SAMPLE_LICENCE, source=SAMPLE_SOURCE.format(origin=origin),
                       owner=owner)  # fmt: skip
    return city, samples / name, crs, info


def demo(
    city: Annotated[
        str, typer.Option(help=f"the sample city to load: {', '.join(CITIES)}")
    ] = "delft",
    synthetic: Annotated[
        int | None,
        typer.Option(help="load a generated district of this many buildings instead"),
    ] = None,
    with_store: Annotated[
        bool,
        typer.Option(
            "--store/--no-store",
            help="fill the store with the reference apps, accredited (minutes, once)",
        ),
    ] = True,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="do not start the HTTP service")
    ] = False,
) -> None:
    """Set up a database, load a sample city (Delft unless told otherwise), build a scenario,
    run the demo apps on both, export, and fill the store with the accredited reference apps."""
    home = StorageSettings().home
    twin_name, path, crs, info = _city_source(city, synthetic, home)  # refused before any write
    db = database(require_current=False)
    db.migrate()
    with db.begin() as conn:
        keys.load_or_create(conn)
        first_password = identity.bootstrap(conn)
        municipality = _demo_municipality(conn)
    with db.read() as conn:
        exists = find_twin(conn, twin_name) is not None
    if exists:
        console.print(f"twin [bold]{twin_name}[/bold] is already loaded; keeping it")
    else:
        with byte_progress(f"importing {path.name}", path.stat().st_size) as progress:
            report = ingest(
                db,
                path,
                twin_name,
                crs=crs,
                info=info,
                author="demo",
                owner_org_id=municipality,
                progress=progress,
            )
            print_report(report)
        with db.begin() as conn:
            # The demo city is open data: anyone may look at it, signed in or not.
            conn.execute(update(twins).where(twins.c.name == twin_name).values(public=True))

    add_tower_scenario(db, twin_name)
    app_runs = _demo_app(db, home, twin_name)
    exports = home / "exports"
    written = []
    for scenario in ("current", "tower"):
        for fmt, suffix in (("cityjson", "city.json"), ("gpkg", "gpkg")):
            out = exports / f"{twin_name}-{scenario}.{suffix}"
            export(db, twin_name, fmt, out, scenario=scenario)
            written.append(out)
        tiles_dir = exports / f"{twin_name}-{scenario}-3dtiles"
        export(db, twin_name, "3dtiles", tiles_dir, scenario=scenario)
        written.append(tiles_dir)

    with db.read() as conn:
        twin = get_twin(conn, twin_name)
        table = Table("scenario", "kind", "objects", title=f"twin {twin_name} ({twin.crs})")
        for s in list_scenarios(conn, twin):
            table.add_row(s.name, s.kind, str(sum(count_by_type(conn, view_of(conn, s)).values())))
    console.print(table)
    changes = diff(db, twin_name, "current", "tower")
    console.print(
        f"scenario tower vs current: {len(changes.added)} added, "
        f"{len(changes.modified)} modified, {len(changes.removed)} removed "
        f"(see `tweeling scenario diff current tower --twin {twin_name}`)"
    )
    for run in app_runs:
        indicators = run.outputs.get("indicators", {})
        if run.status != RunStatus.successful:
            said = f"{run.status}: {run.message}"
        elif run.app_id == "footprints":
            said = f"{indicators.get('large_count')} large buildings"
        else:
            said = f"{indicators.get('total_yield_mwh')} MWh/year from roof-top solar panels"
        console.print(
            f"app {run.app_id} on {run.scenario}: {said} "
            f"(run {run.run_id}; `{_command_name()} run show {run.run_id} --prov provn`)",
            highlight=False,
        )
    solar = [
        r for r in app_runs if r.app_id == "solar-potential" and r.status == RunStatus.successful
    ]
    if len(solar) == 2:
        from tweeling.access.identity import local_operator
        from tweeling.services import apps as app_service

        before, after = solar[0].run_id, solar[1].run_id
        comparison = app_service.compare(db, local_operator("demo"), before, after)
        roofs = {a.name: a for a in comparison.attributes}["roof_irradiation_kwh_m2"]
        console.print(
            f"the tower plan lowers the solar irradiation of {roofs.lowered} roofs, the most "
            f"by {-(roofs.least_change or 0):,.0f} kWh/m² a year "
            f"(`{_command_name()} run compare {before} {after}`)",
            highlight=False,
        )
    accredited = _demo_store(db, home) if with_store else []
    console.print("\n[bold]Where to look[/bold]")
    console.print(f"  database      {db.url}")
    for out in written:
        console.print(f"  export        {out}")
    cli = _command_name()
    console.print(
        f"  commands      {cli} twins · {cli} datasets --twin {twin_name} · "
        f"{cli} scenario diff current tower --twin {twin_name}"
    )
    if accredited:
        app = accredited[-1]
        console.print(
            f"  store         {cli} store search zon · {cli} store fit {app} --twin {twin_name}"
            f" · {cli} store install {app} --twin {twin_name} · "
            f"{cli} app run {app} --twin {twin_name} · {cli} accredit report {app}@0.1.0",
            highlight=False,
        )
    if first_password:
        console.print(
            f"  first login   {identity.FIRST_ADMIN} (market master), password: {first_password}"
        )
    failed = [r for r in app_runs if r.status != RunStatus.successful]
    if failed:
        console.print(
            f"[red]{len(failed)} of {len(app_runs)} demo app runs did not succeed[/red] "
            f"(`{cli} run show RUN` says why)"
        )
        raise typer.Exit(4)
    if with_store and len(accredited) < len(REFERENCE_APPS):
        console.print("[red]the store lacks accredited reference apps (see above)[/red]")
        raise typer.Exit(4)
    if no_serve:
        return
    from tweeling.cli.twin_cmds import serve_cmd

    console.print(
        f"\n[bold]Browse[/bold] http://127.0.0.1:8000/ogc/{twin_name} (OGC API – Features, "
        f"HTML in a browser) · apps as OGC API – Processes http://127.0.0.1:8000/ogc/"
        f"{twin_name}/processes · 3D Tiles http://127.0.0.1:8000/ogc/{twin_name}/3dtiles/tower/"
        f"tileset.json · JSON API http://127.0.0.1:8000/twins/{twin_name} · "
        "documentation http://127.0.0.1:8000/docs · home page http://127.0.0.1:8000/ · "
        "stop with Ctrl-C"
    )
    serve_cmd(host="127.0.0.1", port=8000)


def _demo_store(db: Database, home: Path) -> list[str]:
    """Accredit the reference apps into the store (a source checkout's apps/ and review
    fixture); the ids of those accredited, after a table of where each stands."""
    apps = reference_apps_dir()
    samples = samples_dir()
    if apps is None or not REFERENCE_REVIEW.is_file() or samples is None:
        console.print(
            "[yellow]the store stays empty: the reference apps, their review and the Delft "
            "sample come with a source checkout (apps/, tests/store/fixtures/)[/yellow]"
        )
        return []
    outcomes = fill_store(db, home, apps, REFERENCE_REVIEW, samples)
    table = Table("app", "version", "state", "", title="the store (accredited reference apps)")
    for o in outcomes:
        mark = "green" if o.accredited else "red"
        table.add_row(o.app_id, o.version, f"[{mark}]{o.state}[/{mark}]", o.note)
    console.print(table)
    return [o.app_id for o in outcomes if o.accredited]


def _demo_municipality(conn: Connection) -> int:
    """The demo twin's owner: a municipality with an administrator."""
    try:
        return identity.get_organisation(conn, DEMO_MUNICIPALITY).id
    except NotFound:
        org = identity.create_organisation(
            conn, DEMO_MUNICIPALITY, identity.OrgKind.municipality.value, actor="demo"
        )
        return org.id


def _command_name() -> str:
    """How the user can call us: plain ``tweeling`` if that is on PATH, else the venv path."""
    here = Path(sys.argv[0]).resolve()
    found = shutil.which("tweeling")
    if found and Path(found).resolve() == here:
        return "tweeling"
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


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


def reference_apps_dir() -> Path | None:
    """The reference apps at the root of a source checkout (not in an installed wheel)."""
    folder = Path(__file__).resolve().parents[3] / "apps"
    return folder if (folder / "solar-potential" / "tweeling-app.toml").is_file() else None


def _demo_app(db: Database, home: Path, twin_name: str) -> list[RunRecord]:
    """Scaffold the example app and install it with a calibration, install the solar
    potential reference app, and run both on both scenarios in the sandbox: their results
    become attributes of the exports below."""
    from tweeling.access.identity import local_operator
    from tweeling.apps import environments, packages
    from tweeling.apps.executors import LocalExecutor
    from tweeling.apps.runs import Runtime
    from tweeling.apps.scaffold import scaffold
    from tweeling.services import apps as app_service

    source = home / "apps-src" / "footprints"
    if not source.exists():
        scaffold("footprints", source.parent, publisher="Tweeling demo")
    operator = local_operator("demo")
    app_service.install(db, operator, twin_name, packages.from_path(source), {"large_m2": 300})
    apps = ["footprints"]
    reference = reference_apps_dir()
    if reference is not None:
        key = packages.load_key(signing_key(home))
        solar = packages.from_path(reference / "solar-potential", key)
        app_service.install(
            db,
            operator,
            twin_name,
            solar,
            {"pv_efficiency": 0.21},
            envs_dir=environments.default_folder(home),
            progress=lambda line: console.print(f"{line} (once; pip's cache keeps it quick)"),
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
