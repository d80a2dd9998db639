"""``tweeling app`` and ``tweeling run``: make, check, package, install and run apps; show and
replay runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tweeling.cli.common import caller, console, database, err_console
from tweeling.errors import InvalidInput, NotFound
from tweeling.services import apps as service
from tweeling.services import recipes as recipe_service
from tweeling.services.access import Principal
from tweeling.services.app_development import (
    Package,
    build_package,
    check_app,
    from_path,
    generate_key,
    load_recipe,
    parse_assignments,
    scaffold,
)
from tweeling.services.apps import SUCCESSFUL, RunRecord, Runtime, prov_as_json
from tweeling.services.platform import NO_SANDBOX, Database, default_runtime
from tweeling.services.recipes import RecipeRecord

app = typer.Typer(help="Digital-twin apps: make, check, package, install and run them.")
run_app = typer.Typer(help="App runs: show their record or provenance, replay them.")
recipe_app = typer.Typer(help="Recipes: chains of apps, one's outputs feeding the next.")

Params = Annotated[
    list[str] | None, typer.Option("--param", help="parameter as name=value (repeatable)")
]
Executor = Annotated[str | None, typer.Option(help="local (default) or dask")]


def _runtime(db: Database, executor: str | None) -> Runtime:
    return default_runtime(db, executor)


@app.command("new")
def new_cmd(
    name: Annotated[str, typer.Argument(help="app id: lowercase words joined by '-'")],
    directory: Annotated[Path, typer.Option("--dir", help="where to create it")] = Path("."),
    publisher: Annotated[str, typer.Option(help="your organisation")] = "My organisation",
) -> None:
    """Scaffold a working app with its tests."""
    folder = scaffold(name, directory, publisher)
    console.print(f"created {folder}: try `tweeling app check {folder}`")


@app.command("check")
def check_cmd(
    folder: Annotated[Path, typer.Argument(help="the app's folder (with tweeling-app.toml)")],
) -> None:
    """Validate an app without running it: its manifest and its entry point."""
    report = check_app(folder)
    m = report.manifest
    # Manifest text is the publisher's: shown as text, never read as console markup.
    console.print("[green]ok[/green]", escape(f"{m.id} {m.version} by {m.publisher} ({m.licence})"))
    console.print(f"  use cases   {', '.join(u.value for u in m.use_cases)}", markup=False)
    if m.remote:
        console.print(f"  remote      {m.remote}", markup=False)
    else:
        console.print(f"  entry       {m.entry_point} ({report.entry_file})", markup=False)
    layers = ", ".join(i.layer for i in m.inputs.layers) or "none"
    console.print(f"  inputs      {layers}", markup=False)
    console.print(f"  outputs     {', '.join(o.name for o in m.outputs)}", markup=False)
    calibrated = f" (calibrated: {', '.join(report.calibrated)})" if report.calibrated else ""
    parameters = ", ".join(report.parameters) or "none"
    console.print(f"  parameters  {parameters}{calibrated}", markup=False)


@app.command("serve")
def serve_cmd(
    folder: Annotated[Path, typer.Argument(help="the app's folder")],
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8090,
) -> None:
    """Host an app as an OGC API – Processes endpoint (for platforms that run it remotely)."""
    import uvicorn

    from tweeling.api.app_host import create_host_app

    host_app = create_host_app(folder)
    console.print(f"serving {folder} at http://{host}:{port}/processes")
    uvicorn.run(host_app, host=host, port=port, log_level="warning")


@app.command("keygen")
def keygen_cmd(
    out: Annotated[Path, typer.Option("-o", "--out", help="where to write the private key")],
) -> None:
    """Make an Ed25519 publisher key for signing packages."""
    public = generate_key(out)
    console.print(f"wrote {out} (keep it private); public key: {public}")


@app.command("package")
def package_cmd(
    folder: Annotated[Path, typer.Argument(help="the app's folder")],
    out: Annotated[Path, typer.Option("-o", "--out", help="package file to write (.twapp)")],
    key: Annotated[Path | None, typer.Option(help="publisher's Ed25519 key (PEM)")] = None,
) -> None:
    """Build a reproducible package archive, signed with the publisher's key."""
    package = build_package(folder, key)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(package.archive)
    partial.replace(out)
    signed = "signed" if package.signed else "[yellow]unsigned[/yellow] (give --key to sign)"
    console.print(f"wrote {out}: {package.manifest.id} {package.manifest.version}, {signed}")
    console.print(f"content hash {package.content_hash}")


