"""``tweeling demo``: a database, a real city (or a synthetic one), a scenario, an app run in
the sandbox on both, exports."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tweeling import samples as sample_data
from tweeling import settings
from tweeling.cli.common import byte_progress, console, count_progress, database
from tweeling.cli.demo_store import REFERENCE_APPS, fill_store, signing_key
from tweeling.cli.twin_cmds import print_report
from tweeling.errors import InvalidInput
from tweeling.services import access
from tweeling.services import demo as demo_seed
from tweeling.services.apps import RunStatus
from tweeling.services.datasets import DatasetInfo, synthesise_city
from tweeling.services.demo import add_tower_scenario as add_tower_scenario
from tweeling.services.platform import Database

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
                synthesise_city(path, synthetic, seed=1, progress=progress)
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
    home = settings.current().storage.home
    twin_name, path, crs, info = _city_source(city, synthetic, home)  # refused before any write
    db = database(require_current=False)
    db.migrate()
    first_password = access.set_up_platform(db)
    municipality = demo_seed.demo_municipality(db)
    if demo_seed.city_loaded(db, twin_name):
        console.print(f"twin [bold]{twin_name}[/bold] is already loaded; keeping it")
    else:
        with byte_progress(f"importing {path.name}", path.stat().st_size) as progress:
            report = demo_seed.load_city(
                db,
                twin_name,
                path,
                crs=crs,
                info=info,
                owner_org_id=municipality,
                progress=progress,
            )
            print_report(report)

    add_tower_scenario(db, twin_name)
    app_runs = demo_seed.run_demo_apps(
        db,
        home,
        twin_name,
        reference_apps_dir(),
        signing_key(home),
        progress=lambda line: console.print(f"{line} (once; pip's cache keeps it quick)"),
    )
    written = demo_seed.export_scenarios(db, twin_name, home / "exports")

    twin_crs, sizes = demo_seed.scenario_sizes(db, twin_name)
    table = Table("scenario", "kind", "objects", title=f"twin {twin_name} ({twin_crs})")
    for scenario, kind, objects in sizes:
        table.add_row(scenario, kind, str(objects))
    console.print(table)
    added, modified, removed = demo_seed.tower_changes(db, twin_name)
    console.print(
        f"scenario tower vs current: {added} added, {modified} modified, {removed} removed "
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
        before, after = solar[0].run_id, solar[1].run_id
        comparison = demo_seed.compare_runs(db, before, after)
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
            f"  first login   {access.FIRST_ADMIN} (market master), password: {first_password}"
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
        f"\n[bold]Studio[/bold] http://127.0.0.1:8000/ · the twin in 3D "
        f"http://127.0.0.1:8000/studio/twins/{twin_name} · the proposed tower "
        f"http://127.0.0.1:8000/studio/twins/{twin_name}?scenario=tower",
        highlight=False,
    )
    console.print(
        f"[bold]APIs[/bold] http://127.0.0.1:8000/ogc/{twin_name} (OGC API – Features, "
        f"HTML in a browser) · apps as OGC API – Processes http://127.0.0.1:8000/ogc/"
        f"{twin_name}/processes · 3D Tiles http://127.0.0.1:8000/ogc/{twin_name}/3dtiles/tower/"
        f"tileset.json · JSON API http://127.0.0.1:8000/twins/{twin_name} · "
        "documentation http://127.0.0.1:8000/docs · stop with Ctrl-C"
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


def reference_apps_dir() -> Path | None:
    """The reference apps at the root of a source checkout (not in an installed wheel)."""
    folder = Path(__file__).resolve().parents[3] / "apps"
    return folder if (folder / "solar-potential" / "tweeling-app.toml").is_file() else None
