"""Commands on twins and their data: init, ingest, export, twins, datasets, synth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from tweeling.cli.common import (
    byte_progress,
    caller,
    console,
    count_progress,
    database,
    err_console,
)
from tweeling.services import access
from tweeling.services import datasets as datasets_service
from tweeling.services import twins as service
from tweeling.services.datasets import FORMATS, DatasetInfo, IngestReport


def init() -> None:
    """Create the database, or upgrade it to the current schema."""
    db = database(require_current=False)
    before, after = db.migrate()
    if before == after:
        console.print(f"database {db.url} is up to date (revision {after})")
    elif before is None:
        console.print(f"created database {db.url} (revision {after})")
    else:
        console.print(f"upgraded database {db.url} from revision {before} to {after}")
    password = access.set_up_platform(db)
    if password:
        console.print(
            f"created the market master organisation {access.MARKET_MASTER!r} and its "
            f"administrator {access.FIRST_ADMIN}; password (shown once, store it now):"
        )
        typer.echo(password)


def print_report(report: IngestReport) -> None:
    made = " (new twin)" if report.created_twin else ""
    console.print(
        f"imported {report.objects} objects from a {report.format} {report.version} file "
        f"into twin [bold]{report.twin}[/bold]{made}, scenario {report.scenario}"
    )
    console.print(f"  dataset {report.dataset_id}, CRS {report.crs} → twin CRS {report.twin_crs}")
    console.print(
        "  " + ", ".join(f"{n} {t}" for t, n in sorted(report.counts.items())), highlight=False
    )
    console.print(f"  content hash sha256:{report.content_hash}")
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}")


def ingest_cmd(
    file: Annotated[Path, typer.Argument(help="CityJSON, CityJSONSeq, GeoJSON or GeoPackage")],
    twin: Annotated[str, typer.Option(help="twin to load into (created when missing)")],
    crs: Annotated[
        str | None, typer.Option(help="CRS of the file when it declares none, e.g. EPSG:7415")
    ] = None,
    twin_crs: Annotated[
        str | None, typer.Option(help="CRS of a new twin (default: the file's, if projected)")
    ] = None,
    scenario: Annotated[str, typer.Option(help="scenario to load into")] = "current",
    licence: Annotated[str | None, typer.Option(help="SPDX id or URL of the data licence")] = None,
    source: Annotated[str | None, typer.Option(help="where the data comes from")] = None,
    owner: Annotated[str | None, typer.Option(help="organisation owning the data")] = None,
    acquired: Annotated[str | None, typer.Option(help="acquisition date (YYYY-MM-DD)")] = None,
    name: Annotated[str | None, typer.Option(help="dataset name (default: file name)")] = None,
    by: Annotated[str | None, typer.Option(help="who imports (default: login name)")] = None,
    org: Annotated[
        str | None,
        typer.Option(help="organisation owning a new twin (default: the market master's)"),
    ] = None,
) -> None:
    """Import a file into a twin as one dataset, all or nothing."""
    db = database()
    info = DatasetInfo(name=name, source=source, owner=owner, licence=licence, acquired=acquired)
    total = file.stat().st_size if file.is_file() else 0
    owner_org = access.new_twin_owner(db, org)
    with byte_progress(f"importing {file.name}", total) as progress:
        report = datasets_service.ingest_file(
            db,
            caller(db, by),
            file,
            twin,
            owner_org_id=owner_org,
            crs=crs,
            twin_crs=twin_crs,
            scenario=scenario,
            info=info,
            progress=progress,
        )
    print_report(report)


def export_cmd(
    twin: Annotated[str, typer.Option(help="twin to export")],
    format: Annotated[str, typer.Option("--format", "-f", help=" | ".join(FORMATS))],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="file to write (a directory for 3dtiles)")
    ],
    scenario: Annotated[str, typer.Option(help="scenario to export")] = "current",
    purpose: Annotated[str | None, typer.Option(help="what the export is for")] = None,
) -> None:
    """Write a scenario of a twin as CityJSON 2.0, CityJSONSeq, GeoJSON (CRS84), GeoPackage or
    3D Tiles 1.1 (a directory)."""
    db = database()
    principal = caller(db)
    total = datasets_service.scenario_size(db, principal, twin, scenario, purpose)
    with count_progress(f"exporting {format}", total) as progress:
        n = datasets_service.export_scenario(
            db,
            principal,
            twin,
            format,
            output,
            scenario=scenario,
            purpose=purpose,
            progress=progress,
        )
    console.print(f"wrote {n} city objects of {twin}/{scenario} to {output} ({format})")


def twins_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the twins with their CRS, scenarios, datasets and object counts."""
    db = database()
    summaries = service.twin_summaries(db, caller(db))
    if as_json:
        data = [
            {
                "name": s.twin.name,
                "crs": s.twin.crs,
                "scenarios": s.scenarios,
                "datasets": s.datasets,
                "objects": s.objects,
            }
            for s in summaries
        ]
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    if not summaries:
        console.print("no twins yet: load one with `tweeling ingest FILE --twin NAME`")
        return
    table = Table("twin", "CRS", "objects", "datasets", "scenarios")
    for s in summaries:
        table.add_row(
            s.twin.name, s.twin.crs, str(s.objects), str(s.datasets), ", ".join(s.scenarios)
        )
    console.print(table)


