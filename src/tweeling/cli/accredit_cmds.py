"""``tweeling accredit``: the accreditation of store apps (the criteria framework, for now)."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from tweeling.cli.common import console
from tweeling.store.accreditation.criteria import framework

app = typer.Typer(help="Accreditation: the criteria apps are assessed on.")


@app.command("criteria")
def criteria_cmd(
    version: Annotated[str | None, typer.Option(help="framework version (default newest)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The criteria framework: per dimension, each question, its norm and where it comes from."""
    chosen = framework(version)
    if as_json:
        typer.echo(orjson.dumps(chosen.model_dump(), option=orjson.OPT_INDENT_2).decode())
        return
    console.print(f"[bold]{chosen.title}[/bold], version {chosen.version}")
    for dimension, items in chosen.by_dimension().items():
        table = Table("id", "question", "norm", "builds on", title=dimension, title_justify="left")
        for c in items:
            source = chosen.sources[c.source].name
            check = f" · automated: {c.check}" if c.check else ""
            table.add_row(c.id, c.question, f"{c.norm}/5", f"{source}, {c.reference}{check}")
        console.print(table)