def _warn_if_deprecated(package: Package, source: object) -> None:
    if package.deprecated:
        err_console.print(
            f"[yellow]warning[/yellow]: {source} is signed under the deprecated content-hash "
            f"scheme {package.scheme}; ask its publisher to package and sign it again "
            "(support for it will be removed)",
            highlight=False,
        )


@app.command("install")
def install_cmd(
    source: Annotated[Path, typer.Argument(help="app folder or package file")],
    twin: Annotated[str, typer.Option(help="twin to install it into")],
    param: Params = None,
    accept_new_key: Annotated[
        bool,
        typer.Option(
            "--accept-new-key",
            help="let a package signed by another key replace a signed installation "
            "(an unsigned package never replaces a signed one)",
        ),
    ] = False,
) -> None:
    """Install an app into a twin for the twin's organisation, with calibrated parameters."""
    package = from_path(source)  # a bad package is named before anything else
    _warn_if_deprecated(package, source)
    db = database()
    done = service.install(
        db,
        caller(db),
        twin,
        package,
        parse_assignments(param or []),
        accept_new_key=accept_new_key,
        envs_dir=service.default_envs_dir(),
        progress=lambda line: err_console.print(line, highlight=False),
    )
    signed = "signed" if done.signed else "unsigned"
    console.print(
        f"installed {done.app_id} {done.version} ({signed}, {done.package_hash[:12]}) "
        f"in twin {done.twin}"
    )
    for name, value in sorted(done.parameters.items()):
        console.print(f"  {name} = {value!r} (calibrated)")


@app.command("list")
def list_cmd(twin: Annotated[str, typer.Option(help="twin")]) -> None:
    """The apps installed in a twin."""
    db = database()
    for item in service.installed_apps(db, caller(db), twin):
        console.print(f"{item.app_id} {item.version}  {item.package_hash[:12]}  {item.parameters}")


def _progress_run(runtime: Runtime, principal: Principal, run_id: str) -> RunRecord:
    """Execute with a progress bar fed from the run's record."""
    import threading

    result: dict[str, RunRecord] = {}

    def execute() -> None:
        result["run"] = service.execute_claimed(runtime, principal, run_id)

    worker = threading.Thread(target=execute, daemon=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"run {run_id[:8]}", total=100)
        worker.start()
        while worker.is_alive():
            worker.join(0.3)
            current = service.own_run(runtime, principal, run_id)
            bar.update(task, completed=current.progress, description=current.message or "running")
    if "run" not in result:
        return service.own_run(runtime, principal, run_id)
    return result["run"]


