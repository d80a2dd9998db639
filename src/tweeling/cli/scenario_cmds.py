"""``tweeling scenario …``: create, list, edit, diff and history of scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from tweeling.cli.common import caller, console, database
from tweeling.services import twins as service
from tweeling.services.twins import ScenarioKind

app = typer.Typer(help="Scenarios: current, proposed and permitted realities of a twin.")


@app.command("create")
def create_cmd(
    name: Annotated[str, typer.Argument(help="name of the new scenario")],
    twin: Annotated[str, typer.Option(help="twin")],
    from_: Annotated[str, typer.Option("--from", help="scenario to start from")] = "current",
    kind: Annotated[str, typer.Option(help="proposed | permitted | other")] = ScenarioKind.proposed,
    label: Annotated[str | None, typer.Option(help="free label")] = None,
    description: Annotated[str | None, typer.Option(help="what this scenario is about")] = None,
    by: Annotated[str | None, typer.Option(help="who creates it (default: login name)")] = None,
) -> None:
    """Create a scenario from another one (copy-on-write: instant at any size)."""
    db = database()
    s = service.create_scenario(
        db,
        caller(db, by),
        twin,
        name,
        source=from_,
        kind=kind,
        label=label,
        description=description,
    )
    console.print(f"created scenario [bold]{s.name}[/bold] ({s.kind}) of {twin} from {from_}")


@app.command("list")
def list_cmd(twin: Annotated[str, typer.Option(help="twin")]) -> None:
    """List a twin's scenarios."""
    db = database()
    scenarios = service.scenarios(db, caller(db), twin)
    names = {s.id: s.name for s in scenarios}
    table = Table("scenario", "kind", "from", "label", "created by", "created at")
    for s in scenarios:
        table.add_row(
            s.name,
            s.kind,
            names.get(s.parent_id, "") if s.parent_id else "",
            s.label or "",
            s.created_by,
            s.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@app.command("edit")
def edit_cmd(
    name: Annotated[str, typer.Argument(help="scenario to edit")],
    twin: Annotated[str, typer.Option(help="twin")],
    reason: Annotated[str, typer.Option(help="why: recorded with the edit")],
    add: Annotated[
        Path | None, typer.Option(help="CityJSON/GeoJSON file of objects to add")
    ] = None,
    modify: Annotated[
        Path | None,
        typer.Option(
            help="file of objects to change: attributes merge (null removes), geometry replaces"
        ),
    ] = None,
    delete: Annotated[
        list[str] | None, typer.Option(help="id of an object to delete (repeatable)")
    ] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of the change files if undeclared")] = None,
    by: Annotated[str | None, typer.Option(help="who edits (default: login name)")] = None,
) -> None:
    """Add, modify or delete objects in a scenario — one edit, all or nothing."""
    db = database()
    result = service.edit_scenario_files(
        db,
        caller(db, by),
        twin,
        name,
        add=add,
        modify=modify,
        delete=list(delete or []),
        crs=crs,
        reason=reason,
    )
    console.print(
        f"edit {result.seq} on {twin}/{name}: {result.added} added, {result.modified} modified, "
        f"{result.deleted} deleted"
    )


@app.command("diff")
def diff_cmd(
    a: Annotated[str, typer.Argument(help="scenario to compare from")],
    b: Annotated[str, typer.Argument(help="scenario to compare to")],
    twin: Annotated[str, typer.Option(help="twin")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Objects added, modified (with attribute changes) and removed from A to B."""
    db = database()
    result = service.diff_scenarios(db, caller(db), twin, a, b)
    if as_json:
        typer.echo(orjson.dumps(result.as_json(), option=orjson.OPT_INDENT_2).decode())
        return
    console.print(
        f"{twin}: {a} → {b}: {len(result.added)} added, {len(result.modified)} modified, "
        f"{len(result.removed)} removed"
    )
    for change in result.added:
        console.print(
            f"  [green]+[/green] {change.object_id} ({change.object_type})", highlight=False
        )
    for change in result.removed:
        console.print(f"  [red]-[/red] {change.object_id} ({change.object_type})", highlight=False)
    for change in result.modified:
        extra = " geometry changed" if change.geometry_changed else ""
        console.print(
            f"  [yellow]~[/yellow] {change.object_id} ({change.object_type}){extra}",
            highlight=False,
        )
        for attr in change.attributes:
            console.print(f"      {attr.name}: {attr.old!r} → {attr.new!r}", highlight=False)


@app.command("history")
def history_cmd(
    name: Annotated[str, typer.Argument(help="scenario")],
    twin: Annotated[str, typer.Option(help="twin")],
) -> None:
    """Who changed the scenario, when and why."""
    table = Table("edit", "kind", "when", "who", "why", "+", "~", "-")
    db = database()
    for e in service.history(db, caller(db), twin, name):
        table.add_row(
            str(e["seq"]),
            e["kind"],
            e["created_at"],
            e["author"],
            e["reason"] or "",
            str(e["added"]),
            str(e["modified"]),
            str(e["deleted"]),
        )
    console.print(table)