def datasets_cmd(
    twin: Annotated[str, typer.Option(help="twin whose datasets to show")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show a twin's datasets: source, licence, CRS, content hash, counts and quality profile."""
    db = database()
    rows = datasets_service.twin_datasets(db, caller(db), twin)
    out: list[dict[str, Any]] = []
    for r in rows:
        r["imported_at"] = r["imported_at"].isoformat()
        out.append(r)
    if as_json:
        typer.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
        return
    for r in out:
        console.print(f"[bold]dataset {r['id']}[/bold] {r['name']} ({r['format']}, {r['crs']})")
        console.print(
            f"  source {r['source']}; licence {r['licence'] or 'not stated'}; "
            f"owner {r['owner'] or 'not stated'}; acquired {r['acquired'] or 'not stated'}"
        )
        console.print(f"  imported by {r['imported_by']} at {r['imported_at']}")
        console.print(f"  sha256:{r['content_hash']}")
        table = Table("layer", "objects", "with geometry", "attribute completeness (lowest first)")
        for layer, q in r["quality"].items():
            worst = sorted(q["attributes"].items(), key=lambda kv: kv[1])[:6]
            table.add_row(
                layer,
                str(q["objects"]),
                f"{q['geometry']:.0%}",
                ", ".join(f"{k} {v:.0%}" for k, v in worst),
            )
        console.print(table)


def synth_cmd(
    buildings: Annotated[int, typer.Option(min=1, help="number of buildings")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CityJSONSeq file to write")],
    seed: Annotated[int, typer.Option(help="random seed: same seed, same city")] = 1,
) -> None:
    """Generate a reproducible synthetic Dutch-like city as CityJSONSeq."""
    with count_progress("generating", buildings) as progress:
        counts = datasets_service.synthesise_city(output, buildings, seed=seed, progress=progress)
    console.print(
        f"wrote {output}: " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items())),
        highlight=False,
    )


def serve_cmd(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="worker processes (each with its own database pool)")
    ] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) with uvicorn."""
    import uvicorn

    from tweeling.api.app import create_app

    console.print(f"Tweeling serves on http://{host}:{port}/ (API documentation at /docs)")
    if workers > 1:
        database()  # fails here, once, on a missing or outdated database, not in every worker
        # X-Forwarded-For is read by the app itself, from TWEELING_TRUSTED_PROXIES only.
        uvicorn.run(
            "tweeling.api.asgi:app", host=host, port=port, workers=workers, proxy_headers=False
        )
        return
    app = create_app(database())
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