@app.command("run")
def run_cmd(
    source: Annotated[str, typer.Argument(help="app folder, package file, or installed app id")],
    twin: Annotated[str, typer.Option(help="twin to run on")],
    scenario: Annotated[str, typer.Option(help="scenario to read and store into")] = "current",
    param: Params = None,
    purpose: Annotated[str | None, typer.Option(help="why the data is used")] = None,
    executor: Executor = None,
    unsandboxed: Annotated[
        bool,
        typer.Option(
            "--unsandboxed",
            help="DEVELOPERS ONLY, for your own app folder: run without the OS sandbox "
            "(the audit hook and limits stay; the run is flagged)",
        ),
    ] = False,
) -> None:
    """Run an app in the sandbox; prints the run id alone on its last line."""
    path = Path(source)
    if unsandboxed and not path.is_dir():
        raise InvalidInput(
            "--unsandboxed is only for an app folder of your own; installed and packaged "
            "apps always run in the sandbox"
        )
    db = database()
    runtime = _runtime(db, executor)
    if unsandboxed:
        runtime.isolation = NO_SANDBOX
        console.print(
            "[bold red]WARNING: running WITHOUT the operating-system sandbox.[/bold red] "
            "The app can read and change whatever this user can. Use this only for your "
            "own code; the run is flagged 'unsandboxed'.",
            highlight=False,
        )
    principal = caller(db)
    overrides = parse_assignments(param or [])
    try:
        package = from_path(path) if path.exists() else None
        if package is not None:
            _warn_if_deprecated(package, path)
        run_id = service.submit(
            runtime,
            principal,
            twin,
            scenario=scenario,
            app_id=None if package else source,
            package=package,
            overrides=overrides,
            purpose=purpose,
            claim=True,
        )
        record = _progress_run(runtime, principal, run_id)
    finally:
        runtime.executor.close()
    _summary(record)
    typer.echo(record.run_id)
    if record.status != SUCCESSFUL:
        sys.exit(5)


def _summary(record: RunRecord) -> None:
    colour = "green" if record.status == SUCCESSFUL else "red"
    console.print(
        f"[{colour}]{record.status}[/{colour}] {record.app_id} {record.version} on "
        f"{record.twin}/{record.scenario}" + (f": {record.message}" if record.message else ""),
        highlight=False,
    )
    if record.cached_from:
        console.print(f"  answered from the cache of run {record.cached_from}")
    for name, values in (record.outputs.get("attributes") or {}).items():
        console.print(f"  {record.app_id}.{name}: {len(values)} objects")
    for name, value in (record.outputs.get("indicators") or {}).items():
        console.print(f"  {name} = {value}")
    if record.stored_seq is not None:
        console.print(f"  stored as edit {record.stored_seq}")
    if record.measured:
        m = record.measured
        console.print(
            f"  {m.get('wall_s', 0)} s wall, {m.get('cpu_s', 0)} s CPU, "
            f"{m.get('peak_rss_mb', 0)} MB peak"
        )


@run_app.command("show")
def show_cmd(
    run_id: Annotated[str, typer.Argument(help="run id")],
    prov: Annotated[
        str | None, typer.Option(help="print the W3C PROV document: json or provn")
    ] = None,
) -> None:
    """A run's record (JSON), or its provenance as PROV-JSON or PROV-N."""
    db = database()
    principal = caller(db)
    if prov not in (None, "json", "provn"):
        raise InvalidInput(f"--prov {prov!r}: choose json or provn")
    try:
        found: RunRecord | RecipeRecord = service.get_run(db, principal, run_id)
    except NotFound:
        found = recipe_service.get_recipe_run(db, principal, run_id)
    if prov is None:
        typer.echo(orjson.dumps(found.as_json(), option=orjson.OPT_INDENT_2).decode())
        return
    if isinstance(found, RecipeRecord):
        document = found.prov()
    else:
        document = service.prov_document(db, principal, run_id)
    if prov == "json":
        typer.echo(orjson.dumps(prov_as_json(document), option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(document.get_provn())


@run_app.command("replay")
def replay_cmd(
    run_id: Annotated[str, typer.Argument(help="run id")],
    executor: Executor = None,
) -> None:
    """Run again from the record; exit 0 only if the outputs hash identically."""
    db = database()
    runtime = _runtime(db, executor)
    try:
        result = service.replay(runtime, caller(db), run_id)
    finally:
        runtime.executor.close()
    original, again = result.original, result.replay
    console.print(f"inputs   {'identical' if result.same_inputs else '[red]differ[/red]'}")
    console.print(f"original {original.output_hash}")
    console.print(f"replay   {again.output_hash or again.status + ': ' + (again.message or '')}")
    if result.identical:
        console.print(f"[green]identical[/green] (replay run {again.run_id})")
        return
    console.print(f"[red]outputs differ[/red] (replay run {again.run_id})")
    sys.exit(5)


@run_app.command("compare")
def compare_cmd(
    run_a: Annotated[str, typer.Argument(help="the run to compare from (say, the current city)")],
    run_b: Annotated[str, typer.Argument(help="the run to compare to (say, the plan)")],
    top: Annotated[int, typer.Option(help="objects with the largest changes to list")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Two runs of one app output by output: indicators, and per-object results raised or
    lowered, with the objects that changed most."""
    db = database()
    result = service.compare(db, caller(db), run_a, run_b, top)
    if as_json:
        typer.echo(orjson.dumps(result.as_json(), option=orjson.OPT_INDENT_2).decode())
        return
    a, b = result.a, result.b
    console.print(
        f"{result.app_id}: {a.twin}/{a.scenario} (run {a.run_id}) → "
        f"{b.twin}/{b.scenario} (run {b.run_id})",
        highlight=False,
    )
    table = Table("indicator", "A", "B", "change", "unit")
    for row in result.indicators:
        change = "" if row["change"] is None else f"{row['change']:+,.4g}"
        table.add_row(row["name"], str(row["a"]), str(row["b"]), change, row["unit"] or "")
    if result.indicators:
        console.print(table)
    for attr in result.attributes:
        line = (
            f"{attr.name}: {attr.both} objects in both, {attr.raised} raised, "
            f"{attr.lowered} lowered"
        )
        if attr.least_change is not None:
            line += (
                f", change {attr.least_change:+,.4g} … {attr.greatest_change:+,.4g} "
                f"(mean {attr.mean_change:+,.3g}) {attr.unit or ''}"
            )
        if attr.only_a or attr.only_b:
            line += f"; {len(attr.only_a)} only in A, {len(attr.only_b)} only in B"
        console.print(line, highlight=False)
        for item in attr.largest:
            console.print(
                f"    {item['id']}: {item['a']} → {item['b']} ({item['change']:+,.4g})",
                highlight=False,
            )
    for layer in result.layers:
        console.print(
            f"layer {layer['name']}: {layer['features_a']} → {layer['features_b']} features",
            highlight=False,
        )


@run_app.command("list")
def list_runs_cmd(
    twin: Annotated[str | None, typer.Option(help="only this twin's runs")] = None,
    limit: Annotated[int, typer.Option(help="how many")] = 20,
) -> None:
    """Recent runs (of the twins you may see)."""
    db = database()
    for record in service.list_runs(db, caller(db), twin, limit):
        console.print(
            f"{record.run_id}  {record.status:<17} {record.app_id} {record.version}  "
            f"{record.twin}/{record.scenario}  {record.created_at:%Y-%m-%d %H:%M}",
            highlight=False,
        )


@recipe_app.command("run")
def recipe_run_cmd(
    file: Annotated[Path, typer.Argument(help="recipe file (TOML)")],
    twin: Annotated[str, typer.Option(help="twin to run on")],
    scenario: Annotated[str, typer.Option(help="scenario to read and store into")] = "current",
    purpose: Annotated[str | None, typer.Option(help="why the data is used")] = None,
    executor: Executor = None,
) -> None:
    """Run a recipe's apps in dependency order (unchanged steps come from the cache); prints
    the recipe run id alone on its last line."""
    db = database()
    runtime = _runtime(db, executor)
    try:
        done = recipe_service.run_recipe(
            runtime, caller(db), twin, load_recipe(file), scenario=scenario, purpose=purpose
        )
    finally:
        runtime.executor.close()
    for number, step in enumerate(done.steps, start=1):
        cached = f" (cached from {step.cached_from[:8]})" if step.cached_from else ""
        console.print(
            f"  {number}. {step.app_id} {step.version}: {step.status}{cached}", highlight=False
        )
    colour = "green" if done.status == SUCCESSFUL else "red"
    console.print(
        f"[{colour}]{done.status}[/{colour}] recipe {done.name!r}"
        + (f": {done.message}" if done.message else ""),
        highlight=False,
    )
    typer.echo(done.run_id)
    if done.status != SUCCESSFUL:
        sys.exit(5)
